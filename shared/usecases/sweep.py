"""The sweep: finish what a dead worker or a lost message left behind, without waiting for a resend.

A request whose worker died after claiming the account (the host crashed mid-create, the caller never
got an answer) leaves a `pending` claim; a retry message parked or lost by the host leaves a `queued`
entry nobody works on. Both are found once they are past their window (the claim window, derived
from the SAP gateway's bound on one unit of work; the longest retry delay plus two claim windows),
and a check message is queued for each: it takes the account over with the request the ledger holds,
searching SAP first where the dead worker may have reached it (shared.core.claims). Run by the
SweepAbandonedClaims timer function every 5 minutes, and by `python -m admin sweep`.

It also finishes write-backs nobody is doing: a `created` entry whose Salesforce write-back is still
`pending` past the claim window belongs to a worker that died between recording the customer and
writing its number back, or that could not queue the write-back's retry (the queue was down). A
write-back message is queued for each. Writing the same number to the same account again is harmless,
so a slow but living worker racing it costs one extra Salesforce call, never a wrong value. A write-back
that gave up is `failed` (only a replay from the poison queue retries it), so the sweep leaves it alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.retry_message import RetryKind, RetryMessage
from shared.log import sync_context
from shared.storage.port import LedgerConflict, RetryQueueUnavailable
from shared.usecases.services import Services, StorageUnavailable, ledger_call

logger = logging.getLogger(__name__)

# One sweep queues at most this many checks; the next sweep takes the rest.
SWEEP_LIMIT = 200


@dataclass(frozen=True)
class SweepReport:
    checked: tuple[str, ...]  # accounts a check message was queued for
    without_request: tuple[str, ...]  # abandoned, but the ledger holds no request to finish them with
    writebacks: tuple[str, ...] = ()  # created accounts whose abandoned write-back was queued again


def abandoned(services: Services, limit: int = SWEEP_LIMIT) -> list[LedgerEntry]:
    """Stale `pending` claims and overdue `queued` entries, oldest windows first."""
    now = services.clock()
    windows = services.windows
    stale = ledger_call(services.ledger.find, [LedgerStatus.PENDING], now - windows.stale_claim_after, limit)
    overdue = ledger_call(services.ledger.find, [LedgerStatus.QUEUED], now - windows.queued_overdue_after, limit)
    return (stale + overdue)[:limit]


def abandoned_writebacks(services: Services, limit: int = SWEEP_LIMIT) -> list[LedgerEntry]:
    """`created` entries whose write-back is still `pending` past the claim window (write-back by the
    function only: with the flow writing back, or write-back off, there is none)."""
    if services.writeback is None:
        return []
    before = services.clock() - services.windows.stale_claim_after
    return ledger_call(services.ledger.find, [LedgerStatus.CREATED], before, limit, WriteBackStatus.PENDING)


def sweep_abandoned(services: Services, limit: int = SWEEP_LIMIT) -> SweepReport:
    checked: list[str] = []
    without_request: list[str] = []
    for entry in abandoned(services, limit):
        with sync_context(account_id=entry.account_id, tracking_id=entry.tracking_id):
            if not entry.payload:
                logger.warning(
                    "abandoned %s entry holds no request; the next send from the flow finishes it", entry.status.value
                )
                without_request.append(entry.account_id)
                continue
            message = RetryMessage(
                kind=RetryKind.CHECK,
                account_id=entry.account_id,
                tracking_id=entry.tracking_id,
                payload=dict(entry.payload),
                attempt=entry.attempts,
                first_seen_at=entry.created_at.isoformat(),
            )
            try:
                services.retry_queue.enqueue(message, 0)
            except RetryQueueUnavailable:
                raise StorageUnavailable("the sweep could not queue its checks; it runs again later") from None
            logger.warning("abandoned %s entry: check queued", entry.status.value)
            checked.append(entry.account_id)
    return SweepReport(tuple(checked), tuple(without_request), tuple(_requeue_writebacks(services, limit)))


def _requeue_writebacks(services: Services, limit: int) -> list[str]:
    queued: list[str] = []
    for entry in abandoned_writebacks(services, limit):
        if entry.customer_number is None:  # a created entry always has one; never guess
            continue
        with sync_context(account_id=entry.account_id, tracking_id=entry.tracking_id):
            queue_write_back(entry, services, "the sweep could not queue its write-backs; it runs again later")
            logger.warning("abandoned write-back: queued again")
            queued.append(entry.account_id)
    return queued


def queue_write_back(entry: LedgerEntry, services: Services, unavailable: str) -> None:
    """Queue the write-back of a `created` entry's number (the sweep's, and the reconcile's repair), then mark
    the entry `queued`. Raises StorageUnavailable(`unavailable`) when the queue refuses; the entry then keeps
    its write-back state (`pending`: the next sweep queues it again)."""
    assert entry.customer_number is not None
    message = RetryMessage(
        kind=RetryKind.WRITEBACK,
        account_id=entry.account_id,
        tracking_id=entry.tracking_id,
        payload={},
        attempt=1,
        first_seen_at=entry.created_at.isoformat(),
        last_error=entry.last_error,
        customer_number=entry.customer_number,
    )
    # An earlier attempt failed (last_error): its own retry may be queued already, and a failed
    # login repeated quickly can lock the integration user, so this one waits the longest delay.
    # None failed (the worker died first): now.
    delay = 0 if entry.last_error is None else services.retry.delay_before(1, patient=True)
    try:
        services.retry_queue.enqueue(message, delay)
    except RetryQueueUnavailable:
        raise StorageUnavailable(unavailable) from None
    # Guarded by the ETag the entry was found with: a worker that finished the write-back since then
    # (DONE, or FAILED) keeps its state, and the message writes the same number once more. Should
    # storage refuse, the entry stays `pending` and the next sweep queues it again.
    try:
        ledger_call(services.ledger.update, entry.evolve(writeback=WriteBackStatus.QUEUED, updated_at=services.clock()))
    except LedgerConflict:
        logger.info("write-back state changed since the entry was read; left as it is")
