"""One attempt at SAP, shared by the HTTP and the queue path: `attempt_create` runs it for an account whose
claim the worker holds and records how it ended in the ledger; each path only translates the `AttemptOutcome`
into its own answer (create.py: the HTTP result; retry.py: done, re-queued or given up).

    live_lengths      the live system's lengths, which the mapping fits (before the claim)
    attempt_create    the guard's inputs, the gateway's create judged against the ledger, the outcome recorded
    queue_retry       the next attempt queued and the QUEUED record (SAP unavailable; the path builds the message)
    record_created    the one record of a success (also an operator's resolve: status.py)
    store_failure     the queue path's end of a create that stops trying
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from shared.core.guard import (
    MAX_GUARD_ROUNDS,
    Accept,
    GuardAnswer,
    GuardCandidates,
    GuardCustomer,
    HoldForReview,
    SearchAgain,
    customer_key,
    decide_guard_answer,
)
from shared.core.guard_window import guard_search_since
from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import CustomerCreation, CustomerRequest, MappingWarning
from shared.core.personal_data import without_personal_values
from shared.core.retry_message import RetryMessage
from shared.core.retry_policy import FinalFailure, status_after_final_failure
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapCustomerCreated,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapNeedsReview,
    SapTransientError,
)
from shared.storage.port import LedgerConflict
from shared.telemetry.port import SyncOutcome
from shared.usecases.services import CreateResult, Outcome, Services, describe, ledger_call
from shared.usecases.writeback import write_back_created, write_back_failed

logger = logging.getLogger(__name__)


def live_lengths(services: Services) -> dict[str, int] | None:
    """The live system's PI_COMPANYDATA lengths, or None while SAP cannot be reached (the create then
    fails the same way and is queued; the retry maps again). Driver and interface problems raise."""
    try:
        return dict(services.sap.check_interface().company_data_lengths)
    except (SapDriverMissing, SapInterfaceMismatch):
        raise
    except SapError:
        return None


def with_guard(creation: CustomerCreation, entry: LedgerEntry, services: Services) -> CustomerCreation:
    """The create command for this attempt: searching SAP first when an earlier attempt's outcome is unknown,
    or before every create while SAP_GUARD_SEARCH_SINCE says the ledger may have lost writes."""
    # After an operator's `resolve --create` the window starts at the resolve (search_from), and the
    # candidates the operator rejected are left out of the search: the decision is not asked again.
    return replace(creation, search_since=guard_search_since(entry.search_from or entry.created_at,
                                                             entry.outcome_unknown, services.guard_search_since),
                   excluded_customers=tuple(entry.rejected_customers))


@dataclass
class HeldClaim:
    """The PENDING claim an attempt holds while it calls SAP; the caller records the outcome on `entry` as it is
    after the call. A guard that searches more than once renews the claim (a new ETag) before each repeated
    search: each search is a unit of work of its own, and the stale-claim window covers one unit, so without
    the renewal another worker could take the account over while a later search runs."""

    entry: LedgerEntry


@dataclass(frozen=True)
class AttemptOutcome:
    """How one attempt at SAP ended. `result` is the answer already recorded in the ledger (created, adopted,
    rejected, failed, held for review); None while a retry is due (`retry_due`: SAP unavailable, or its logon
    refused), which the path hands to `queue_retry` with its own next message."""

    entry: LedgerEntry  # the claim as the attempt left it (the guard renews it when it searches again)
    result: CreateResult | None = None
    retry_due: SapError | None = None


def attempt_create(creation: CustomerCreation, claimed: LedgerEntry, request: CustomerRequest, services: Services,
                   *, retried_attempt: int | None = None) -> AttemptOutcome:
    """One attempt at SAP for an account whose claim (`claimed`, PENDING) this worker holds: the guard's inputs
    (shared.core.guard_window), the gateway's create judged against the ledger (create_in_sap), and what it ended
    in recorded: created or adopted (the number, its write-back), rejected, failed or held for review
    (shared.core.retry_policy.status_after_final_failure), the mapping's warnings with each.

    `retried_attempt` is the queue message's attempt number (None: the HTTP path's first attempt, whose adopted
    customer answers already_exists); a retry's success counts its attempts from the message. Raises
    StorageUnavailable when the ledger cannot be asked during the guard (the claim stays)."""
    # This attempt's mapping changes (a shortened street): recorded with whatever the attempt ends in.
    entry = claimed.evolve(warnings=creation.warnings)
    creation = with_guard(creation, entry, services)
    # At DEBUG: a sync's record at INFO is its outcome ("customer created in SAP", a rejection, a queued retry);
    # each record is ingested (and billed) by Application Insights, and costs the request about 0.1 ms here. The
    # SAP call's time: the telemetry's dependency span, for every transport; the adapter's "SAP create <outcome>
    # in N ms" line is DEBUG in the app, INFO in the agent (shared/bootstrap/, agent/__main__.py).
    logger.debug("create started", extra={"attempt": entry.attempts + 1,
                                           "search_first": creation.search_since is not None})
    claim = HeldClaim(entry)  # renewed should the guard search more than once
    warnings = creation.warnings
    try:
        created = create_in_sap(creation, claim, services)
    except SapBusinessRejection as rejection:
        return AttemptOutcome(claim.entry, record_rejection(claim.entry, request, rejection, services, warnings))
    except SapNeedsReview as review:
        return AttemptOutcome(claim.entry, record_needs_review(claim.entry, request, review, services))
    except (SapTransientError, SapConfigurationError) as error:
        return AttemptOutcome(claim.entry, retry_due=error)
    except SapError as error:  # permanent: retrying gives the same answer
        return AttemptOutcome(claim.entry, record_permanent_failure(claim.entry, error, services, warnings))
    first_attempt = retried_attempt is None
    counted = claim.entry if retried_attempt is None else claim.entry.evolve(attempts=retried_attempt)
    return AttemptOutcome(claim.entry, record_created(counted, created, services, warnings,
                                                      first_attempt=first_attempt))


def queue_retry(entry: LedgerEntry, follow_up: RetryMessage, error: SapError, services: Services,
                counted_as: SyncOutcome) -> None:
    """Queue the next attempt of an attempt SAP did not finish (`follow_up`, built by the path), after the delay
    the error asks for, then record it: QUEUED, with the error and the follow-up's token, the outcome still
    unknown when it was before or is now. Raises RetryQueueUnavailable (nothing recorded): the path decides.

    The message first, then the QUEUED entry: should this worker die in between, the entry is still its claim,
    which the message (or the host's redelivery of the one being handled) takes over once it is stale. Stored
    the other way round, a death in between would leave a QUEUED entry no message owns, finished only by the
    sweep once overdue (bench/README.md, "Round trips exactly-once needs"); so a follow-up reads first."""
    attempts = follow_up.attempt
    services.retry_queue.enqueue(follow_up, retry_delay(attempts, error, services))
    if isinstance(error, SapConfigurationError):
        logger.error("SAP configuration problem (check SAP_USER/SAP_PASSWORD and the RFC user); "
                     "retry in the longest delay", extra={"attempt": attempts, "sap_error": type(error).__name__})
    else:
        logger.warning("SAP unavailable; queued for retry",
                       extra={"attempt": attempts, "sap_error": type(error).__name__})
    services.metrics.outcome(counted_as)
    update_quietly(entry.evolve(status=LedgerStatus.QUEUED, attempts=attempts, last_error=describe(error),
                                 error_kind=error.kind, retry_token=follow_up.retry_token,
                                 outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                 updated_at=services.clock()), services)


def retry_delay(attempt: int, error: SapError, services: Services) -> int:
    # A failed logon repeated quickly locks the SAP user: a configuration problem waits the longest delay.
    # An outcome-unknown failure waits at least the claim window (its unit may still be running); a
    # throttle at least what the relay asked (shared/core/retry_policy.py, delay_after_failure).
    return services.retry.delay_after(
        attempt, patient=isinstance(error, SapConfigurationError), outcome_unknown=error.outcome_unknown,
        stale_claim_after=services.stale_claim_after, retry_after_seconds=getattr(error, "retry_after_seconds", None))


def create_in_sap(creation: CustomerCreation, claim: HeldClaim, services: Services) -> SapCustomerCreated:
    """The gateway's create, its answer judged against the ledger (shared.core.guard), and the customer held
    for the account in the ledger (the reverse entry) before the caller records the result.

    A customer the ledger gives to another account is never the answer: the guard searches again without it
    (and creates when nothing of this account's is left), or the account is held for review. Raises what the
    gateway raises, SapNeedsReview when the guard cannot decide, StorageUnavailable when the ledger cannot be
    asked (SAP may then hold the customer: the claim stays, and the next attempt searches first)."""
    account_id = claim.entry.account_id
    excluded = tuple(creation.excluded_customers)
    for _ in range(MAX_GUARD_ROUNDS):
        review: SapNeedsReview | None = None
        created: SapCustomerCreated | None = None
        try:
            created = services.sap.create_customer(replace(creation, excluded_customers=excluded))
            answer: GuardAnswer = GuardCustomer(created.customer_number, created.adopted)
            # An adopted customer is asked for first: an account created before reverse entries existed holds
            # its number only in its own entry (holder_of finds it), which the conditional insert cannot see.
            # A number created now is new: the insert alone tells.
            holders: dict[str, str | None] = {customer_key(created.customer_number): ledger_call(
                services.ledger.holder_of, created.customer_number)} if created.adopted else {}
        except SapNeedsReview as raised:
            review, answer = raised, GuardCandidates(raised.candidates)
            holders = {customer_key(number): ledger_call(services.ledger.holder_of, number)
                       for number in raised.candidates}
        decision = decide_guard_answer(account_id, answer, holders, excluded)
        if isinstance(decision, Accept):
            holder = ledger_call(services.ledger.hold_customer, decision.number, account_id)
            if holder == account_id:
                if created is None:  # the ledger remembered it: an earlier attempt of this account held it
                    logger.warning("duplicate guard: the ledger holds SAP customer %s for this account",
                                   decision.number, extra={"customer_number": decision.number})
                    return SapCustomerCreated(decision.number, adopted=True)
                return created
            # Another account's guard adopted this number between our search (or create) and now: it keeps it.
            decision = decide_guard_answer(account_id, answer, {decision.number: holder}, excluded)
        if isinstance(decision, SearchAgain):
            logger.warning("duplicate guard: SAP customer(s) held by other accounts left out; searching again",
                           extra={"excluded": len(decision.excluded), "created_now": created is not None
                                  and not created.adopted})
            excluded = decision.excluded
            try:
                claim.entry = ledger_call(services.ledger.update, claim.entry.evolve(updated_at=services.clock()))
            except LedgerConflict:
                # Taken over (the claim went stale regardless): nothing of this round is the account's, and the
                # worker holding the claim now finishes it. Transient: the caller's own record of it is refused.
                raise SapTransientError("the account's claim was taken over while the duplicate guard searched "
                                        "again; the worker holding it finishes the account") from None
            continue
        assert isinstance(decision, HoldForReview)
        if review is not None and set(decision.candidates) == {customer_key(c) for c in review.candidates}:
            raise review
        detail = review.detail if review is not None else decision.reason
        left_out = len(excluded) - len(creation.excluded_customers)
        if left_out:
            detail += f" (left out: {left_out} SAP customer(s) the ledger gives to other accounts)"
        raise SapNeedsReview(detail, decision.candidates)
    raise SapNeedsReview(f"the duplicate guard found other accounts' customers {MAX_GUARD_ROUNDS} times in a row; "
                         "an operator decides")


def record_created(entry: LedgerEntry, created: SapCustomerCreated, services: Services,
                    warnings: tuple[MappingWarning, ...], first_attempt: bool) -> CreateResult:
    # The one record of a success, first attempt or retry (its attempt number tells which).
    logger.info("customer %s in SAP", "adopted" if created.adopted else "created",
                extra={"customer_number": created.customer_number, "attempt": entry.attempts + 1})
    log_warnings(entry.warnings)
    services.metrics.outcome(SyncOutcome.ADOPTED if created.adopted else SyncOutcome.CREATED)
    writeback = WriteBackStatus.PENDING if services.writeback else WriteBackStatus.NOT_NEEDED
    stored = update_quietly(entry.evolve(status=LedgerStatus.CREATED, customer_number=created.customer_number,
                                          attempts=entry.attempts + 1, last_error=None, error_kind=None,
                                          writeback=writeback, outcome_unknown=False, adopted=created.adopted,
                                          payload=None, review_candidates=(), updated_at=services.clock()),
                            services)
    if services.writeback is not None:
        writeback = write_back_created(stored, created.customer_number, services, attempt=0)
    outcome = Outcome.ALREADY_EXISTS if created.adopted and first_attempt else Outcome.CREATED
    return CreateResult(outcome, entry.account_id, entry.tracking_id, customer_number=created.customer_number,
                        messages=created.messages, warnings=warnings, writeback=writeback)


def record_rejection(entry: LedgerEntry, request: CustomerRequest, rejection: SapBusinessRejection,
                      services: Services, warnings: tuple[MappingWarning, ...] = ()) -> CreateResult:
    # SAP's texts quote what was sent ("Postal code 1234 must have length 5"): kept, answered and written
    # back with the request's personal values masked, like every other lastError.
    rejection = SapBusinessRejection(tuple(
        replace(sap_message, text=without_personal_values(sap_message.text, request.to_payload()))
        for sap_message in rejection.messages))
    message = rejection.message
    logger.warning("SAP rejected the account data",
                   extra={"sap_message_id": message.id, "sap_message_number": message.number})
    services.metrics.outcome(SyncOutcome.REJECTED, reason="sap_rejected")
    update_quietly(entry.evolve(status=LedgerStatus.FAILED, attempts=entry.attempts + 1, payload=None,
                                 last_error=describe(rejection), error_kind=rejection.kind,
                                 updated_at=services.clock()), services)
    if services.writeback is not None:
        write_back_failed(request.account_id, f"SAP {message.type} {message.id} {message.number}: {message.text}",
                           services)
    return CreateResult(Outcome.REJECTED, entry.account_id, entry.tracking_id, messages=rejection.messages,
                        rejection=message, warnings=warnings, error=describe(rejection))


def record_permanent_failure(entry: LedgerEntry, error: SapError, services: Services,
                              warnings: tuple[MappingWarning, ...] = ()) -> CreateResult:
    logger.error("SAP failed permanently", extra={"sap_error": type(error).__name__})
    status = record_final_failure(entry, FinalFailure.SAP_FAILED, describe(error), services,
                                  attempts=entry.attempts + 1, error_kind=error.kind,
                                  outcome_unknown=entry.outcome_unknown or error.outcome_unknown, write_back=False)
    if status is LedgerStatus.NEEDS_REVIEW:
        return CreateResult(Outcome.NEEDS_REVIEW, entry.account_id, entry.tracking_id,
                            error=held_after_unknown_outcome(describe(error)), warnings=warnings)
    services.metrics.outcome(SyncOutcome.REJECTED, reason="sap_failed")
    return CreateResult(Outcome.FAILED, entry.account_id, entry.tracking_id, error=describe(error),
                        warnings=warnings)


def record_needs_review(entry: LedgerEntry, request: CustomerRequest, review: SapNeedsReview,
                         services: Services) -> CreateResult:
    """Hold the account for an operator: never created automatically from here on."""
    logger.error("duplicate guard cannot decide; account held for review",
                 extra={"candidates": len(review.candidates)})
    services.metrics.outcome(SyncOutcome.NEEDS_REVIEW)
    detail = describe(review)
    update_quietly(entry.evolve(status=LedgerStatus.NEEDS_REVIEW, attempts=entry.attempts + 1, last_error=detail,
                                 error_kind=review.kind, retry_token=None, payload=request.to_payload(),
                                 review_candidates=tuple(customer_key(number) for number in review.candidates),
                                 updated_at=services.clock()), services)
    return CreateResult(Outcome.NEEDS_REVIEW, entry.account_id, entry.tracking_id, error=detail)


def store_failure(entry: LedgerEntry | None, message: RetryMessage, error: str, services: Services,
                  reason: FinalFailure = FinalFailure.ATTEMPTS_EXHAUSTED) -> LedgerStatus | None:
    """The queue path's end of a create: failed, or held for review after an unknown outcome."""
    if entry is None:
        return None
    return record_final_failure(entry, reason, error, services, attempts=message.attempt,
                                error_kind=entry.error_kind, outcome_unknown=entry.outcome_unknown,
                                payload=dict(message.payload) if message.payload else entry.payload)


def record_final_failure(entry: LedgerEntry, reason: FinalFailure, error: str, services: Services, *,
                         attempts: int, error_kind: str | None, outcome_unknown: bool,
                         payload: dict[str, str] | None = None, write_back: bool = True) -> LedgerStatus:
    """Record that the create stops trying: `failed`, or `needs_review` when an earlier attempt's outcome is
    unknown (shared.core.retry_policy.status_after_final_failure says which, and why). Held for review, the
    entry keeps the request, so an operator's `resolve --create` can send it again; nothing is written to
    Salesforce (the account is not failed)."""
    status = status_after_final_failure(reason, outcome_unknown=outcome_unknown)
    if status is LedgerStatus.NEEDS_REVIEW:
        logger.error("create stops trying (%s) after an attempt whose outcome is unknown; account held for review",
                     reason.value)
        services.metrics.outcome(SyncOutcome.NEEDS_REVIEW)
        update_quietly(entry.evolve(status=LedgerStatus.NEEDS_REVIEW, attempts=attempts,
                                     last_error=held_after_unknown_outcome(error), error_kind=error_kind,
                                     retry_token=None, outcome_unknown=True, payload=payload or entry.payload,
                                     updated_at=services.clock()), services)
        return status
    update_quietly(entry.evolve(status=LedgerStatus.FAILED, attempts=attempts, last_error=error[:1000],
                                 error_kind=error_kind, outcome_unknown=outcome_unknown, payload=None,
                                 updated_at=services.clock()), services)
    if write_back and services.writeback is not None:
        write_back_failed(entry.account_id, error, services)
    return status


def update_quietly(entry: LedgerEntry, services: Services) -> LedgerEntry:
    """Record an attempt's outcome; a failure here must not undo what SAP already did, so it is logged, not raised."""
    try:
        return services.ledger.update(entry)
    except Exception as error:  # the outcome is already fixed; the ledger catches up on the next event
        logger.error("ledger update failed: %s", type(error).__name__)
        return entry


def held_after_unknown_outcome(error: str) -> str:
    """lastError of an account held for review because its create stopped after an unknown outcome."""
    return (f"{error[:800]}; an earlier attempt's outcome is unknown, so SAP may hold the customer: check SAP, "
            "then `admin resolve --customer NUMBER` or `--create`")


def log_warnings(warnings: tuple[MappingWarning, ...]) -> None:
    """One record per value the mapping changed to fit SAP: the field and the rule, never the value."""
    for warning in warnings:
        logger.warning("value changed to fit SAP: %s", warning.message, extra={"field": warning.field})
