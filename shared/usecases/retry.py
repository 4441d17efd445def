"""The queue path: handle one retry message (create, check or write-back)."""

from __future__ import annotations

import logging
from dataclasses import replace

from shared.core.claims import ClaimNew, Defer, Resume, Skip, decide_retry, decide_retry_unread
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.mapping import map_customer_request
from shared.core.models import InvalidRequest
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.retry_policy import FinalFailure, status_after_final_failure
from shared.core.validation import parse_customer_request
from shared.log import sync_context
from shared.sap import SapError
from shared.storage.port import LedgerConflict
from shared.telemetry.port import SyncOutcome
from shared.usecases.attempt_records import store_failure
from shared.usecases.attempts import attempt_create, live_lengths, queue_retry
from shared.usecases.services import (
    Outcome,
    RetryOutcome,
    Services,
    StorageUnavailable,
    describe,
    ledger_call,
    new_claim_id,
    new_retry_token,
)
from shared.usecases.writeback import retry_write_back

logger = logging.getLogger(__name__)


def retry_create_customer(message: RetryMessage, services: Services) -> RetryOutcome:
    """Handle one retry message. Returns normally when the message is dealt with (done, re-queued
    with backoff, or parked); raises only when it could not even be re-queued, so the host retries it."""
    with sync_context(account_id=message.account_id, tracking_id=message.tracking_id):
        if message.kind is RetryKind.WRITEBACK:
            return retry_write_back(message, services)
        if message.kind is RetryKind.CHANGE:
            from shared.usecases.change import retry_change  # the change path (issue 26)

            return retry_change(message, services)
        return _retry_create(message, services)


def _retry_create(message: RetryMessage, services: Services) -> RetryOutcome:
    try:
        request = parse_customer_request(message.payload)
        try:
            lengths = live_lengths(services)
        except SapError:  # driver or interface wrong: the create below fails the same way and is re-queued
            lengths = None
        mapped = map_customer_request(request, services.organization, lengths)
    except InvalidRequest as invalid:
        # Only possible if settings changed since the request was accepted (e.g. a sales area removed).
        logger.error("queued request no longer valid", extra={"fields": [e.field for e in invalid.errors]})
        services.metrics.outcome(SyncOutcome.REJECTED, reason="invalid_request")
        store_failure(
            ledger_call(services.ledger.get, message.account_id),
            message,
            f"invalid request: {invalid}",
            services,
            reason=FinalFailure.REQUEST_INVALID,
        )
        return RetryOutcome.REJECTED

    claimed = _claim_for_retry(message, services)
    if claimed is RetryOutcome.DEFERRED:
        # Same message, same attempt, back soon: the holder usually finishes within seconds, and a
        # re-check costs one ledger read (bounded by half the claim window for very long base delays).
        delay = services.retry.deferred_delay(services.stale_claim_after, is_check=message.kind is RetryKind.CHECK)
        # The entry the message knew has changed (a live claim holds it): the copy that comes back reads.
        services.retry_queue.enqueue(replace(message, written_entry=None), delay)
        return RetryOutcome.DEFERRED
    if not isinstance(claimed, LedgerEntry):
        return RetryOutcome.SKIPPED
    attempt = attempt_create(mapped, claimed, request, services, retried_attempt=message.attempt)
    if attempt.retry_due is not None:
        return _requeue_or_give_up(attempt.entry, message, attempt.retry_due, services)
    assert attempt.result is not None
    return _RETRY_OUTCOMES[attempt.result.outcome]


# What a recorded attempt means to the queue: a retry's adopted customer is `created` (only the HTTP path's
# first attempt answers already_exists), and a permanent failure is not retried (rejected) unless it is held.
_RETRY_OUTCOMES = {
    Outcome.CREATED: RetryOutcome.CREATED,
    Outcome.ALREADY_EXISTS: RetryOutcome.CREATED,
    Outcome.REJECTED: RetryOutcome.REJECTED,
    Outcome.FAILED: RetryOutcome.REJECTED,
    Outcome.NEEDS_REVIEW: RetryOutcome.NEEDS_REVIEW,
}


