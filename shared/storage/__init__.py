"""Azure Storage: the ledger (Table storage) and the retry queue (Queue storage); their ports in port.py."""
