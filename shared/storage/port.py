"""The storage ports the use cases need: the ledger and the retry queue (adapters beside this file).

LedgerConflict          the entry changed since it was read, or another request claimed it first
LedgerUnavailable       storage cannot be reached: the caller answers 503 rather than risk a duplicate
InvalidContinuation     a listing's continuation token that this ledger did not hand out
RetryQueueUnavailable   a message could not be queued
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from datetime import datetime

from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.listing import LedgerPage, ListingQuery
from shared.core.retry_message import RetryMessage


class LedgerConflict(Exception):
    """The entry changed since it was read (ETag mismatch) or already exists (claim lost)."""


class LedgerUnavailable(Exception):
    """Storage cannot be reached; the caller answers 503 rather than risk a duplicate."""

    kind = "transient"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "ledger unreachable"


class InvalidContinuation(ValueError):
    """A continuation token this ledger did not hand out (malformed, or not a position in this table)."""

    kind = "rejected"
    label = "invalid continuation token"


class Ledger(ABC):
    @abstractmethod
    def get(self, account_id: str) -> LedgerEntry | None: ...

    @abstractmethod
    def claim(self, entry: LedgerEntry) -> LedgerEntry:
        """Insert if no row exists for the account (conditional insert). Returns the stored entry
        with its etag; raises LedgerConflict when another request got there first."""

    @abstractmethod
    def update(self, entry: LedgerEntry) -> LedgerEntry:
        """Replace the row if its etag still matches entry.etag; returns the entry with the new etag;
        raises LedgerConflict otherwise."""

    @abstractmethod
    def delete(self, entry: LedgerEntry) -> None:
        """Remove the row if its etag still matches (used to release a claim that never reached SAP)."""

    @abstractmethod
    def hold_customer(self, customer_number: str, account_id: str) -> str:
        """Record that `account_id` holds SAP customer `customer_number` (the reverse entry), unless another
        account holds it already (a conditional insert). Returns the holder: `account_id` when it holds the
        number now (also when it did before), else the other account, which keeps it. Written before the
        account's result, so a number is never recorded for two accounts (shared.core.guard)."""

    @abstractmethod
    def holder_of(self, customer_number: str) -> str | None:
        """The account the reverse entry gives SAP customer `customer_number` to; without one, an account whose
        entry records the number (written before reverse entries existed: its reverse entry is back-filled);
        None when no account has it."""

    @abstractmethod
    def find(
        self,
        statuses: Collection[LedgerStatus],
        updated_before: datetime | None = None,
        limit: int = 1000,
        writeback: WriteBackStatus | None = None,
    ) -> list[LedgerEntry]:
        """Entries in one of `statuses` (last changed before `updated_before`, and in write-back state
        `writeback`, when given), at most `limit`: what the sweep, the operations command and
        monitoring look for. A scan of the table, never on a request's path."""

    @abstractmethod
    def list_entries(self, query: ListingQuery) -> LedgerPage:
        """One page of the entries in `query.statuses` changed at or after `query.updated_since` (and
        before `query.updated_before`), in account-id order, at most `query.page_size`, starting where
        `query.continuation` (the previous page's token) points. A page may hold fewer entries than
        asked, even none, and still carry a token: the listing ends only when the token is None.
        Raises InvalidContinuation for a token it did not hand out, LedgerUnavailable."""

    @abstractmethod
    def probe(self) -> None:
        """One cheap call with short timeouts for a health check: returns when storage answers, else
        raises LedgerUnavailable."""


class RetryQueueUnavailable(Exception):
    """The message could not be queued (storage down)."""

    kind = "transient"
    label = "retry queue unreachable"


class RetryQueue(ABC):
    @abstractmethod
    def enqueue(self, message: RetryMessage, delay_seconds: int = 0) -> None:
        """Queue the message, invisible for delay_seconds. Raises RetryQueueUnavailable."""

    @abstractmethod
    def depth(self) -> int:
        """How many messages the queue holds (approximate, never fewer: invisible ones count too), for the
        reconcile's window (shared.usecases.reconcile_pacing). Raises RetryQueueUnavailable."""

    @abstractmethod
    def send_to_poison(self, message: RetryMessage) -> None:
        """Park a message that ran out of attempts in `<queue>-poison` for the replay command."""

    @abstractmethod
    def probe(self) -> None:
        """One cheap call with short timeouts for a health check: returns when the queue service
        answers, else raises RetryQueueUnavailable."""
