"""Salesforce outbound messages as Salesforce sends them, for the push path's tests and benchmark: the
builder is devtools/outbound_messages.py (also the command a newcomer tries the push path with); here
the organizations the tests configure, and messages from the tests' org by default."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from devtools.outbound_messages import (
    ACTION_ID,
    account_fields_of,
    notification_id,
    salesforce_datetime,
    soap_headers,
    synced_account_fields_of,
)
from devtools.outbound_messages import outbound_message as _outbound_message

__all__ = [
    "ACTION_ID",
    "ORGANIZATION_ID",
    "OTHER_ORGANIZATION_ID",
    "account_fields_of",
    "notification_id",
    "outbound_message",
    "salesforce_datetime",
    "soap_headers",
    "synced_account_fields_of",
]

ORGANIZATION_ID = "00D5g000004XyZ1EAK"  # the org the tests configure (SALESFORCE_ORGANIZATION_ID)
OTHER_ORGANIZATION_ID = "00D7Q000009AbCdUAK"


def outbound_message(
    accounts: Iterable[Mapping[str, str | None]],
    *,
    organization_id: str = ORGANIZATION_ID,
    notification_ids: Iterable[str] | None = None,
) -> bytes:
    """One `notifications` call from the tests' org unless `organization_id` names another."""
    return _outbound_message(accounts, organization_id=organization_id, notification_ids=notification_ids)
