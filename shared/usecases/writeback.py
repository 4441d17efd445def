"""Write-back: the SAP customer number (or the failure) onto the Salesforce account.

Runs in the HTTP path right after a create, and from a WRITEBACK retry message when Salesforce was
down; it never goes near SAP again, so it cannot create a second customer.
"""

from __future__ import annotations

import logging

from shared.core.ledger import LedgerEntry, WriteBackStatus
from shared.core.retry_message import RetryKind, RetryMessage
from shared.salesforce.port import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceRejected,
    SalesforceUnavailable,
)
from shared.storage.port import LedgerConflict, RetryQueueUnavailable
from shared.telemetry.port import SyncOutcome
from shared.usecases.services import RetryOutcome, Services, ledger_call

logger = logging.getLogger(__name__)


def write_back_created(entry: LedgerEntry, customer_number: str, services: Services, attempt: int) -> WriteBackStatus:
    """Write the number to Salesforce; when Salesforce is down or refuses our login, queue the
    write-back on its own (it never goes near SAP again, so it cannot create a second customer).
    `entry` is the one the caller has just stored (its ETag): the write-back state updates it unread."""
    assert services.writeback is not None
    try:
        services.writeback.record_created(entry.account_id, customer_number, services.clock(), entry.warnings)
    except (SalesforceUnavailable, SalesforceAuthenticationFailed) as error:
        message = RetryMessage(
            kind=RetryKind.WRITEBACK,
            account_id=entry.account_id,
            tracking_id=entry.tracking_id,
            payload={},
            attempt=attempt + 1,
            first_seen_at=entry.created_at.isoformat(),
            last_error=str(error),
            customer_number=customer_number,
        )
        try:
            services.retry_queue.enqueue(message, write_back_delay(attempt + 1, error, services))
        except RetryQueueUnavailable:
            # The customer exists and the ledger says so; the write-back is visibly outstanding.
            logger.error("write-back could not be queued; ledger shows it pending")
            set_writeback(
                entry.account_id, WriteBackStatus.PENDING, services, last_error=f"write-back: {error}", held=entry
            )
            return WriteBackStatus.PENDING
        logger.warning("write-back queued: %s", type(error).__name__, extra={"attempt": attempt + 1})
        set_writeback(entry.account_id, WriteBackStatus.QUEUED, services, last_error=f"write-back: {error}", held=entry)
        return WriteBackStatus.QUEUED
    except SalesforceError as error:
        # Rejected (account deleted, field not deployed): the same call fails again; the ledger keeps
        # the customer number and shows the problem for a person to fix.
        logger.error("write-back rejected: %s", type(error).__name__)
        set_writeback(entry.account_id, WriteBackStatus.FAILED, services, last_error=f"write-back: {error}", held=entry)
        return WriteBackStatus.FAILED
    set_writeback(entry.account_id, WriteBackStatus.DONE, services, held=entry)
    return WriteBackStatus.DONE


def write_back_delay(attempt: int, error: SalesforceError, services: Services) -> int:
    # Repeated failed logins can lock the integration user: wait the longest delay every time.
    return services.retry.delay_before(attempt, patient=error.kind == SalesforceAuthenticationFailed.kind)


def retry_write_back(message: RetryMessage, services: Services) -> RetryOutcome:
    if services.writeback is None or message.customer_number is None:
        return RetryOutcome.SKIPPED
    # The one read of a write-back retry: the state below updates this entry (its ETag), not a second read of it.
    entry = ledger_call(services.ledger.get, message.account_id)
    if entry is not None and entry.writeback is WriteBackStatus.DONE:
        return RetryOutcome.SKIPPED
    try:
        # The warnings from the ledger: the message carries only the number (and may be a poison replay's).
        services.writeback.record_created(
            message.account_id, message.customer_number, services.clock(), entry.warnings if entry is not None else ()
        )
    except (SalesforceUnavailable, SalesforceAuthenticationFailed) as error:
        follow_up = message.next_attempt(str(error))
        attempts = follow_up.attempt
        if services.retry.gives_up(attempts):
            services.retry_queue.send_to_poison(follow_up)
            logger.error("write-back: giving up after %d attempts; parked in the poison queue", attempts)
            services.metrics.outcome(SyncOutcome.POISONED, reason="writeback")
            # Nothing retries it now but a replay from the poison queue (`admin poison replay`), so it is
            # not `pending` (the sweep finishes those): failed, with the reason, until the replay.
            set_writeback(
                message.account_id,
                WriteBackStatus.FAILED,
                services,
                last_error=f"write-back gave up after {attempts} attempts: {error}",
                held=entry,
            )
            return RetryOutcome.GAVE_UP
        services.retry_queue.enqueue(follow_up, write_back_delay(attempts, error, services))
        services.metrics.outcome(SyncOutcome.RETRIED, reason="writeback")
        set_writeback(
            message.account_id, WriteBackStatus.QUEUED, services, last_error=f"write-back: {error}", held=entry
        )
        return RetryOutcome.REQUEUED
    except SalesforceRejected as error:
        logger.error("write-back rejected by Salesforce")
        set_writeback(
            message.account_id, WriteBackStatus.FAILED, services, last_error=f"write-back: {error}", held=entry
        )
        return RetryOutcome.REJECTED
    set_writeback(message.account_id, WriteBackStatus.DONE, services, held=entry)
    logger.info("write-back done")
    return RetryOutcome.WRITTEN_BACK


def write_back_failed(account_id: str, error: str, services: Services) -> None:
    assert services.writeback is not None
    try:
        services.writeback.record_failed(account_id, error, services.clock())
    except SalesforceError as problem:
        # The ledger holds the failure; the status endpoint and the logs show it.
        logger.warning("could not write the failure to Salesforce: %s", type(problem).__name__)


def set_writeback(
    account_id: str,
    status: WriteBackStatus,
    services: Services,
    last_error: str | None = None,
    held: LedgerEntry | None = None,
) -> None:
    """Record the write-back state; best effort, because SAP's customer exists whatever happens here
    (a failure is logged and the status shows the previous state). `held` is the entry as the caller last
    stored or read it: updated with its ETag without reading it again (one table round trip fewer); should
    anything have written the entry since, the update is refused and the entry read."""
    try:
        for _ in range(3):
            entry = held if held is not None else services.ledger.get(account_id)
            held = None  # a refused update reads the entry again
            if entry is None or (entry.writeback is status and entry.last_error == last_error):
                return
            try:
                services.ledger.update(
                    entry.evolve(writeback=status, last_error=last_error, updated_at=services.clock())
                )
                return
            except LedgerConflict:
                continue
    except Exception as error:  # storage down after SAP succeeded: the answer must still be the number
        logger.error("ledger update of the write-back state failed: %s", type(error).__name__)
