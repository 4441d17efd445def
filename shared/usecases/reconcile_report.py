"""What a reconcile found and did (shared.usecases.reconcile): for each outcome the exact count and the ids
of at most KEPT_IDS accounts, so an initial load of 100,000 accounts holds no more memory at its end than at
its start (a list of every id costs about 100 bytes an account); the summary shows a few (`--show`), the
JSON up to KEPT_IDS of each, and says so (`accountsListedAtMost`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from shared.core.reconcile import ReconcileAction

# Ids kept per outcome: enough for the summary and for a person reading the JSON; the rest is counted.
KEPT_IDS = 1000


@dataclass
class AccountIds:
    """The accounts of one outcome: how many (exact) and the ids of the first KEPT_IDS handled (sorted by
    account id once the run ends). Safe to add to from the reconcile's threads."""

    count: int = 0
    ids: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, account_id: str) -> None:
        with self._lock:
            self.count += 1
            if len(self.ids) < KEPT_IDS:
                self.ids.append(account_id)

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass
class InvalidAccounts:
    """Accounts the flow's request would be refused for (400): how many (exact) and, for the first KEPT_IDS,
    the names of the refused fields (never their values)."""

    count: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, account_id: str, fields: list[str]) -> None:
        with self._lock:
            self.count += 1
            if len(self.fields) < KEPT_IDS:
                self.fields[account_id] = fields

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass
class ReconcileReport:
    applied: bool
    total: int = 0  # Salesforce's totalSize of the query
    seen: int = 0  # accounts read from every page
    queued: AccountIds = field(default_factory=AccountIds)  # queued now, or (dry run) that would be
    skipped: dict[ReconcileAction, AccountIds] = field(default_factory=dict)  # known to the ledger
    invalid: InvalidAccounts = field(default_factory=InvalidAccounts)
    taken_meanwhile: AccountIds = field(default_factory=AccountIds)  # another request claimed it first
    # Created accounts whose write-back was queued now, or (dry run) would be; only with the write-back done by
    # the function: otherwise they stay in `skipped` (CREATED_NOT_WRITTEN_BACK).
    writebacks: AccountIds = field(default_factory=AccountIds)
    writeback_by_function: bool = False
    window_wait_seconds: float = 0.0  # waiting for the queue trigger to make room (reconcile_pacing)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def found_work(self) -> bool:
        return bool(self.queued or self.writebacks)

    def known(self, action: ReconcileAction) -> AccountIds:
        """The accounts the ledger knows in this way (made on first use, from any thread)."""
        with self._lock:
            return self.skipped.setdefault(action, AccountIds())

    def sort(self) -> None:
        """The threads finish in any order; the summary and the JSON list in account-id order."""
        for accounts in (self.queued, self.taken_meanwhile, self.writebacks, *self.skipped.values()):
            accounts.ids.sort()

    def to_json(self) -> dict[str, Any]:
        # The counts are exact; every list of accounts holds at most KEPT_IDS of them (accountsListedAtMost).
        return {
            "applied": self.applied,
            "totalSize": self.total,
            "seen": self.seen,
            "queued" if self.applied else "wouldQueue": self.queued.count,
            "queuedAccounts" if self.applied else "wouldQueueAccounts": self.queued.ids,
            "known": {action.value: accounts.count for action, accounts in self.skipped.items()},
            "knownAccounts": {action.value: accounts.ids for action, accounts in self.skipped.items()},
            "invalid": self.invalid.fields,
            "invalidCount": self.invalid.count,
            "takenMeanwhile": self.taken_meanwhile.ids,
            "takenMeanwhileCount": self.taken_meanwhile.count,
            "writeBacksQueued" if self.applied else "wouldQueueWriteBacks": self.writebacks.count,
            "writeBackAccounts": self.writebacks.ids,
            "accountsListedAtMost": KEPT_IDS,
            "windowWaitSeconds": round(self.window_wait_seconds, 1),
        }
