"""The sweep: finish what a dead worker or a lost message left behind, without waiting for a resend.

A request whose worker died after claiming the account (the host crashed mid-create, the caller never
got an answer) leaves a `pending` claim; a retry message parked or lost by the host leaves a `queued`
entry nobody works on. Both are found once they are past their window (the claim window, derived
from the SAP gateway's bound on one unit of work; the longest retry delay plus two claim windows),
and a check message is queued for each: it takes the account over with the request the ledger holds,
searching SAP first where the dead worker may have reached it (shared.core.claims). Run by the
SweepAbandonedClaims timer function every 5 minutes, and by `python -m admin sweep`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.retry_message import RetryKind, RetryMessage
from shared.log import sync_context
from shared.storage.port import RetryQueueUnavailable
from shared.usecases.services import Services, StorageUnavailable, ledger_call

logger = logging.getLogger(__name__)

# One sweep queues at most this many checks; the next sweep takes the rest.
SWEEP_LIMIT = 200


@dataclass(frozen=True)
class SweepReport:
    checked: tuple[str, ...]  # accounts a check message was queued for
    without_request: tuple[str, ...]  # abandoned, but the ledger holds no request to finish them with


def abandoned(services: Services, limit: int = SWEEP_LIMIT) -> list[LedgerEntry]:
    """Stale `pending` claims and overdue `queued` entries, oldest windows first."""
    now = services.clock()
    windows = services.windows
    stale = ledger_call(services.ledger.find, [LedgerStatus.PENDING], now - windows.stale_claim_after, limit)
    overdue = ledger_call(services.ledger.find, [LedgerStatus.QUEUED], now - windows.queued_overdue_after, limit)
    return (stale + overdue)[:limit]


def sweep_abandoned(services: Services, limit: int = SWEEP_LIMIT) -> SweepReport:
    checked: list[str] = []
    without_request: list[str] = []
    for entry in abandoned(services, limit):
        with sync_context(account_id=entry.account_id, tracking_id=entry.tracking_id):
            if not entry.payload:
                logger.warning("abandoned %s entry holds no request; the next send from the flow finishes it",
                               entry.status.value)
                without_request.append(entry.account_id)
                continue
            message = RetryMessage(kind=RetryKind.CHECK, account_id=entry.account_id, tracking_id=entry.tracking_id,
                                   payload=dict(entry.payload), attempt=entry.attempts,
                                   first_seen_at=entry.created_at.isoformat())
            try:
                services.retry_queue.enqueue(message, 0)
            except RetryQueueUnavailable:
                raise StorageUnavailable("the sweep could not queue its checks; it runs again later") from None
            logger.warning("abandoned %s entry: check queued", entry.status.value)
            checked.append(entry.account_id)
    return SweepReport(tuple(checked), tuple(without_request))
