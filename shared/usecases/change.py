"""The change path (issue 26): a synced account's owned fields reach SAP, in order, exactly once.

    change_customer   one change, from the HTTP path (POST /api/customers/{accountId}/changes)
    retry_change      one change message of the retry queue (the push path's changes, and changes that met
                      SAP unavailable, a create in hand or a live change claim)

Both run the same steps: validate (shared/core/change_request.py) -> decide from the ledger
(shared/core/change_rules.py decide_change: not synced, held, folded behind the create, stale, busy, or the
change claim) -> map (shared/core/change_mapping.py: only owned fields that differ from what SAP was last
given) -> read SAP's current values -> the conflict rule (SAP_CHANGE_CONFLICT) -> change -> record the end
(shared/usecases/change_records.py) -> write the error back to Salesforce, or clear it after a failed change.

Errors, as for the create (shared/sap/errors.py): a rejection ends the change `failed` with SAP's message
written back (the next valid change applies); SAP unavailable, outcome unknown or its logon refused queues
the change with backoff (sending the same change twice leaves SAP as once, so no guard is needed); a
permanent SAP error ends it `failed`. Logs name fields, never values.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from shared.core.change_mapping import MappedChange, customer_change, map_customer_change
from shared.core.change_request import ChangeRequest, parse_change_request
from shared.core.change_rules import (
    ChangeBusy,
    ClaimChange,
    ConflictResolution,
    CreateHeld,
    FoldIntoCreate,
    NotSynced,
    Stale,
    decide_change,
    own_change_claim,
    resolve_conflicts,
)
from shared.core.claims import Resume
from shared.core.ledger import ChangeStatus, LedgerEntry
from shared.core.models import InvalidRequest
from shared.core.ownership import business_names
from shared.core.retry_message import RetryMessage
from shared.log import sync_context
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapTransientError,
)
from shared.storage.port import LedgerConflict, RetryQueueUnavailable
from shared.telemetry.port import SyncOutcome
from shared.usecases.attempts import live_lengths, retry_delay
from shared.usecases.change_records import (
    ChangeEnd,
    ChangeOutcome,
    ChangeResult,
    change_message,
    clear_failed_change,
    queue_change,
    record_change_end,
    record_change_rejection,
)
from shared.usecases.services import (
    RetryOutcome,
    SapNotReady,
    Services,
    StorageUnavailable,
    describe,
    ledger_call,
    new_claim_id,
)

__all__ = ["ChangeOutcome", "ChangeResult", "change_customer", "retry_change"]

logger = logging.getLogger(__name__)


# What a change message's end means to the queue trigger.
_RETRY_OUTCOMES = {
    ChangeOutcome.APPLIED: RetryOutcome.CHANGED,
    ChangeOutcome.UNCHANGED: RetryOutcome.CHANGED,
    ChangeOutcome.STALE: RetryOutcome.SKIPPED,
    ChangeOutcome.NOT_SYNCED: RetryOutcome.SKIPPED,
    ChangeOutcome.FOLDED: RetryOutcome.DEFERRED,
    ChangeOutcome.QUEUED: RetryOutcome.REQUEUED,
    ChangeOutcome.NEEDS_REVIEW: RetryOutcome.NEEDS_REVIEW,
    ChangeOutcome.REJECTED: RetryOutcome.REJECTED,
    ChangeOutcome.FAILED: RetryOutcome.REJECTED,
}


def change_customer(change: ChangeRequest, services: Services) -> ChangeResult:
    """One change from the HTTP path. Raises InvalidRequest (400: the values cannot be mapped), SapNotReady
    (503: the SAP driver or interface is wrong) and StorageUnavailable (503: nothing recorded)."""
    with sync_context(account_id=change.account_id):
        try:
            lengths = live_lengths(services)
        except (SapDriverMissing, SapInterfaceMismatch) as error:
            logger.error("SAP is not set up for this product: %s", error.detail)
            raise SapNotReady(error.detail) from None
        return _change(change, services, lengths, None)


def retry_change(message: RetryMessage, services: Services) -> RetryOutcome:
    """One change message of the retry queue. Returns when it is dealt with (applied, skipped, re-queued or
    parked); raises only when it could not even be re-queued, so the host delivers it again."""
    try:
        change = parse_change_request(message.payload)
    except InvalidRequest as invalid:  # a message not written by this version: nothing to apply
        logger.error("change message unreadable", extra={"fields": [e.field for e in invalid.errors]})
        return RetryOutcome.REJECTED
    with sync_context(account_id=change.account_id, tracking_id=message.tracking_id):
        try:
            lengths = live_lengths(services)
        except SapError:  # driver or interface wrong: the change below fails the same way and is re-queued
            lengths = None
        try:
            result = _change(change, services, lengths, message)
        except InvalidRequest as invalid:
            logger.error("queued change no longer valid", extra={"fields": [e.field for e in invalid.errors]})
            services.metrics.change(ChangeOutcome.REJECTED.value)
            return RetryOutcome.REJECTED
        return _RETRY_OUTCOMES[result.outcome]


def _change(
    change: ChangeRequest, services: Services, lengths: dict[str, int] | None, message: RetryMessage | None
) -> ChangeResult:
    claimed = _claim(change, services, message, lengths)
    if isinstance(claimed, ChangeResult):
        services.metrics.change(claimed.outcome.value)
        return claimed
    entry, mapped, previous = claimed
    with sync_context(tracking_id=entry.tracking_id):
        result = _apply(change, entry, mapped, services, message, cleared=previous is ChangeStatus.FAILED)
    services.metrics.change(result.outcome.value)
    return result


def _claim(
    change: ChangeRequest, services: Services, message: RetryMessage | None, lengths: dict[str, int] | None
) -> tuple[LedgerEntry, MappedChange, ChangeStatus] | ChangeResult:
    """The change claim on the account's entry (with the change mapped against its applied values) and the
    change status it replaced, or the answer when the ledger decides without SAP.

    A claim write refused (LedgerConflict: another write, or the storage SDK's retry of our stored PUT meeting
    412) or unanswered (StorageUnavailable, once) is followed by a read: an entry holding this attempt's
    `claim_id` is its own claim (shared.core.change_rules.own_change_claim), not another worker's to wait for."""
    account_id = change.account_id
    claim_id = new_claim_id()
    replaced = ChangeStatus.NONE  # the change status the last claim write replaced (its own read-back shows ours)
    unanswered = False  # one claim write went unanswered: the read tells; a second one is StorageUnavailable
    for _ in range(4):
        entry = ledger_call(services.ledger.get, account_id)
        decision = decide_change(entry, change.system_modstamp, services.clock(), services.windows, claim_id=claim_id)
        if isinstance(decision, Resume):
            logger.info("the change claim was stored though its answer was lost; going on with it")
            return decision.claim, _mapped(change, decision.claim, services, lengths), replaced
        if isinstance(decision, NotSynced):
            logger.info("change for an account without an SAP customer in the ledger")
            return ChangeResult(ChangeOutcome.NOT_SYNCED, account_id)
        assert entry is not None
        if isinstance(decision, CreateHeld):
            logger.info("change for an account whose create is held for review")
            return ChangeResult(ChangeOutcome.NEEDS_REVIEW, account_id, error=entry.last_error)
        if isinstance(decision, Stale):
            logger.info("change not newer than the last one applied; ignored")
            return ChangeResult(ChangeOutcome.STALE, account_id, entry.customer_number)
        if isinstance(decision, FoldIntoCreate | ChangeBusy):
            return _wait(change, entry, services, message, folded=isinstance(decision, FoldIntoCreate))
        assert isinstance(decision, ClaimChange)
        # Mapped before the claim is written: a request that cannot be mapped claims nothing.
        mapped = _mapped(change, entry, services, lengths)
        if entry.claim_id != claim_id:  # a renewal of our own claim replaces only ourselves
            replaced = entry.change_status
        try:
            return ledger_call(services.ledger.update, decision.claim), mapped, replaced
        except LedgerConflict:
            continue
        except StorageUnavailable:
            if unanswered:
                raise
            unanswered = True
            logger.warning("the change claim write went unanswered; reading whether it was stored")
    # Still moving after several rounds: the change waits its turn like one that met a live claim (unless the
    # last round's claim was stored though refused on the SDK's retry).
    entry = ledger_call(services.ledger.get, account_id)
    assert entry is not None
    last = own_change_claim(entry, claim_id, services.clock(), services.windows)
    if isinstance(last, Resume):
        return last.claim, _mapped(change, last.claim, services, lengths), replaced
    return _wait(change, entry, services, message, folded=False)


