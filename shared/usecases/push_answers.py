"""What the push path answers per notification (shared/usecases/push.py for new customers, push_change.py for
synced accounts' changes), in a module of its own so those two import it and not each other."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PushOutcome(StrEnum):
    QUEUED = "queued"  # recorded and handed to the queue trigger, which creates the customer
    IGNORED = "ignored"  # nothing to do (a copy, a late arrival, already created, not a new customer)
    REJECTED = "rejected"  # invalid account data: recorded as failed and written back, not retried


@dataclass(frozen=True)
class NotificationResult:
    notification_id: str
    account_id: str | None
    outcome: PushOutcome
    reason: str | None = None
