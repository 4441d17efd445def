"""The ledger's rows on Azure Table storage as entities, and back (pure: no storage call): the account's
row (PartitionKey = account id, RowKey "ledger"), the partition of reverse customer-number rows, the
property names and types, the filter bounds the table can hold, and the listing's continuation token.
shared/storage/table_ledger.py reads and writes these entities."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import MappingWarning
from shared.storage.port import InvalidContinuation
from shared.storage.table_ledger_change import change_fields, change_properties

# The account Id is the partition key, so every account is its own partition: point reads and
# conditional writes never contend across accounts and the table scales out without hot partitions.
# Each account has exactly one row; the constant row key names it and leaves room for other
# row kinds per account later (e.g. an audit trail) without a migration.
ROW_KEY = "ledger"
# Who holds which SAP customer: one row per customer number (RowKey, customer_key's spelling) in one
# partition of its own, holding the account id. Its own partition because a number must be unique across
# accounts and only an insert into one row key can say "no other account has it" (a conditional insert).
# An entity group transaction with the account's row is impossible (Azure Table transactions need one
# PartitionKey: "Performing entity group transactions", Microsoft Learn, Table service REST API), so the
# reverse row is written first and the account's result after it (shared.usecases.duplicate_guard, create_in_sap).
# That order is the safe one: a worker that dies between the two leaves a reverse row for an account whose
# result is not written yet; it still keeps the number from every other account (the number IS that
# account's: its create made it or its guard adopted it), and the account's own next attempt (the claim
# goes stale, so it searches first) finds the number, sees the ledger gives it to the account, and records
# it. The other order could record a number for an account and then find it held by another.
# An account id (15/18 alphanumeric characters) never equals this partition key; the listings filter on
# RowKey "ledger", which no SAP customer number spells (KUNNR is upper case).
CUSTOMER_PARTITION = "customer-number"

# The listing's continuation token: this prefix (its version) and the service's next keys, base64url.
_TOKEN_PREFIX = "t1."

# A string property holds at most 64 KiB (32 K UTF-16 characters); an oversized error text must not
# turn a ledger write into a failed request.
MAX_ERROR_LENGTH = 8000


def _utc(moment: datetime) -> datetime:
    # A naive datetime is taken as UTC; the table stores instants, and LedgerEntry users compare them.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Table storage keeps Edm.DateTime from 1601-01-01 UTC on ("Understanding the Table service data model",
# learn.microsoft.com), so nothing stored is earlier; and the SDK writes a filter's year with strftime's %Y
# (azure-data-tables _common_conversion._to_utc_datetime), which glibc does not pad to four digits, so a
# `since` of year 999 became a filter no entry matched (an empty page). An earlier bound means the same
# as this one.
_EARLIEST_STORED = datetime(1601, 1, 1, tzinfo=UTC)


def filter_time(moment: datetime) -> datetime:
    """A bound for a filter on UpdatedAt: UTC, and never earlier than the table can store."""
    return max(_utc(moment), _EARLIEST_STORED)


def to_entity(entry: LedgerEntry) -> dict[str, Any]:
    """The account's row as the table stores it."""
    entity: dict[str, Any] = {
        "PartitionKey": entry.account_id,
        "RowKey": ROW_KEY,
        "Status": entry.status.value,
        "TrackingId": entry.tracking_id,
        "CreatedAt": _utc(entry.created_at),
        "UpdatedAt": _utc(entry.updated_at),
        "Attempts": entry.attempts,
        "WriteBack": entry.writeback.value,
    }
    # Absent rather than null: REPLACE then clears a value that was set before.
    if entry.customer_number is not None:
        entity["CustomerNumber"] = entry.customer_number
    if entry.last_error is not None:
        entity["LastError"] = entry.last_error[:MAX_ERROR_LENGTH]
    if entry.retry_token is not None:
        entity["RetryToken"] = entry.retry_token
    if entry.claim_id is not None:
        entity["ClaimId"] = entry.claim_id
    if entry.error_kind is not None:
        entity["ErrorKind"] = entry.error_kind
    if entry.outcome_unknown:
        entity["OutcomeUnknown"] = True
    if entry.adopted:
        entity["Adopted"] = True
    if entry.payload is not None:
        entity["Payload"] = json.dumps(entry.payload, ensure_ascii=False)
    if entry.warnings:
        # Field and rule of each change the mapping made to fit SAP, never the value (a few hundred bytes).
        entity["Warnings"] = json.dumps([warning.to_json() for warning in entry.warnings], ensure_ascii=False)
    if entry.review_candidates:
        entity["ReviewCandidates"] = json.dumps(list(entry.review_candidates))
    if entry.rejected_customers:
        entity["RejectedCustomers"] = json.dumps(list(entry.rejected_customers))
    if entry.search_from is not None:
        entity["SearchFrom"] = _utc(entry.search_from)
    entity.update(change_properties(entry))
    return entity