def _mapped(
    change: ChangeRequest, entry: LedgerEntry, services: Services, lengths: dict[str, int] | None
) -> MappedChange:
    """The change's owned fields that differ from what SAP was last given (the entry's applied digests)."""
    return map_customer_change(
        change.request, services.organization, services.owned_fields, entry.applied_digests, lengths
    )


def _wait(
    change: ChangeRequest, entry: LedgerEntry, services: Services, message: RetryMessage | None, *, folded: bool
) -> ChangeResult:
    """The change waits: behind the create in hand (folded) or behind another change at SAP now (queued).
    A change message comes back later (the queue's own, or a new one for the HTTP path); then SAP holds the
    customer and the change applies what still differs. Raises StorageUnavailable when nothing could be
    queued (the HTTP path answers 503; the queue trigger's host delivers its message again)."""
    if folded:
        logger.info("change folded behind the create in hand")
        delay = services.retry.check_delay(services.stale_claim_after)
    else:
        logger.info("another change of the account is at SAP now; this one waits its turn")
        delay = services.retry.deferred_delay(services.stale_claim_after, is_check=False)
    follow = message if message is not None else change_message(change, entry)
    _enqueue(follow, delay, services)
    outcome = ChangeOutcome.FOLDED if folded else ChangeOutcome.QUEUED
    return ChangeResult(
        outcome, change.account_id, entry.customer_number, retry_after_seconds=services.retry.retry_after_seconds
    )


