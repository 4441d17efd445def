"""The HTTP path: create the SAP customer for one validated request, exactly once per account.

The ledger's conditional insert lets one request per account reach SAP (the rules: shared.core.claims),
the gateway's duplicate guard covers "SAP may have committed but the answer was lost", and every
accepted request ends created, queued, held for review, or visibly failed.
"""

from __future__ import annotations

import logging

from shared.core.claims import Answer, ClaimNew, Reply, Resume, TakeOver, decide_create
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.mapping import map_customer_request
from shared.core.models import CustomerRequest, MappingWarning
from shared.core.retry_message import RetryKind, RetryMessage
from shared.log import sync_context
from shared.sap import SapDriverMissing, SapError, SapInterfaceMismatch
from shared.storage.port import LedgerConflict, RetryQueueUnavailable
from shared.telemetry.port import SyncOutcome
from shared.usecases.attempt_records import update_quietly
from shared.usecases.attempts import attempt_create, live_lengths, queue_retry
from shared.usecases.services import (
    CreateResult,
    Outcome,
    SapNotReady,
    Services,
    StorageUnavailable,
    category,
    category_of_stored,
    describe,
    ledger_call,
    new_claim_id,
    new_retry_token,
    release,
)

logger = logging.getLogger(__name__)


def create_customer(request: CustomerRequest, services: Services) -> CreateResult:
    """Create the SAP customer for one validated request, exactly once per account.

    Raises InvalidRequest (organizational data cannot be resolved: 400), SapNotReady (the SAP
    driver or interface is wrong: 503, nothing recorded) and StorageUnavailable (nothing was recorded:
    503). Everything else is a CreateResult.
    """
    with sync_context(account_id=request.account_id):
        try:
            lengths = live_lengths(services)
        except (SapDriverMissing, SapInterfaceMismatch) as error:
            logger.error("SAP is not set up for this product: %s", error.detail)
            raise SapNotReady(error.detail) from None
        mapped = map_customer_request(request, services.organization, lengths)
        entry = _claim_for_create(request, services)
        if isinstance(entry, CreateResult):
            return entry
        with sync_context(tracking_id=entry.tracking_id):
            attempt = attempt_create(mapped, entry, request, services)
            if attempt.retry_due is not None:
                return _queue_first_retry(attempt.entry, request, attempt.retry_due, services, mapped.warnings)
            assert attempt.result is not None
            return attempt.result


def _claim_for_create(request: CustomerRequest, services: Services) -> LedgerEntry | CreateResult:
    """The stored PENDING entry this request now owns, or the answer when another one owns the account."""
    account_id = request.account_id
    # This attempt's claims carry its id: a claim write that was stored though its answer was lost (refused on
    # the SDK's retry, or unanswered) is recognised on the next round's read (shared.core.claims.own_claim).
    claim_id = new_claim_id()
    unanswered = False  # one claim write went unanswered: the read tells; a second one answers 503
    # A blind claim first, then up to three rounds that read and decide (a lost race re-reads; three
    # settle any interleaving we can get).
    for round_number in range(4):
        now = services.clock()
        if round_number == 0:
            # Most requests are for an account the ledger has never seen, for which the rules decide
            # ClaimNew without looking: the conditional insert alone then settles who owns it, and a
            # new account costs three table round trips (claim, number held, result) instead of four. An account
            # the ledger knows loses the insert (LedgerConflict) and is read and decided below.
            existing, decision = None, decide_create(None, now, services.windows)
        else:
            existing = ledger_call(services.ledger.get, account_id)
            decision = decide_create(existing, now, services.windows, claim_id=claim_id)
        if isinstance(decision, Resume):
            logger.info("the claim was stored though its answer was lost; going on with it")
            return decision.claim
        try:
            # The claim holds the request until the account is created, so the sweep can finish it
            # should this worker die and the caller never send it again (same write, no extra round trip).
            if isinstance(decision, ClaimNew):
                return ledger_call(
                    services.ledger.claim,
                    LedgerEntry(
                        account_id=account_id,
                        status=LedgerStatus.PENDING,
                        tracking_id=services.new_tracking_id(),
                        created_at=now,
                        updated_at=now,
                        payload=request.to_payload(),
                        claim_id=claim_id,
                    ),
                )
            if isinstance(decision, TakeOver):
                return ledger_call(services.ledger.update, decision.claim.evolve(payload=request.to_payload()))
        except LedgerConflict:
            continue
        except StorageUnavailable:
            if unanswered:
                raise
            unanswered = True
            logger.warning("the claim write went unanswered; reading whether it was stored")
            continue
        assert existing is not None and isinstance(decision, Reply)
        if decision.answer is Answer.IN_PROGRESS:
            _queue_check(existing, request, services)
        return _answer_from_ledger(existing, decision.answer, services)
    existing = ledger_call(services.ledger.get, account_id)
    last = decide_create(existing, services.clock(), services.windows, claim_id=claim_id)
    if isinstance(last, Resume):  # the last round's claim was stored though refused on the SDK's retry
        return last.claim
    if existing is not None:
        _queue_check(existing, request, services)
    return CreateResult(
        Outcome.IN_PROGRESS,
        account_id,
        existing.tracking_id if existing else "",
        retry_after_seconds=services.retry.retry_after_seconds,
    )