def _numbers(text: object) -> tuple[str, ...]:
    # Written by to_entity as a JSON list of strings; anything else (a hand edit) reads as none.
    try:
        value = json.loads(str(text)) if text else []
    except ValueError:
        return ()
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _warnings(stored: object) -> tuple[MappingWarning, ...]:
    """The Warnings property as to_entity writes it; anything unreadable reads as none rather than failing
    the read (the entry's status and customer number matter more than its warnings)."""
    if not isinstance(stored, str) or not stored:
        return ()
    try:
        items = json.loads(stored)
    except ValueError:
        return ()
    warnings = (MappingWarning.from_json(item) for item in items) if isinstance(items, list) else ()
    return tuple(warning for warning in warnings if warning is not None)


def plain_utc(value: datetime) -> datetime:
    """A stored instant as a plain aware UTC datetime."""
    # The SDK returns its own datetime subclass; hand out plain aware datetimes that compare and copy cleanly.
    moment = _utc(value)
    return datetime(
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond, tzinfo=UTC
    )


def from_entity(entity: Mapping[str, Any], etag: str | None) -> LedgerEntry:
    """The account's row read back, with the ETag the next conditional write needs."""
    return LedgerEntry(
        account_id=str(entity["PartitionKey"]),
        status=LedgerStatus(entity["Status"]),
        tracking_id=str(entity["TrackingId"]),
        created_at=plain_utc(entity["CreatedAt"]),
        updated_at=plain_utc(entity["UpdatedAt"]),
        customer_number=entity.get("CustomerNumber"),
        attempts=int(entity.get("Attempts", 0)),
        last_error=entity.get("LastError"),
        writeback=WriteBackStatus(entity.get("WriteBack", WriteBackStatus.NOT_NEEDED.value)),
        retry_token=entity.get("RetryToken"),
        claim_id=entity.get("ClaimId"),
        error_kind=entity.get("ErrorKind"),
        outcome_unknown=bool(entity.get("OutcomeUnknown", False)),
        adopted=bool(entity.get("Adopted", False)),
        payload=json.loads(entity["Payload"]) if entity.get("Payload") else None,
        warnings=_warnings(entity.get("Warnings")),
        review_candidates=_numbers(entity.get("ReviewCandidates")),
        rejected_customers=_numbers(entity.get("RejectedCustomers")),
        search_from=plain_utc(entity["SearchFrom"]) if entity.get("SearchFrom") else None,
        etag=etag,
        **change_fields(entity),
    )


def encode_continuation(token: Mapping[str, str]) -> str:
    """The service's next partition and row key, as one opaque URL-safe string."""
    data = json.dumps({"p": token.get("PartitionKey"), "r": token.get("RowKey")}, separators=(",", ":"))
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_continuation(text: str | None) -> dict[str, str] | None:
    """The service's keys back from a token encode_continuation made; InvalidContinuation for any other text."""
    if text is None:
        return None
    if not text.startswith(_TOKEN_PREFIX):
        raise InvalidContinuation("the continuation token is not one this service handed out")
    body = text[len(_TOKEN_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidContinuation("the continuation token is not one this service handed out") from None
    if (
        not isinstance(data, dict)
        or not all(isinstance(data.get(key), str | None) for key in ("p", "r"))
        or not (data.get("p") or data.get("r"))
    ):
        raise InvalidContinuation("the continuation token is not one this service handed out")
    return {"PartitionKey": data.get("p") or "", "RowKey": data.get("r") or ""}
