"""How one attempt's end is recorded: the ledger entry (created, rejected, failed, held for review), the
outcome counted, the write-back to Salesforce, the mapping's warnings logged. Shared by the attempt
(shared.usecases.attempts), the queue path's end (retry.py: store_failure) and an operator's resolve
(status.py: record_created).

    record_created            the one record of a success, first attempt or retry
    record_rejection          SAP refused the data: failed, SAP's message written back (personal values masked)
    record_permanent_failure  SAP failed for good (held for review if an earlier outcome is unknown)
    record_needs_review       the duplicate guard cannot decide: an operator does
    store_failure             the queue path's end of a create that stops trying
    record_final_failure      failed or held for review, by shared.core.retry_policy.status_after_final_failure
    update_quietly            the ledger write that never undoes what SAP already did
"""

from __future__ import annotations

import logging
from dataclasses import replace

from shared.core.guard import customer_key
from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import CustomerRequest, MappingWarning
from shared.core.personal_data import without_personal_values
from shared.core.retry_message import RetryMessage
from shared.core.retry_policy import FinalFailure, status_after_final_failure
from shared.sap import SapBusinessRejection, SapCustomerCreated, SapError, SapNeedsReview
from shared.telemetry.port import SyncOutcome
from shared.usecases.services import CreateResult, Outcome, Services, describe
from shared.usecases.writeback import write_back_created, write_back_failed

logger = logging.getLogger(__name__)


def record_created(
    entry: LedgerEntry,
    created: SapCustomerCreated,
    services: Services,
    warnings: tuple[MappingWarning, ...],
    first_attempt: bool,
) -> CreateResult:
    # The one record of a success, first attempt or retry (its attempt number tells which).
    logger.info(
        "customer %s in SAP",
        "adopted" if created.adopted else "created",
        extra={"customer_number": created.customer_number, "attempt": entry.attempts + 1},
    )
    log_warnings(entry.warnings)
    services.metrics.outcome(SyncOutcome.ADOPTED if created.adopted else SyncOutcome.CREATED)
    writeback = WriteBackStatus.PENDING if services.writeback else WriteBackStatus.NOT_NEEDED
    stored = update_quietly(
        entry.evolve(
            status=LedgerStatus.CREATED,
            customer_number=created.customer_number,
            attempts=entry.attempts + 1,
            last_error=None,
            error_kind=None,
            writeback=writeback,
            outcome_unknown=False,
            adopted=created.adopted,
            payload=None,
            review_candidates=(),
            updated_at=services.clock(),
        ),
        services,
    )
    if services.writeback is not None:
        writeback = write_back_created(stored, created.customer_number, services, attempt=0)
    outcome = Outcome.ALREADY_EXISTS if created.adopted and first_attempt else Outcome.CREATED
    return CreateResult(
        outcome,
        entry.account_id,
        entry.tracking_id,
        customer_number=created.customer_number,
        messages=created.messages,
        warnings=warnings,
        writeback=writeback,
    )


def record_rejection(
    entry: LedgerEntry,
    request: CustomerRequest,
    rejection: SapBusinessRejection,
    services: Services,
    warnings: tuple[MappingWarning, ...] = (),
) -> CreateResult:
    # SAP's texts quote what was sent ("Postal code 1234 must have length 5"): kept, answered and written
    # back with the request's personal values masked, like every other lastError.
    rejection = SapBusinessRejection(
        tuple(
            replace(sap_message, text=without_personal_values(sap_message.text, request.to_payload()))
            for sap_message in rejection.messages
        )
    )
    message = rejection.message
    logger.warning(
        "SAP rejected the account data", extra={"sap_message_id": message.id, "sap_message_number": message.number}
    )
    services.metrics.outcome(SyncOutcome.REJECTED, reason="sap_rejected")
    update_quietly(
        entry.evolve(
            status=LedgerStatus.FAILED,
            attempts=entry.attempts + 1,
            payload=None,
            last_error=describe(rejection),
            error_kind=rejection.kind,
            updated_at=services.clock(),
        ),
        services,
    )
    if services.writeback is not None:
        write_back_failed(
            request.account_id, f"SAP {message.type} {message.id} {message.number}: {message.text}", services
        )
    return CreateResult(
        Outcome.REJECTED,
        entry.account_id,
        entry.tracking_id,
        messages=rejection.messages,
        rejection=message,
        warnings=warnings,
        error=describe(rejection),
    )