def _queue_check(entry: LedgerEntry, request: CustomerRequest, services: Services) -> None:
    """Back a 202 in_progress with a message: if the worker holding the claim dies, the message finds the
    claim stale and finishes the account, so the accepted request is never only a promise."""
    message = RetryMessage(
        kind=RetryKind.CHECK,
        account_id=entry.account_id,
        tracking_id=entry.tracking_id,
        payload=request.to_payload(),
        attempt=entry.attempts,
        first_seen_at=entry.created_at.isoformat(),
    )
    try:
        services.retry_queue.enqueue(message, services.retry.check_delay(services.stale_claim_after))
    except RetryQueueUnavailable:
        raise StorageUnavailable("the request could not be queued; send it again later") from None


def _answer_from_ledger(entry: LedgerEntry, answer: Answer, services: Services) -> CreateResult:
    if answer is Answer.NEEDS_REVIEW:
        return CreateResult(Outcome.NEEDS_REVIEW, entry.account_id, entry.tracking_id, error=entry.last_error)
    if answer is Answer.ALREADY_EXISTS:
        services.metrics.outcome(SyncOutcome.REPLAYED)
        return CreateResult(
            Outcome.ALREADY_EXISTS,
            entry.account_id,
            entry.tracking_id,
            customer_number=entry.customer_number,
            writeback=entry.writeback,
        )
    outcome = Outcome.QUEUED if answer is Answer.QUEUED else Outcome.IN_PROGRESS
    return CreateResult(
        outcome,
        entry.account_id,
        entry.tracking_id,
        error=category_of_stored(entry) if answer is Answer.QUEUED else None,
        retry_after_seconds=services.retry.retry_after_seconds,
    )


def _queue_first_retry(
    entry: LedgerEntry,
    request: CustomerRequest,
    error: SapError,
    services: Services,
    warnings: tuple[MappingWarning, ...],
) -> CreateResult:
    attempts = entry.attempts + 1
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id=entry.account_id,
        tracking_id=entry.tracking_id,
        payload=request.to_payload(),
        attempt=attempts,
        first_seen_at=entry.created_at.isoformat(),
        last_error=describe(error),
        retry_token=new_retry_token(),
    )
    try:
        queue_retry(entry, message, error, services, counted_as=SyncOutcome.QUEUED)
    except RetryQueueUnavailable:
        logger.error("retry queue unavailable; answering 503", extra={"sap_error": type(error).__name__})
        if entry.outcome_unknown or error.outcome_unknown:
            # SAP may have created the customer: keep the claim and say so, never release it. Releasing
            # would drop the flag and the next attempt would create without searching (a second customer).
            # The caller's resend answers "in progress" until the claim is stale, then takes it over and
            # searches first; the sweep does the same once the queue is back.
            update_quietly(
                entry.evolve(
                    last_error=describe(error), error_kind=error.kind, outcome_unknown=True, updated_at=services.clock()
                ),
                services,
            )
        else:
            # SAP cannot have created anything: release the claim so the next attempt starts clean.
            release(entry, services)
        raise StorageUnavailable("the request could not be queued; send it again later") from None
    return CreateResult(
        Outcome.QUEUED,
        entry.account_id,
        entry.tracking_id,
        error=category(error),
        warnings=warnings,
        retry_after_seconds=services.retry.retry_after_seconds,
    )
