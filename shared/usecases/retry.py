"""The queue path: handle one retry message (create, check or write-back)."""

from __future__ import annotations

import logging
from dataclasses import replace

from shared.core.claims import ClaimNew, Defer, Skip, decide_retry, decide_retry_unread
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.mapping import map_customer_request
from shared.core.models import InvalidCustomerRequest
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.retry_policy import FinalFailure, status_after_final_failure
from shared.core.validation import parse_customer_request
from shared.log import sync_context
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapError,
    SapNeedsReview,
    SapTransientError,
)
from shared.storage.port import LedgerConflict
from shared.telemetry.port import SyncOutcome
from shared.usecases.attempts import (
    HeldClaim,
    create_in_sap,
    live_lengths,
    record_created,
    record_needs_review,
    record_permanent_failure,
    record_rejection,
    store_failure,
    with_guard,
)
from shared.usecases.services import (
    Outcome,
    RetryOutcome,
    Services,
    describe,
    ledger_call,
    log_sap_problem,
    new_retry_token,
    retry_delay,
    update_quietly,
)
from shared.usecases.writeback import retry_write_back

logger = logging.getLogger(__name__)


def retry_create_customer(message: RetryMessage, services: Services) -> RetryOutcome:
    """Handle one retry message. Returns normally when the message is dealt with (done, re-queued
    with backoff, or parked); raises only when it could not even be re-queued, so the host retries it."""
    with sync_context(account_id=message.account_id, tracking_id=message.tracking_id):
        if message.kind is RetryKind.WRITEBACK:
            return retry_write_back(message, services)
        return _retry_create(message, services)


def _retry_create(message: RetryMessage, services: Services) -> RetryOutcome:
    try:
        request = parse_customer_request(message.payload)
        try:
            lengths = live_lengths(services)
        except SapError:  # driver or interface wrong: the create below fails the same way and is re-queued
            lengths = None
        mapped = map_customer_request(request, services.organisation, lengths)
    except InvalidCustomerRequest as invalid:
        # Only possible if settings changed since the request was accepted (e.g. a sales area removed).
        logger.error("queued request no longer valid", extra={"fields": [e.field for e in invalid.errors]})
        services.metrics.outcome(SyncOutcome.REJECTED, reason="invalid_request")
        store_failure(ledger_call(services.ledger.get, message.account_id), message,
                      f"invalid request: {invalid}", services, reason=FinalFailure.REQUEST_INVALID)
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
    # This attempt's mapping changes (a shortened street): recorded with whatever the attempt ends in.
    claimed = claimed.evolve(warnings=mapped.warnings)
    claim = HeldClaim(claimed)  # renewed should the guard search more than once
    try:
        created = create_in_sap(with_guard(mapped, claimed, services), claim, services)
    except SapBusinessRejection as rejection:
        record_rejection(claim.entry, request, rejection, services)
        return RetryOutcome.REJECTED
    except SapNeedsReview as review:
        record_needs_review(claim.entry, request, review, services)
        return RetryOutcome.NEEDS_REVIEW
    except (SapTransientError, SapConfigurationError) as error:
        return _requeue_or_give_up(claim.entry, message, error, services)
    except SapError as error:
        failed = record_permanent_failure(claim.entry, error, services)
        return RetryOutcome.NEEDS_REVIEW if failed.outcome is Outcome.NEEDS_REVIEW else RetryOutcome.REJECTED
    record_created(claim.entry.evolve(attempts=message.attempt), created, services, (), first_attempt=False)
    return RetryOutcome.CREATED