def _enqueue(message: RetryMessage, delay: int, services: Services) -> None:
    try:
        queue_change(message, delay, services)
    except RetryQueueUnavailable:
        raise StorageUnavailable("the change could not be queued; send it again later") from None


def _apply(
    change: ChangeRequest,
    entry: LedgerEntry,
    mapped: MappedChange,
    services: Services,
    message: RetryMessage | None,
    *,
    cleared: bool,
) -> ChangeResult:
    """SAP's values read, the conflict rule applied, the change sent, the end recorded (the claim is held)."""
    number = entry.customer_number
    assert number is not None
    if not mapped.differing:
        return _done(change, entry, mapped, {}, services, cleared=cleared)
    try:
        snapshot = services.sap.read_customer(number)
        resolution = resolve_conflicts(
            change.account_id, mapped.differing, snapshot.company_data, entry.applied_digests, services.change_conflict
        )
        if resolution.held:
            return _hold(change, entry, mapped, resolution, services)
        if resolution.conflicts:
            # salesforce_wins: overwritten, and said so (field names only: the values are personal data).
            logger.warning(
                "SAP values changed in SAP since our last change are overwritten (salesforce_wins)",
                extra={"fields": list(_names(resolution, services))},
            )
        if resolution.send:
            services.sap.change_customer(
                customer_change(
                    mapped,
                    resolution.send,
                    account_id=change.account_id,
                    customer_number=number,
                    system_modstamp=change.modstamp_text(),
                )
            )
    except SapBusinessRejection as rejection:
        return record_change_rejection(change, entry, mapped, rejection, services)
    except (SapTransientError, SapConfigurationError) as error:
        return _queue_next(change, entry, mapped, error, services, message)
    except SapError as error:  # permanent: the same change fails the same way
        logger.error("SAP failed permanently on the change", extra={"sap_error": type(error).__name__})
        record_change_end(entry, ChangeEnd(ChangeStatus.FAILED, describe(error)), services)
        return ChangeResult(
            ChangeOutcome.FAILED, change.account_id, number, error=describe(error), warnings=mapped.warnings
        )
    return _done(change, entry, mapped, resolution.send, services, resolution, cleared=cleared)


def _names(resolution: ConflictResolution, services: Services) -> tuple[str, ...]:
    return business_names([conflict.sap_field for conflict in resolution.conflicts], services.owned_fields)


