"""The on-premise SAP agent: listens on an Azure Relay Hybrid Connection and serves the SAP port's wire
format (shared/sap/wire.py) with the rfc gateway (pyrfc; the simulator for tests). SAP credentials exist
only here. `python -m agent`; see agent/__main__.py for its settings."""