def _claim_for_retry(message: RetryMessage, services: Services) -> LedgerEntry | RetryOutcome:
    """Mark the entry PENDING for this message (ETag-guarded) so two workers never call SAP together.

    SKIPPED when there is nothing to do or another message owns the account; DEFERRED while a live
    worker (the HTTP path or another copy of this message) holds it. A claim write refused (LedgerConflict) or
    unanswered (StorageUnavailable, once) is followed by a read: it may have been stored all the same, and an
    entry claimed with this attempt's `claim_id` is this attempt's claim (shared.core.claims.own_claim).
    """
    is_check = message.kind is RetryKind.CHECK
    claim_id = new_claim_id()
    unanswered = False  # one claim write went unanswered: the read tells; a second one goes to the host
    # A message that knows the entry its writer stored (and that entry's ETag) claims first without
    # reading: three table round trips per retry (claim, number held, result) instead of four. The claim is guarded by
    # the writer's ETag, so it is stored only while the entry is exactly as written, when a read would
    # have decided the same; if anything wrote the entry since, it is refused and we read below.
    unread = decide_retry_unread(
        message.written_entry,
        is_check=is_check,
        message_token=message.retry_token,
        message_tracking_id=message.tracking_id,
        message_attempt=message.attempt,
        now=services.clock(),
        windows=services.windows,
        claim_id=claim_id,
    )
    if unread is not None:
        try:
            return ledger_call(services.ledger.update, _with_payload(unread.claim, message))
        except LedgerConflict:
            logger.info(
                "ledger entry changed since the message was queued (or our claim's answer was lost); reading it"
            )
        except StorageUnavailable:
            unanswered = True
            logger.warning("the claim write went unanswered; reading whether it was stored")
    for _ in range(5):  # a conflict means the entry moved under us: re-read and decide again
        entry = ledger_call(services.ledger.get, message.account_id)
        now = services.clock()
        decision = decide_retry(
            entry,
            is_check=is_check,
            message_token=message.retry_token,
            message_tracking_id=message.tracking_id,
            message_attempt=message.attempt,
            now=now,
            windows=services.windows,
            claim_id=claim_id,
        )
        if isinstance(decision, Resume):
            logger.info("the claim was stored though its answer was lost; going on with it")
            return decision.claim
        if isinstance(decision, Skip):
            logger.info("retry message dropped: %s", decision.reason)
            return RetryOutcome.SKIPPED
        if isinstance(decision, Defer):
            logger.info("account is being created by another worker; retry deferred")
            return RetryOutcome.DEFERRED
        try:
            if isinstance(decision, ClaimNew):
                return ledger_call(
                    services.ledger.claim,
                    LedgerEntry(
                        account_id=message.account_id,
                        status=LedgerStatus.PENDING,
                        tracking_id=message.tracking_id,
                        created_at=now,
                        updated_at=now,
                        attempts=message.attempt,
                        payload=dict(message.payload),
                        claim_id=claim_id,
                    ),
                )
            return ledger_call(services.ledger.update, _with_payload(decision.claim, message))
        except LedgerConflict:
            continue
        except StorageUnavailable:
            if unanswered:
                raise
            unanswered = True
            logger.warning("the claim write went unanswered; reading whether it was stored")
    # Still moving after several rounds: let the host deliver this message again later.
    raise LedgerConflict(f"ledger entry of {message.account_id} kept changing")


def _with_payload(claim: LedgerEntry, message: RetryMessage) -> LedgerEntry:
    # The claim holds the message's request, so the sweep can finish it should this worker die.
    if message.kind is not RetryKind.WRITEBACK and message.payload:
        return claim.evolve(payload=dict(message.payload))
    return claim


def _requeue_or_give_up(entry: LedgerEntry, message: RetryMessage, error: SapError, services: Services) -> RetryOutcome:
    follow_up = replace(message.next_attempt(describe(error), retry_token=new_retry_token()), kind=RetryKind.CREATE)
    attempts = follow_up.attempt
    if services.retry.gives_up(attempts):
        last = entry.evolve(outcome_unknown=entry.outcome_unknown or error.outcome_unknown, error_kind=error.kind)
        # SAP may hold the customer: held for an operator (the entry keeps the request), not parked in the poison
        # queue, whose replay would only be skipped for an account held for review.
        held = (
            status_after_final_failure(FinalFailure.ATTEMPTS_EXHAUSTED, outcome_unknown=last.outcome_unknown)
            is LedgerStatus.NEEDS_REVIEW
        )
        if not held:
            services.retry_queue.send_to_poison(follow_up)  # raises RetryQueueUnavailable: the host retries
            logger.error("giving up after %d attempts; message parked in the poison queue", attempts)
            services.metrics.outcome(SyncOutcome.POISONED)
        store_failure(last, follow_up, f"gave up after {attempts} attempts: {describe(error)}", services)
        return RetryOutcome.NEEDS_REVIEW if held else RetryOutcome.GAVE_UP
    queue_retry(entry, follow_up, error, services, counted_as=SyncOutcome.RETRIED)  # raises: the host retries
    return RetryOutcome.REQUEUED
