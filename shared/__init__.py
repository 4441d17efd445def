"""Salesforce account -> SAP customer sync: the application. Never imports azure.functions."""