def _done(
    change: ChangeRequest,
    entry: LedgerEntry,
    mapped: MappedChange,
    sent: dict[str, str],
    services: Services,
    resolution: ConflictResolution | None = None,
    *,
    cleared: bool = False,
) -> ChangeResult:
    """The change's values are SAP's now (sent, or there already). `cleared`: the last change had failed, so
    the account is written back Synced with its error field cleared."""
    status = ChangeStatus.APPLIED if sent else ChangeStatus.UNCHANGED
    changed = business_names(sent, services.owned_fields)
    logger.info("change %s", status.value, extra={"fields": list(changed)})
    for warning in mapped.warnings:
        logger.warning("value changed to fit SAP: %s", warning.message, extra={"field": warning.field})
    record_change_end(
        entry,
        ChangeEnd(status, modstamp=change.system_modstamp, applied_digests=mapped.digests, warnings=mapped.warnings),
        services,
    )
    if cleared and services.writeback is not None and entry.customer_number:
        clear_failed_change(entry, mapped.warnings, services)
    outcome = ChangeOutcome.APPLIED if sent else ChangeOutcome.UNCHANGED
    return ChangeResult(
        outcome,
        change.account_id,
        entry.customer_number,
        changed,
        mapped.warnings,
        conflicts=_names(resolution, services) if resolution else (),
    )


def _hold(
    change: ChangeRequest, entry: LedgerEntry, mapped: MappedChange, resolution: ConflictResolution, services: Services
) -> ChangeResult:
    names = _names(resolution, services)
    logger.warning(
        "change held for review: SAP values changed in SAP since our last change", extra={"fields": list(names)}
    )
    review: dict[str, object] = {
        "systemModstamp": change.modstamp_text(),
        "fields": [
            {
                "field": business_names([c.sap_field], services.owned_fields)[0],
                "sapField": c.sap_field,
                "sap": c.sap_value,
                "salesforce": c.new_value,
            }
            for c in resolution.conflicts
        ],
    }
    error = f"held for review: {', '.join(names)} changed in SAP since our last change (SAP_CHANGE_CONFLICT=review)"
    record_change_end(entry, ChangeEnd(ChangeStatus.NEEDS_REVIEW, error, review=review), services)
    return ChangeResult(
        ChangeOutcome.NEEDS_REVIEW,
        change.account_id,
        entry.customer_number,
        error=error,
        conflicts=names,
        warnings=mapped.warnings,
    )


def _queue_next(
    change: ChangeRequest,
    entry: LedgerEntry,
    mapped: MappedChange,
    error: SapError,
    services: Services,
    message: RetryMessage | None,
) -> ChangeResult:
    """SAP unavailable (or its answer lost, or its logon refused): the next attempt queued with backoff, or
    the change given up after the last attempt (failed, the message parked in the poison queue)."""
    attempt = (message.attempt if message is not None else 0) + 1
    unknown = error.outcome_unknown  # the unit may still commit: the claim stays until it surely ended
    follow = replace(change_message(change, entry, attempt, describe(error)), tracking_id=entry.tracking_id)
    if services.retry.gives_up(attempt):
        services.retry_queue.send_to_poison(follow)  # raises RetryQueueUnavailable: the host delivers again
        logger.error("change: giving up after %d attempts; parked in the poison queue", attempt)
        services.metrics.outcome(SyncOutcome.POISONED, reason="change")
        detail = f"change gave up after {attempt} attempts: {describe(error)}"
        record_change_end(entry, ChangeEnd(ChangeStatus.FAILED, detail), services)
        return ChangeResult(ChangeOutcome.FAILED, change.account_id, entry.customer_number, error=detail)
    delay = retry_delay(attempt, error, services)
    try:
        _enqueue(follow, delay, services)
    except Exception:
        # Nothing queued: free the claim (SAP may or may not hold the change; the resend applies it again).
        record_change_end(entry, ChangeEnd(ChangeStatus.QUEUED, describe(error), keep_claim=unknown), services)
        raise
    logger.warning(
        "SAP unavailable; change queued for retry", extra={"attempt": attempt, "sap_error": type(error).__name__}
    )
    record_change_end(entry, ChangeEnd(ChangeStatus.QUEUED, describe(error), keep_claim=unknown), services)
    return ChangeResult(
        ChangeOutcome.QUEUED,
        change.account_id,
        entry.customer_number,
        error=describe(error),
        warnings=mapped.warnings,
        retry_after_seconds=services.retry.retry_after_seconds,
    )
