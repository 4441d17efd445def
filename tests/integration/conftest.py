"""Integration tests: real Azurite, fake Salesforce over HTTPS, the local host. Fixtures: tests/conftest.py."""
