"""BAPI return structures read as SapMessages: the RETURN of every BAPI the RFC gateway calls
(BAPIRETURN1, BAPIRET2) and BAPI_CUSTOMER_FIND's RESULT_TAB rows (BAPIKNA111, which carries the same
message fields). Shared by the create unit (shared/sap/rfc.py), the duplicate guard (rfc_guard.py) and the
interface self-check (rfc_metadata.py), which holds these fields against the live system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.sap.port import SapMessage

# The fields of a message row this adapter reads.
MESSAGE_FIELDS = ("TYPE", "ID", "NUMBER", "MESSAGE")
# Message types that mean the call failed: E (error) and A (abort).
ERROR_TYPES = ("E", "A")


def messages_of(returned: Any) -> tuple[SapMessage, ...]:
    """BAPIRETURN1/BAPIRET2/BAPIKNA111 (one structure or table rows) as SapMessages, initial rows left out."""
    rows = returned if isinstance(returned, list) else [returned] if isinstance(returned, Mapping) else []
    return tuple(
        SapMessage(
            type=str(row.get("TYPE", "")).strip(),
            id=str(row.get("ID", "")).strip(),
            number=str(row.get("NUMBER", "")).strip(),
            text=str(row.get("MESSAGE", "")).strip(),
        )
        for row in rows
        if str(row.get("TYPE", "")).strip()
    )