def record_permanent_failure(
    entry: LedgerEntry, error: SapError, services: Services, warnings: tuple[MappingWarning, ...] = ()
) -> CreateResult:
    logger.error("SAP failed permanently", extra={"sap_error": type(error).__name__})
    status = record_final_failure(
        entry,
        FinalFailure.SAP_FAILED,
        describe(error),
        services,
        attempts=entry.attempts + 1,
        error_kind=error.kind,
        outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
        write_back=False,
    )
    if status is LedgerStatus.NEEDS_REVIEW:
        return CreateResult(
            Outcome.NEEDS_REVIEW,
            entry.account_id,
            entry.tracking_id,
            error=held_after_unknown_outcome(describe(error)),
            warnings=warnings,
        )
    services.metrics.outcome(SyncOutcome.REJECTED, reason="sap_failed")
    return CreateResult(Outcome.FAILED, entry.account_id, entry.tracking_id, error=describe(error), warnings=warnings)


def record_needs_review(
    entry: LedgerEntry, request: CustomerRequest, review: SapNeedsReview, services: Services
) -> CreateResult:
    """Hold the account for an operator: never created automatically from here on."""
    logger.error("duplicate guard cannot decide; account held for review", extra={"candidates": len(review.candidates)})
    services.metrics.outcome(SyncOutcome.NEEDS_REVIEW)
    detail = describe(review)
    update_quietly(
        entry.evolve(
            status=LedgerStatus.NEEDS_REVIEW,
            attempts=entry.attempts + 1,
            last_error=detail,
            error_kind=review.kind,
            retry_token=None,
            payload=request.to_payload(),
            review_candidates=tuple(customer_key(number) for number in review.candidates),
            updated_at=services.clock(),
        ),
        services,
    )
    return CreateResult(Outcome.NEEDS_REVIEW, entry.account_id, entry.tracking_id, error=detail)


def store_failure(
    entry: LedgerEntry | None,
    message: RetryMessage,
    error: str,
    services: Services,
    reason: FinalFailure = FinalFailure.ATTEMPTS_EXHAUSTED,
) -> LedgerStatus | None:
    """The queue path's end of a create: failed, or held for review after an unknown outcome."""
    if entry is None:
        return None
    return record_final_failure(
        entry,
        reason,
        error,
        services,
        attempts=message.attempt,
        error_kind=entry.error_kind,
        outcome_unknown=entry.outcome_unknown,
        payload=dict(message.payload) if message.payload else entry.payload,
    )


def record_final_failure(
    entry: LedgerEntry,
    reason: FinalFailure,
    error: str,
    services: Services,
    *,
    attempts: int,
    error_kind: str | None,
    outcome_unknown: bool,
    payload: dict[str, str] | None = None,
    write_back: bool = True,
) -> LedgerStatus:
    """Record that the create stops trying: `failed`, or `needs_review` when an earlier attempt's outcome is
    unknown (shared.core.retry_policy.status_after_final_failure says which, and why). Held for review, the
    entry keeps the request, so an operator's `resolve --create` can send it again; nothing is written to
    Salesforce (the account is not failed)."""
    status = status_after_final_failure(reason, outcome_unknown=outcome_unknown)
    if status is LedgerStatus.NEEDS_REVIEW:
        logger.error(
            "create stops trying (%s) after an attempt whose outcome is unknown; account held for review", reason.value
        )
        services.metrics.outcome(SyncOutcome.NEEDS_REVIEW)
        update_quietly(
            entry.evolve(
                status=LedgerStatus.NEEDS_REVIEW,
                attempts=attempts,
                last_error=held_after_unknown_outcome(error),
                error_kind=error_kind,
                retry_token=None,
                outcome_unknown=True,
                payload=payload or entry.payload,
                updated_at=services.clock(),
            ),
            services,
        )
        return status
    update_quietly(
        entry.evolve(
            status=LedgerStatus.FAILED,
            attempts=attempts,
            last_error=error[:1000],
            error_kind=error_kind,
            outcome_unknown=outcome_unknown,
            payload=None,
            updated_at=services.clock(),
        ),
        services,
    )
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
    return (
        f"{error[:800]}; an earlier attempt's outcome is unknown, so SAP may hold the customer: check SAP, "
        "then `admin resolve --customer NUMBER` or `--create`"
    )


def log_warnings(warnings: tuple[MappingWarning, ...]) -> None:
    """One record per value the mapping changed to fit SAP: the field and the rule, never the value."""
    for warning in warnings:
        logger.warning("value changed to fit SAP: %s", warning.message, extra={"field": warning.field})
