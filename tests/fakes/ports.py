"""In-memory fakes of the ports, with the same contracts as the storage adapters (conditional
insert, ETag checks), for fast service tests. The integration tests run the real adapters."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.core.guard import customer_key
from shared.core.ledger import LedgerEntry
from shared.core.listing import LedgerPage, ListingQuery
from shared.core.models import MappingWarning
from shared.core.retry_message import RetryMessage
from shared.salesforce.port import AccountWriteBack, SalesforceAuthenticationFailed, SalesforceUnavailable
from shared.storage.port import (
    InvalidContinuation,
    Ledger,
    LedgerConflict,
    LedgerUnavailable,
    RetryQueue,
    RetryQueueUnavailable,
)

_TOKEN_PREFIX = "m1."


class InMemoryLedger(Ledger):
    def __init__(self) -> None:
        self._rows: dict[str, LedgerEntry] = {}
        self.holders: dict[str, str] = {}  # the reverse entries: customer_key(number) -> account
        self._etags = itertools.count(1)
        self._lock = threading.Lock()
        self.available = True

    def _check(self) -> None:
        if not self.available:
            raise LedgerUnavailable("ledger storage down (fake)")

    def get(self, account_id: str) -> LedgerEntry | None:
        self._check()
        with self._lock:
            return self._rows.get(account_id)

    def claim(self, entry: LedgerEntry) -> LedgerEntry:
        self._check()
        with self._lock:
            if entry.account_id in self._rows:
                raise LedgerConflict(entry.account_id)
            stored = entry.evolve(etag=str(next(self._etags)))
            self._rows[entry.account_id] = stored
            return stored

    def update(self, entry: LedgerEntry) -> LedgerEntry:
        self._check()
        with self._lock:
            current = self._rows.get(entry.account_id)
            if current is None or current.etag != entry.etag:
                raise LedgerConflict(entry.account_id)
            stored = entry.evolve(etag=str(next(self._etags)))
            self._rows[entry.account_id] = stored
            return stored

    def hold_customer(self, customer_number: str, account_id: str) -> str:
        self._check()
        with self._lock:
            return self.holders.setdefault(customer_key(customer_number), account_id)

    def holder_of(self, customer_number: str) -> str | None:
        self._check()
        key = customer_key(customer_number)
        with self._lock:
            if key not in self.holders:  # like the table: an entry from before reverse entries, back-filled
                recorded = sorted(row.account_id for row in self._rows.values() if row.customer_number == key)
                if recorded:
                    self.holders[key] = recorded[0]
            return self.holders.get(key)

    def find(self, statuses, updated_before=None, limit: int = 1000, writeback=None) -> list[LedgerEntry]:
        self._check()
        with self._lock:
            rows = [
                row
                for row in self._rows.values()
                if row.status in set(statuses)
                and (updated_before is None or row.updated_at < updated_before)
                and (writeback is None or row.writeback is writeback)
            ]
        return sorted(rows, key=lambda row: row.account_id)[:limit]

    def list_entries(self, query: ListingQuery) -> LedgerPage:
        """Like the table: account-id order, `page_size` at most, a token naming where the next page starts."""
        self._check()
        after = ""
        if query.continuation is not None:
            if not query.continuation.startswith(_TOKEN_PREFIX) or len(query.continuation) == len(_TOKEN_PREFIX):
                raise InvalidContinuation("the continuation token is not one this service handed out")
            after = query.continuation[len(_TOKEN_PREFIX) :]
        wanted = set(query.statuses)
        with self._lock:
            rows = sorted(
                (
                    row
                    for row in self._rows.values()
                    if row.account_id > after
                    and row.status in wanted
                    and (query.updated_since is None or row.updated_at >= query.updated_since)
                    and (query.updated_before is None or row.updated_at < query.updated_before)
                ),
                key=lambda row: row.account_id,
            )
        page = rows[: query.page_size]
        more = len(rows) > query.page_size
        return LedgerPage(tuple(page), _TOKEN_PREFIX + page[-1].account_id if more else None)

    def probe(self) -> None:
        self._check()

    def delete(self, entry: LedgerEntry) -> None:
        self._check()
        with self._lock:
            current = self._rows.get(entry.account_id)
            if current is None:  # like Table storage: deleting what is gone is not an error
                return
            if current.etag != entry.etag:
                raise LedgerConflict(entry.account_id)
            del self._rows[entry.account_id]


@dataclass
class QueuedMessage:
    message: RetryMessage
    delay_seconds: int


@dataclass
class InMemoryRetryQueue(RetryQueue):
    queued: list[QueuedMessage] = field(default_factory=list)
    poison: list[RetryMessage] = field(default_factory=list)
    available: bool = True

    def enqueue(self, message: RetryMessage, delay_seconds: int = 0) -> None:
        if not self.available:
            raise RetryQueueUnavailable("queue storage down (fake)")
        self.queued.append(QueuedMessage(message, delay_seconds))

    def depth(self) -> int:
        if not self.available:
            raise RetryQueueUnavailable("queue storage down (fake)")
        return len(self.queued)

    def send_to_poison(self, message: RetryMessage) -> None:
        if not self.available:
            raise RetryQueueUnavailable("queue storage down (fake)")
        self.poison.append(message)

    def probe(self) -> None:
        if not self.available:
            raise RetryQueueUnavailable("queue storage down (fake)")

    def take_all(self) -> list[RetryMessage]:
        taken, self.queued = [q.message for q in self.queued], []
        return taken


@dataclass
class RecordingWriteBack(AccountWriteBack):
    """Records what would be written to Salesforce; can be switched to 'unavailable'."""

    created: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)
    # The warnings written with the number, per account.
    warnings: dict[str, tuple[MappingWarning, ...]] = field(default_factory=dict)
    unavailable: bool = False
    login_fails: bool = False

    def record_created(
        self, account_id: str, customer_number: str, synced_at: datetime, warnings: Sequence[MappingWarning] = ()
    ) -> None:
        if self.login_fails:
            raise SalesforceAuthenticationFailed("invalid_client (fake)")
        if self.unavailable:
            raise SalesforceUnavailable("503 SERVER_UNAVAILABLE (fake)")
        self.created.setdefault(account_id, []).append(customer_number)
        if warnings:
            self.warnings[account_id] = tuple(warnings)

    def record_failed(self, account_id: str, error: str, synced_at: datetime) -> None:
        if self.unavailable:
            raise SalesforceUnavailable("503 SERVER_UNAVAILABLE (fake)")
        self.failed.setdefault(account_id, []).append(error)

    def check_login(self) -> None:
        if self.login_fails:
            raise SalesforceAuthenticationFailed("invalid_client (fake)")
        if self.unavailable:
            raise SalesforceUnavailable("503 SERVER_UNAVAILABLE (fake)")
