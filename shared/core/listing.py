"""Listing the ledger by status and time (pure: the query's rules; the port is shared.storage.port.Ledger).

`GET /api/customers?status=&since=&pageSize=&continuationToken=` and `python -m admin list` read the
same filter through `parse_listing_query`, which raises InvalidRequest naming every bad field.

Rules:
* `status`: one ledger status or several separated by commas (`queued,failed`); empty or absent: all.
* `since`: an ISO 8601 instant with its offset (`2026-05-01T08:00:00Z`, `...+02:00`, Power Automate's
  `utcNow()` with seven fraction digits) or a date (`2026-05-01`, midnight UTC); entries last changed at
  or after it. A time without an offset is refused: whose local time it is cannot be told.
* `pageSize`: 1 to MAX_PAGE_SIZE (Table storage returns at most 1000 entities per request), default
  DEFAULT_PAGE_SIZE.
* `continuationToken`: opaque, from the previous page's answer; the storage adapter checks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.models import FieldError, InvalidRequest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# A token is a few dozen characters (two keys, base64url); anything far longer is not ours.
MAX_TOKEN_LENGTH = 2048

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


@dataclass(frozen=True)
class ListingQuery:
    statuses: tuple[LedgerStatus, ...] = tuple(LedgerStatus)
    updated_since: datetime | None = None
    updated_before: datetime | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    continuation: str | None = None


@dataclass(frozen=True)
class LedgerPage:
    """One page of a listing: entries in account-id order, and the token of the next page (None: last)."""

    entries: tuple[LedgerEntry, ...]
    continuation: str | None = None


def parse_statuses(text: str | None) -> tuple[LedgerStatus, ...]:
    """ "queued,failed" -> (QUEUED, FAILED); empty: every status. ValueError naming the unknown one."""
    names = [part.strip().lower() for part in (text or "").split(",") if part.strip()]
    if not names:
        return tuple(LedgerStatus)
    allowed = {status.value: status for status in LedgerStatus}
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ValueError(
            f"'{unknown[0]}' is not a status; use one or more of {', '.join(allowed)}, separated by commas"
        )
    return tuple(dict.fromkeys(allowed[name] for name in names))


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset, or a date (midnight UTC); ValueError saying what is expected."""
    value = text.strip()
    expected = "expected an ISO 8601 time with its offset, e.g. 2026-05-01T08:00:00Z, or a date, e.g. 2026-05-01"
    if _DATE_ONLY.match(value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"'{value[:40]}' is not a date; {expected}") from None
    if not _OFFSET.search(value):
        raise ValueError(f"'{value[:40]}' has no time zone offset (Z or +hh:mm); {expected}")
    try:
        # Python 3.11 reads 'Z' and up to 7 fraction digits (Power Automate's utcNow()) itself.
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value[:40]}' is not a time; {expected}") from None
    if moment.tzinfo is None:  # e.g. a trailing '+0000' glued to a date Python reads differently
        raise ValueError(f"'{value[:40]}' has no time zone offset; {expected}")
    return moment.astimezone(UTC)


def parse_page_size(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_PAGE_SIZE
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise ValueError(f"'{value[:20]}' is not a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(value)


def parse_listing_query(
    status: str | None = None, since: str | None = None, page_size: str | None = None, continuation: str | None = None
) -> ListingQuery:
    """The listing's query parameters as given (strings or None); every problem reported at once."""
    errors: list[FieldError] = []
    statuses: tuple[LedgerStatus, ...] = tuple(LedgerStatus)
    updated_since = None
    size = DEFAULT_PAGE_SIZE
    try:
        statuses = parse_statuses(status)
    except ValueError as error:
        errors.append(FieldError("status", str(error)))
    if since is not None and since.strip():
        try:
            updated_since = parse_instant(since)
        except ValueError as error:
            errors.append(FieldError("since", str(error)))
    try:
        size = parse_page_size(page_size)
    except ValueError as error:
        errors.append(FieldError("pageSize", str(error)))
    token = continuation.strip() if continuation else None
    if token is not None and (len(token) > MAX_TOKEN_LENGTH or not token.isascii()):
        errors.append(FieldError("continuationToken", "is not a token this service handed out"))
    if errors:
        raise InvalidRequest(errors)
    return ListingQuery(statuses=statuses, updated_since=updated_since, page_size=size, continuation=token or None)
