"""Salesforce: the write-back port (port.py) and its simple-salesforce adapter (simple_salesforce.py, on
connection.py: the login and its session; account_query.py: the accounts to reconcile)."""
