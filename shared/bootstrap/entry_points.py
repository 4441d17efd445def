"""Who the composition root wires (shared/bootstrap/__init__.py): each entry point needs its own part."""

from __future__ import annotations

from enum import StrEnum


class EntryPoint(StrEnum):
    """Who is being wired; each entry point needs its own part of the product."""

    FUNCTION_APP = "function"  # function_app.py: every port, SAP by SAP_TRANSPORT, spans while telemetry is on
    OPERATIONS = "admin"  # python -m admin: the ledger, the queue, Salesforce; never SAP; short storage timeouts
    AGENT = "agent"  # python -m agent: its SAP gateway only (rfc or simulator, never the relay)
