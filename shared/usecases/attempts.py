"""One attempt at SAP, shared by the HTTP and the queue path: `attempt_create` runs it for an account whose
claim the worker holds and records how it ended in the ledger; each path only translates the `AttemptOutcome`
into its own answer (create.py: the HTTP result; retry.py: done, re-queued or given up).

    live_lengths      the live system's lengths, which the mapping fits (before the claim)
    attempt_create    the guard's inputs, the gateway's create judged against the ledger, the outcome recorded
    queue_retry       the next attempt queued and the QUEUED record (SAP unavailable; the path builds the message)

The create judged against the ledger: shared/usecases/duplicate_guard.py; how each end is recorded (also an
operator's resolve and the queue path's last failure): shared/usecases/attempt_records.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from shared.core.change_mapping import digests_of_creation
from shared.core.guard_window import guard_search_since
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.models import CustomerCreation, CustomerRequest
from shared.core.retry_message import RetryMessage
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapNeedsReview,
    SapTransientError,
)
from shared.telemetry.port import SyncOutcome
from shared.usecases.attempt_records import (
    record_created,
    record_needs_review,
    record_permanent_failure,
    record_rejection,
    update_quietly,
)
from shared.usecases.duplicate_guard import HeldClaim, create_in_sap
from shared.usecases.services import CreateResult, Services, describe

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
    return replace(
        creation,
        search_since=guard_search_since(
            entry.search_from or entry.created_at, entry.outcome_unknown, services.guard_search_since
        ),
        excluded_customers=tuple(entry.rejected_customers),
    )


@dataclass(frozen=True)
class AttemptOutcome:
    """How one attempt at SAP ended. `result` is the answer already recorded in the ledger (created, adopted,
    rejected, failed, held for review); None while a retry is due (`retry_due`: SAP unavailable, or its logon
    refused), which the path hands to `queue_retry` with its own next message."""

    entry: LedgerEntry  # the claim as the attempt left it (the guard renews it when it searches again)
    result: CreateResult | None = None
    retry_due: SapError | None = None


def attempt_create(
    creation: CustomerCreation,
    claimed: LedgerEntry,
    request: CustomerRequest,
    services: Services,
    *,
    retried_attempt: int | None = None,
) -> AttemptOutcome:
    """One attempt at SAP for an account whose claim (`claimed`, PENDING) this worker holds: the guard's inputs
    (shared.core.guard_window), the gateway's create judged against the ledger (create_in_sap), and what it ended
    in recorded: created or adopted (the number, its write-back), rejected, failed or held for review
    (shared.core.retry_policy.status_after_final_failure), the mapping's warnings with each.

    `retried_attempt` is the queue message's attempt number (None: the HTTP path's first attempt, whose adopted
    customer answers already_exists); a retry's success counts its attempts from the message. Raises
    StorageUnavailable when the ledger cannot be asked during the guard (the claim stays)."""
    # This attempt's mapping changes (a shortened street): recorded with whatever the attempt ends in.
    # The owned fields as this create gives them to SAP: the change path's first "last applied" (issue 26).
    entry = claimed.evolve(
        warnings=creation.warnings,
        applied_digests=digests_of_creation(
            claimed.account_id, creation.parameters["PI_COMPANYDATA"], services.owned_fields
        ),
    )
    creation = with_guard(creation, entry, services)
    # At DEBUG: a sync's record at INFO is its outcome ("customer created in SAP", a rejection, a queued retry);
    # each record is ingested (and billed) by Application Insights, and costs the request about 0.1 ms here. The
    # SAP call's time: the telemetry's dependency span, for every transport; the adapter's "SAP create <outcome>
    # in N ms" line is DEBUG in the app, INFO in the agent (shared/bootstrap/, agent/__main__.py).
    logger.debug(
        "create started", extra={"attempt": entry.attempts + 1, "search_first": creation.search_since is not None}
    )
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
    return AttemptOutcome(
        claim.entry, record_created(counted, created, services, warnings, first_attempt=first_attempt)
    )


def queue_retry(
    entry: LedgerEntry, follow_up: RetryMessage, error: SapError, services: Services, counted_as: SyncOutcome
) -> None:
    """Queue the next attempt of an attempt SAP did not finish (`follow_up`, built by the path), after the delay
    the error asks for, then record it: QUEUED, with the error and the follow-up's token, the outcome still
    unknown when it was before or is now. Raises RetryQueueUnavailable (nothing recorded): the path decides.

    The message first, then the QUEUED entry: should this worker die in between, the entry is still its claim,
    which the message (or the host's redelivery of the one being handled) takes over once it is stale. Stored
    the other way round, a death in between would leave a QUEUED entry no message owns, finished only by the
    sweep once overdue (bench/README.md, "Round trips exactly-once needs"); so a follow-up reads first."""
    attempts = follow_up.attempt
    services.retry_queue.enqueue(follow_up, retry_delay(attempts, error, services))
    if error.kind == SapConfigurationError.kind:
        logger.error(
            "SAP configuration problem (check SAP_USER/SAP_PASSWORD and the RFC user); retry in the longest delay",
            extra={"attempt": attempts, "sap_error": type(error).__name__},
        )
    else:
        logger.warning(
            "SAP unavailable; queued for retry", extra={"attempt": attempts, "sap_error": type(error).__name__}
        )
    services.metrics.outcome(counted_as)
    update_quietly(
        entry.evolve(
            status=LedgerStatus.QUEUED,
            attempts=attempts,
            last_error=describe(error),
            error_kind=error.kind,
            retry_token=follow_up.retry_token,
            outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
            updated_at=services.clock(),
        ),
        services,
    )


def retry_delay(attempt: int, error: SapError, services: Services) -> int:
    # A failed logon repeated quickly locks the SAP user: a configuration problem waits the longest delay.
    # An outcome-unknown failure waits at least the claim window (its unit may still be running); a
    # throttle at least what the relay asked (shared/core/retry_policy.py, delay_after_failure).
    return services.retry.delay_after(
        attempt,
        patient=error.kind == SapConfigurationError.kind,
        outcome_unknown=error.outcome_unknown,
        stale_claim_after=services.stale_claim_after,
        retry_after_seconds=getattr(error, "retry_after_seconds", None),
    )
