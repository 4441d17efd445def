"""What the reconcile does with one Salesforce customer that has no SAP number (pure; the use case is
shared.usecases.reconcile).

The rule that keeps exactly-once: the ledger is the memory of every create request, so an account
is queued only when the ledger has **no entry** for it, and queueing writes one first (a conditional
insert of a `queued` entry owned by the new retry message: a second reconcile, a concurrent one, or the
flow's own request then finds it and does not queue again). Every account the ledger knows is left to
the path that already owns it:

    created       SAP has the customer; only the number has not reached Salesforce (write-back
                  pending, queued or failed; with SALESFORCE_WRITEBACK=flow, the flow writes it)
    pending       a create is under way (or its worker died: the sweep finishes it)
    queued        the retry queue owns it (or its message was lost: the sweep finishes it)
    needs_review  an operator decides (`python -m admin resolve`)
    failed        SAP rejected the data or the attempts ran out: a person fixes the account and the
                  flow sends it again (or `admin poison replay`)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.core.ledger import LedgerEntry, LedgerStatus


class ReconcileAction(StrEnum):
    ENQUEUE = "enqueue"  # no ledger entry: queue the create
    CREATED_NOT_WRITTEN_BACK = "created_not_written_back"
    IN_PROGRESS = "in_progress"  # pending or queued
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"


@dataclass(frozen=True)
class ReconcileDecision:
    action: ReconcileAction
    reason: str


_BY_STATUS = {
    LedgerStatus.CREATED: ReconcileDecision(
        ReconcileAction.CREATED_NOT_WRITTEN_BACK,
        "created in SAP; the number has not reached Salesforce yet (see writeBack in `admin status`)",
    ),
    LedgerStatus.PENDING: ReconcileDecision(ReconcileAction.IN_PROGRESS, "a create is under way"),
    LedgerStatus.QUEUED: ReconcileDecision(ReconcileAction.IN_PROGRESS, "the retry queue owns it"),
    LedgerStatus.NEEDS_REVIEW: ReconcileDecision(
        ReconcileAction.NEEDS_REVIEW, "held for review: `admin resolve` decides"
    ),
    LedgerStatus.FAILED: ReconcileDecision(
        ReconcileAction.FAILED, "failed: fix the account (the flow resends it) or replay it"
    ),
}


def decide_reconcile(entry: LedgerEntry | None) -> ReconcileDecision:
    if entry is None:
        return ReconcileDecision(ReconcileAction.ENQUEUE, "no create request is known for it")
    return _BY_STATUS[entry.status]
