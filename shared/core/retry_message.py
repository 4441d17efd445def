"""The retry queue's message format (versioned JSON); the port is shared.storage.port.RetryQueue."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from enum import Enum, StrEnum
from functools import cache
from typing import Any, get_type_hints

from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.models import MappingWarning

MESSAGE_VERSION = 1


class RetryKind(StrEnum):
    CREATE = "create"  # SAP has not (knowingly) created the customer yet
    WRITEBACK = "writeback"  # SAP has; only the Salesforce write-back is outstanding
    # A 202 in_progress promised the caller the account would be finished; this message keeps that
    # promise should the worker holding the claim die: it takes over a stale claim, else does nothing.
    CHECK = "check"
    # A change of a synced account (issue 26, shared.usecases.change): its payload is the change request (the
    # create's body plus systemModstamp); it needs no retry token: the SystemModstamp orders its copies.
    CHANGE = "change"


class InvalidRetryMessage(ValueError):
    """A queue message that is not ours or not of a version we read."""

    kind = "rejected"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "invalid retry message"


@dataclass(frozen=True)
class RetryMessage:
    kind: RetryKind
    account_id: str
    tracking_id: str
    payload: dict[str, Any]  # the validated request in the contract's camelCase form
    attempt: int  # how many attempts were made before this message was written
    first_seen_at: str  # ISO 8601 UTC
    last_error: str | None = None
    customer_number: str | None = None  # set for WRITEBACK
    # Matches LedgerEntry.retry_token while this message owns the QUEUED entry (CREATE only).
    retry_token: str | None = None
    # The QUEUED ledger entry exactly as this message's writer stored it, ETag included (the writer
    # stores the entry first, then queues the message: see with_written_entry). While nothing has
    # written the entry since, that ETag still matches, so the retry claims with one ETag-guarded write
    # instead of reading first (shared.core.claims.decide_retry_unread). None in messages written
    # before this field existed, and by writers that do not know the ETag: those read first.
    written_entry: LedgerEntry | None = None
    version: int = field(default=MESSAGE_VERSION)

    def to_json(self) -> str:
        data = asdict(replace(self, written_entry=None))
        data["written_entry"] = _entry_to_json(self.written_entry) if self.written_entry is not None else None
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    def next_attempt(self, last_error: str, retry_token: str | None = None) -> RetryMessage:
        """The message that carries the work on after one more failed attempt (it has not been
        written to the ledger yet, so it knows no entry)."""
        return replace(
            self,
            attempt=self.attempt + 1,
            last_error=last_error,
            retry_token=retry_token or self.retry_token,
            written_entry=None,
        )

    def with_written_entry(self, stored: LedgerEntry | None) -> RetryMessage:
        """This message carrying `stored`, the entry its writer has just stored for it, when that is the
        QUEUED entry this message owns (same account, its retry token, an ETag); otherwise unchanged,
        and the retry reads the entry first as it always did."""
        if (
            stored is None
            or stored.etag is None
            or stored.status is not LedgerStatus.QUEUED
            or stored.account_id != self.account_id
            or self.retry_token is None
            or stored.retry_token != self.retry_token
        ):
            return self
        # The payload is the message's own (the claim writes the message's payload either way).
        return replace(self, written_entry=stored.evolve(payload=None))

    @classmethod
    def from_json(cls, text: str | bytes) -> RetryMessage:
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise InvalidRetryMessage("retry message is not a JSON object")
            if data.get("version") != MESSAGE_VERSION:
                raise InvalidRetryMessage(f"unknown retry message version {data.get('version')!r}")
            account_id = str(data["account_id"])
            return cls(
                kind=RetryKind(data["kind"]),
                account_id=account_id,
                tracking_id=str(data["tracking_id"]),
                payload=dict(data["payload"]),
                attempt=int(data["attempt"]),
                first_seen_at=str(data["first_seen_at"]),
                last_error=data.get("last_error"),
                customer_number=data.get("customer_number"),
                retry_token=data.get("retry_token"),
                written_entry=_entry_from_json(account_id, data.get("written_entry")),
            )
        except InvalidRetryMessage:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidRetryMessage(f"malformed retry message: {error}") from None


# The entry's fields the message does not repeat: the account is the message's, and the payload is
# the message's own. Every other LedgerEntry field travels, so a field added there travels too.
_NOT_CARRIED = ("account_id", "payload")


@cache
def _entry_field_types() -> dict[str, Any]:
    return get_type_hints(LedgerEntry)


def _entry_to_json(entry: LedgerEntry) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in fields(LedgerEntry):
        if item.name in _NOT_CARRIED:
            continue
        value = getattr(entry, item.name)
        if item.name == "warnings":  # MappingWarning: its own JSON form
            value = [warning.to_json() for warning in value]
        data[item.name] = (
            value.isoformat() if isinstance(value, datetime) else value.value if isinstance(value, Enum) else value
        )
    return data


def _entry_from_json(account_id: str, data: object) -> LedgerEntry | None:
    """The written entry back, or None (the retry then reads first) for anything that is not exactly
    one: never a reason to refuse a message that is otherwise fine."""
    if not isinstance(data, dict):
        return None
    hints = _entry_field_types()
    values: dict[str, Any] = {"account_id": account_id, "payload": None}
    try:
        for item in fields(LedgerEntry):
            if item.name in _NOT_CARRIED:
                continue
            if item.name not in data:
                return None
            value, kind = data[item.name], hints[item.name]
            if isinstance(kind, type) and issubclass(kind, Enum):
                value = kind(value)
            elif kind is datetime or (kind == datetime | None and value is not None):
                value = datetime.fromisoformat(value)
            elif kind == tuple[MappingWarning, ...]:  # the mapping's warnings: their to_json forms
                warnings = [MappingWarning.from_json(item) for item in value] if isinstance(value, list) else [None]
                if None in warnings:
                    return None
                value = tuple(warnings)
            elif kind == tuple[str, ...]:  # customer numbers: a JSON list of strings
                if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                    return None
                value = tuple(value)
            values[item.name] = value
        entry = LedgerEntry(**values)
    except (ValueError, TypeError):
        return None
    return entry if entry.etag and entry.status is LedgerStatus.QUEUED else None
