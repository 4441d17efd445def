"""The pure core: the request and its validation, the mapping to SAP's structures, reference data,
the ledger entry and its claim rules, the retry message and policy. No I/O, no settings, no adapters
(an import-linter contract in pyproject.toml holds it to that)."""
