"""The change path's properties of the account's ledger row (issue 26), and back (pure: no storage call).

Beside table_ledger_entity.py, which writes and reads the rest of the row and calls these two. Absent
rather than null, as there: the REPLACE that every ledger write is clears a property left out.

    AppliedDigests   JSON object: the digest of each owned PI_COMPANYDATA field as SAP was last given it
    ChangeModstamp   Edm.DateTime: the SystemModstamp of the last change applied
    ChangeStatus     string (shared.core.ledger.ChangeStatus), absent for none
    LastChangeAt     Edm.DateTime
    ChangeError      string, at most MAX_CHANGE_ERROR characters
    ChangeClaimedAt  Edm.DateTime, while a worker holds the change claim
    ChangeReview     JSON object: a change held for review, both values of each conflicting field

A value a hand edit made unreadable reads as none (never a failed read: the status and customer number
matter more); an unknown ChangeStatus reads as none too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.core.ledger import ChangeStatus, LedgerEntry

MAX_CHANGE_ERROR = 8000


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plain(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    moment = _utc(value)
    # The SDK hands out its own datetime subclass; a plain one compares and copies cleanly.
    return datetime(
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond, tzinfo=UTC
    )


def change_properties(entry: LedgerEntry) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    if entry.applied_digests is not None:
        properties["AppliedDigests"] = json.dumps(entry.applied_digests, sort_keys=True)
    if entry.change_modstamp is not None:
        properties["ChangeModstamp"] = _utc(entry.change_modstamp)
    if entry.change_status is not ChangeStatus.NONE:
        properties["ChangeStatus"] = entry.change_status.value
    if entry.last_change_at is not None:
        properties["LastChangeAt"] = _utc(entry.last_change_at)
    if entry.change_error is not None:
        properties["ChangeError"] = entry.change_error[:MAX_CHANGE_ERROR]
    if entry.change_claimed_at is not None:
        properties["ChangeClaimedAt"] = _utc(entry.change_claimed_at)
    if entry.change_review:
        properties["ChangeReview"] = json.dumps(entry.change_review, ensure_ascii=False, sort_keys=True)
    return properties


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def change_fields(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The LedgerEntry fields of the change path, from the row."""
    applied = _json_object(entity.get("AppliedDigests"))
    try:
        status = ChangeStatus(entity.get("ChangeStatus") or ChangeStatus.NONE.value)
    except ValueError:
        status = ChangeStatus.NONE
    error = entity.get("ChangeError")
    return {
        "applied_digests": {str(k): str(v) for k, v in applied.items()} if applied is not None else None,
        "change_modstamp": _plain(entity.get("ChangeModstamp")),
        "change_status": status,
        "last_change_at": _plain(entity.get("LastChangeAt")),
        "change_error": str(error) if error else None,
        "change_claimed_at": _plain(entity.get("ChangeClaimedAt")),
        "change_review": _json_object(entity.get("ChangeReview")),
    }