def _claim_for_retry(message: RetryMessage, services: Services) -> LedgerEntry | RetryOutcome:
    """Mark the entry PENDING for this message (ETag-guarded) so two workers never call SAP together.

    SKIPPED when there is nothing to do or another message owns the account; DEFERRED while a live
    worker (the HTTP path or another copy of this message) holds it.
    """
    is_check = message.kind is RetryKind.CHECK
    # A message that knows the entry its writer stored (and that entry's ETag) claims first without
    # reading: three table round trips per retry (claim, number held, result) instead of four. The claim is guarded by
    # the writer's ETag, so it is stored only while the entry is exactly as written, when a read would
    # have decided the same; if anything wrote the entry since, it is refused and we read below.
    unread = decide_retry_unread(message.written_entry, is_check=is_check, message_token=message.retry_token,
                                 message_tracking_id=message.tracking_id, message_attempt=message.attempt,
                                 now=services.clock(), windows=services.windows)
    if unread is not None:
        try:
            return ledger_call(services.ledger.update, _with_payload(unread.claim, message))
        except LedgerConflict:
            logger.info("ledger entry changed since the message was queued; reading it")
    for _ in range(5):  # a conflict means the entry moved under us: re-read and decide again
        entry = ledger_call(services.ledger.get, message.account_id)
        now = services.clock()
        decision = decide_retry(entry, is_check=is_check, message_token=message.retry_token,
                                message_tracking_id=message.tracking_id, message_attempt=message.attempt,
                                now=now, windows=services.windows)
        if isinstance(decision, Skip):
            logger.info("retry message dropped: %s", decision.reason)
            return RetryOutcome.SKIPPED
        if isinstance(decision, Defer):
            logger.info("account is being created by another worker; retry deferred")
            return RetryOutcome.DEFERRED
        try:
            if isinstance(decision, ClaimNew):
                return ledger_call(services.ledger.claim, LedgerEntry(
                    account_id=message.account_id, status=LedgerStatus.PENDING, tracking_id=message.tracking_id,
                    created_at=now, updated_at=now, attempts=message.attempt, payload=dict(message.payload)))
            return ledger_call(services.ledger.update, _with_payload(decision.claim, message))
        except LedgerConflict:
            continue
    # Still moving after several rounds: let the host deliver this message again later.
    raise LedgerConflict(f"ledger entry of {message.account_id} kept changing")


def _with_payload(claim: LedgerEntry, message: RetryMessage) -> LedgerEntry:
    # The claim holds the message's request, so the sweep can finish it should this worker die.
    if message.kind is not RetryKind.WRITEBACK and message.payload:
        return claim.evolve(payload=dict(message.payload))
    return claim


def _requeue_or_give_up(entry: LedgerEntry, message: RetryMessage, error: SapError,
                        services: Services) -> RetryOutcome:
    follow_up = replace(message.next_attempt(describe(error), retry_token=new_retry_token()), kind=RetryKind.CREATE)
    attempts = follow_up.attempt
    if services.retry.gives_up(attempts):
        outcome_unknown = entry.outcome_unknown or error.outcome_unknown
        if status_after_final_failure(FinalFailure.ATTEMPTS_EXHAUSTED,
                                      outcome_unknown=outcome_unknown) is LedgerStatus.NEEDS_REVIEW:
            # SAP may hold the customer: held for an operator (the entry keeps the request), not parked in the
            # poison queue, whose replay would only be skipped for an account held for review.
            store_failure(entry.evolve(outcome_unknown=True, error_kind=error.kind), follow_up,
                          f"gave up after {attempts} attempts: {describe(error)}", services)
            return RetryOutcome.NEEDS_REVIEW
        services.retry_queue.send_to_poison(follow_up)  # raises RetryQueueUnavailable: the host retries
        logger.error("giving up after %d attempts; message parked in the poison queue", attempts)
        services.metrics.outcome(SyncOutcome.POISONED)
        store_failure(entry.evolve(outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                    error_kind=error.kind),
                       follow_up, f"gave up after {attempts} attempts: {describe(error)}", services)
        return RetryOutcome.GAVE_UP
    # The message first, then the QUEUED entry: should this worker die in between, the entry is still
    # our claim, which the message (or the host's redelivery of this one) takes over once it is stale.
    # Storing the entry first would let the message carry its ETag and claim unread, but a death in
    # between would leave a QUEUED entry no message owns, finished only by the sweep once overdue
    # (bench/README.md, "Round trips exactly-once needs"); so this follow-up reads first.
    services.retry_queue.enqueue(follow_up, retry_delay(attempts, error, services))
    log_sap_problem(error, attempts, queued=True)
    services.metrics.outcome(SyncOutcome.RETRIED)
    update_quietly(entry.evolve(status=LedgerStatus.QUEUED, attempts=attempts, last_error=describe(error),
                                 error_kind=error.kind, retry_token=follow_up.retry_token,
                                 outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                 updated_at=services.clock()), services)
    return RetryOutcome.REQUEUED
