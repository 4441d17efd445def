"""Salesforce: the write-back port (port.py) and its simple-salesforce adapter (simple_salesforce.py)."""
