"""Use cases: create a customer (HTTP path), retry one (queue path), report an account's status.

Plain functions over the ports in `Services`; no transport, storage or HTTP detail in here. The
exactly-once rule lives here: the ledger's conditional insert lets one request per account reach
SAP, the gateway's duplicate guard covers "SAP committed but the answer was lost", and every
accepted request ends created, queued, or visibly failed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from shared.claims import Answer, ClaimNew, ClaimWindows, Defer, Reply, Skip, TakeOver, decide_create, decide_retry
from shared.ledger import (
    Ledger,
    LedgerConflict,
    LedgerEntry,
    LedgerStatus,
    LedgerUnavailable,
    WriteBackStatus,
)
from shared.log import sync_context
from shared.mapping import map_customer_request
from shared.models import CustomerCreation, CustomerRequest, InvalidCustomerRequest, MappingWarning
from shared.retry_queue import RetryKind, RetryMessage, RetryQueue, RetryQueueUnavailable, backoff_seconds
from shared.salesforce import (
    AccountWriteBack,
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceRejected,
    SalesforceUnavailable,
)
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapCustomerCreated,
    SapDriverMissing,
    SapError,
    SapGateway,
    SapInterfaceMismatch,
    SapMessage,
    SapNeedsReview,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.settings import RetrySettings, SapOrganisation
from shared.validation import parse_customer_request

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_tracking_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Services:
    """The ports the use cases need; the composition root (shared/bootstrap.py) fills them."""

    sap: SapGateway
    ledger: Ledger
    retry_queue: RetryQueue
    organisation: SapOrganisation
    retry: RetrySettings = field(default_factory=RetrySettings)
    writeback: AccountWriteBack | None = None  # None: the flow writes back (or nobody)
    # A PENDING claim older than this belongs to a worker that died; another may take it over. It must
    # exceed the longest SAP unit of work (the composition root derives it from SAP_TIMEOUT_SECONDS).
    stale_claim_after: timedelta = timedelta(seconds=240)
    clock: Callable[[], datetime] = _utc_now
    new_tracking_id: Callable[[], str] = _new_tracking_id

    @property
    def windows(self) -> ClaimWindows:
        return ClaimWindows.from_bounds(self.stale_claim_after, self.retry.max_delay_seconds)


class Outcome(StrEnum):
    CREATED = "created"  # 201: SAP created the customer now
    ALREADY_EXISTS = "already_exists"  # 200: the account already has an SAP customer
    QUEUED = "queued"  # 202: SAP unreachable or busy; the retry queue will create it
    IN_PROGRESS = "in_progress"  # 202: another request for the same account is creating it
    REJECTED = "rejected"  # 422: SAP refused the data; a person must fix the account
    FAILED = "failed"  # 502: SAP failed in a way retrying will not heal (e.g. ABAP runtime error)
    # 202: an earlier attempt may have created the customer and the guard cannot tell: held for an operator
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class CreateResult:
    outcome: Outcome
    account_id: str
    tracking_id: str
    customer_number: str | None = None
    messages: tuple[SapMessage, ...] = ()
    warnings: tuple[MappingWarning, ...] = ()
    rejection: SapMessage | None = None
    error: str | None = None  # safe to show: codes and SAP texts, no credentials
    retry_after_seconds: int | None = None
    writeback: WriteBackStatus = WriteBackStatus.NOT_NEEDED


class StorageUnavailable(Exception):
    """Neither ledger nor queue could record the request: the caller must send it again (HTTP 503)."""


class SapNotReady(Exception):
    """The SAP side is set up wrongly in a way no retry heals (driver or SDK missing, the live system's
    interface lacks what we send): nothing was recorded; HTTP 503 `configuration`."""


# --------------------------------------------------------------------------- HTTP path


def create_customer(request: CustomerRequest, services: Services) -> CreateResult:
    """Create the SAP customer for one validated request, exactly once per account.

    Raises InvalidCustomerRequest (organisational data cannot be resolved: 400), SapNotReady (the SAP
    driver or interface is wrong: 503, nothing recorded) and StorageUnavailable (nothing was recorded:
    503). Everything else is a CreateResult.
    """
    with sync_context(account_id=request.account_id):
        try:
            live_lengths = _live_lengths(services)
        except (SapDriverMissing, SapInterfaceMismatch) as error:
            logger.error("SAP is not set up for this product: %s", error.detail)
            raise SapNotReady(error.detail) from None
        mapped = map_customer_request(request, services.organisation, live_lengths)
        entry = _claim_for_create(request, services)
        if isinstance(entry, CreateResult):
            return entry
        creation = _with_guard(mapped, entry)
        with sync_context(tracking_id=entry.tracking_id):
            logger.info("create started", extra={"attempt": entry.attempts + 1,
                                                  "search_first": creation.search_since is not None})
            started = time.perf_counter()
            try:
                created = services.sap.create_customer(creation)
            except SapBusinessRejection as rejection:
                return _record_rejection(entry, request, rejection, services, warnings=creation.warnings)
            except SapNeedsReview as review:
                return _record_needs_review(entry, request, review, services)
            except (SapTransientError, SapConfigurationError) as error:
                return _queue_first_retry(entry, request, error, services, creation.warnings)
            except SapError as error:  # permanent: retrying gives the same answer
                return _record_permanent_failure(entry, error, services, creation.warnings)
            finally:
                logger.info("SAP call finished", extra={"sap_ms": round((time.perf_counter() - started) * 1000)})
            return _record_created(entry, created, services, creation.warnings, first_attempt=True)


def _live_lengths(services: Services) -> dict[str, int] | None:
    """The live system's PI_COMPANYDATA lengths, or None while SAP cannot be reached (the create then
    fails the same way and is queued; the retry maps again). Driver and interface problems raise."""
    try:
        return dict(services.sap.check_interface().company_data_lengths)
    except (SapDriverMissing, SapInterfaceMismatch):
        raise
    except SapError:
        return None


def _with_guard(creation: CustomerCreation, entry: LedgerEntry) -> CustomerCreation:
    """The create command for this attempt: searching SAP first when an earlier attempt's outcome is unknown."""
    return replace(creation, search_since=entry.created_at if entry.outcome_unknown else None)


def _claim_for_create(request: CustomerRequest, services: Services) -> LedgerEntry | CreateResult:
    """The stored PENDING entry this request now owns, or the answer when another one owns the account."""
    account_id = request.account_id
    for _ in range(3):  # a lost race re-reads; three rounds settle any interleaving we can get
        existing = _ledger_call(services.ledger.get, account_id)
        now = services.clock()
        decision = decide_create(existing, now, services.windows)
        try:
            if isinstance(decision, ClaimNew):
                return _ledger_call(services.ledger.claim, LedgerEntry(
                    account_id=account_id, status=LedgerStatus.PENDING, tracking_id=services.new_tracking_id(),
                    created_at=now, updated_at=now))
            if isinstance(decision, TakeOver):
                return _ledger_call(services.ledger.update, decision.claim)
        except LedgerConflict:
            continue
        assert existing is not None and isinstance(decision, Reply)
        if decision.answer is Answer.IN_PROGRESS:
            _queue_check(existing, request, services)
        return _answer_from_ledger(existing, decision.answer, services)
    existing = _ledger_call(services.ledger.get, account_id)
    if existing is not None:
        _queue_check(existing, request, services)
    return CreateResult(Outcome.IN_PROGRESS, account_id, existing.tracking_id if existing else "",
                        retry_after_seconds=services.retry.retry_after_seconds)


def _queue_check(entry: LedgerEntry, request: CustomerRequest, services: Services) -> None:
    """Back a 202 in_progress with a message: if the worker holding the claim dies, the message finds the
    claim stale and finishes the account, so the accepted request is never only a promise."""
    message = RetryMessage(kind=RetryKind.CHECK, account_id=entry.account_id, tracking_id=entry.tracking_id,
                           payload=request.to_payload(), attempt=entry.attempts,
                           first_seen_at=entry.created_at.isoformat())
    try:
        services.retry_queue.enqueue(message, int(services.stale_claim_after.total_seconds()) + 1)
    except RetryQueueUnavailable:
        raise StorageUnavailable("the request could not be queued; send it again later") from None


def _answer_from_ledger(entry: LedgerEntry, answer: Answer, services: Services) -> CreateResult:
    if answer is Answer.NEEDS_REVIEW:
        return CreateResult(Outcome.NEEDS_REVIEW, entry.account_id, entry.tracking_id, error=entry.last_error)
    if answer is Answer.ALREADY_EXISTS:
        return CreateResult(Outcome.ALREADY_EXISTS, entry.account_id, entry.tracking_id,
                            customer_number=entry.customer_number, writeback=entry.writeback)
    outcome = Outcome.QUEUED if answer is Answer.QUEUED else Outcome.IN_PROGRESS
    return CreateResult(outcome, entry.account_id, entry.tracking_id,
                        error=_category_of_stored(entry) if answer is Answer.QUEUED else None,
                        retry_after_seconds=services.retry.retry_after_seconds)


def _queue_first_retry(entry: LedgerEntry, request: CustomerRequest, error: SapError, services: Services,
                       warnings: tuple[MappingWarning, ...]) -> CreateResult:
    attempts = entry.attempts + 1
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id=entry.account_id,
        tracking_id=entry.tracking_id,
        payload=request.to_payload(),
        attempt=attempts,
        first_seen_at=entry.created_at.isoformat(),
        last_error=_describe(error),
        retry_token=_new_retry_token(),
    )
    try:
        services.retry_queue.enqueue(message, _retry_delay(attempts, error, services))
    except RetryQueueUnavailable:
        # Not recorded anywhere: release the claim so the caller's next attempt starts clean. If SAP did
        # commit before the error, the duplicate guard finds that customer on the next attempt.
        logger.error("retry queue unavailable; answering 503", extra={"sap_error": type(error).__name__})
        _release(entry, services)
        raise StorageUnavailable("the request could not be queued; send it again later") from None
    _log_sap_problem(error, attempts, queued=True)
    _update_quietly(entry.evolve(status=LedgerStatus.QUEUED, attempts=attempts, last_error=_describe(error),
                                 error_kind=error.kind, retry_token=message.retry_token,
                                 outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                 updated_at=services.clock()), services)
    return CreateResult(Outcome.QUEUED, entry.account_id, entry.tracking_id, error=_category(error),
                        warnings=warnings, retry_after_seconds=services.retry.retry_after_seconds)


def _record_created(entry: LedgerEntry, created: SapCustomerCreated, services: Services,
                    warnings: tuple[MappingWarning, ...], first_attempt: bool) -> CreateResult:
    logger.info("customer %s in SAP", "adopted" if created.adopted else "created",
                extra={"customer_number": created.customer_number})
    writeback = WriteBackStatus.PENDING if services.writeback else WriteBackStatus.NOT_NEEDED
    stored = _update_quietly(entry.evolve(status=LedgerStatus.CREATED, customer_number=created.customer_number,
                                          attempts=entry.attempts + 1, last_error=None, error_kind=None,
                                          writeback=writeback, outcome_unknown=False, adopted=created.adopted,
                                          payload=None, updated_at=services.clock()), services)
    if services.writeback is not None:
        writeback = _write_back_created(stored, created.customer_number, services, attempt=0)
    outcome = Outcome.ALREADY_EXISTS if created.adopted and first_attempt else Outcome.CREATED
    return CreateResult(outcome, entry.account_id, entry.tracking_id, customer_number=created.customer_number,
                        messages=created.messages, warnings=warnings, writeback=writeback)


def _record_rejection(entry: LedgerEntry, request: CustomerRequest, rejection: SapBusinessRejection,
                      services: Services, warnings: tuple[MappingWarning, ...] = ()) -> CreateResult:
    message = rejection.message
    logger.warning("SAP rejected the account data",
                   extra={"sap_message_id": message.id, "sap_message_number": message.number})
    _update_quietly(entry.evolve(status=LedgerStatus.FAILED, attempts=entry.attempts + 1,
                                 last_error=_describe(rejection), error_kind=rejection.kind,
                                 updated_at=services.clock()), services)
    if services.writeback is not None:
        _write_back_failed(request.account_id, f"SAP {message.type} {message.id} {message.number}: {message.text}",
                           services)
    return CreateResult(Outcome.REJECTED, entry.account_id, entry.tracking_id, messages=rejection.messages,
                        rejection=message, warnings=warnings, error=_describe(rejection))


def _record_permanent_failure(entry: LedgerEntry, error: SapError, services: Services,
                              warnings: tuple[MappingWarning, ...] = ()) -> CreateResult:
    logger.error("SAP failed permanently", extra={"sap_error": type(error).__name__})
    _update_quietly(entry.evolve(status=LedgerStatus.FAILED, attempts=entry.attempts + 1,
                                 last_error=_describe(error), error_kind=error.kind,
                                 outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                 updated_at=services.clock()), services)
    return CreateResult(Outcome.FAILED, entry.account_id, entry.tracking_id, error=_describe(error),
                        warnings=warnings)


def _record_needs_review(entry: LedgerEntry, request: CustomerRequest, review: SapNeedsReview,
                         services: Services) -> CreateResult:
    """Hold the account for an operator: never created automatically from here on."""
    logger.error("duplicate guard cannot decide; account held for review",
                 extra={"candidates": len(review.candidates)})
    detail = _describe(review)
    _update_quietly(entry.evolve(status=LedgerStatus.NEEDS_REVIEW, attempts=entry.attempts + 1, last_error=detail,
                                 error_kind=review.kind, retry_token=None, payload=request.to_payload(),
                                 updated_at=services.clock()), services)
    return CreateResult(Outcome.NEEDS_REVIEW, entry.account_id, entry.tracking_id, error=detail)


# --------------------------------------------------------------------------- queue path


class RetryOutcome(StrEnum):
    CREATED = "created"
    WRITTEN_BACK = "written_back"
    REQUEUED = "requeued"
    REJECTED = "rejected"
    GAVE_UP = "gave_up"  # attempts exhausted: parked in the poison queue
    SKIPPED = "skipped"  # nothing left to do (already created, or another message owns the account)
    DEFERRED = "deferred"  # a live worker holds the account: the same message comes back later
    NEEDS_REVIEW = "needs_review"  # the duplicate guard could not decide: held for an operator


def retry_create_customer(message: RetryMessage, services: Services) -> RetryOutcome:
    """Handle one retry message. Returns normally when the message is dealt with (done, re-queued
    with backoff, or parked); raises only when it could not even be re-queued, so the host retries it."""
    with sync_context(account_id=message.account_id, tracking_id=message.tracking_id):
        if message.kind is RetryKind.WRITEBACK:
            return _retry_write_back(message, services)
        return _retry_create(message, services)


def _retry_create(message: RetryMessage, services: Services) -> RetryOutcome:
    try:
        request = parse_customer_request(message.payload)
        try:
            live_lengths = _live_lengths(services)
        except SapError:  # driver or interface wrong: the create below fails the same way and is re-queued
            live_lengths = None
        mapped = map_customer_request(request, services.organisation, live_lengths)
    except InvalidCustomerRequest as invalid:
        # Only possible if settings changed since the request was accepted (e.g. a sales area removed).
        logger.error("queued request no longer valid", extra={"fields": [e.field for e in invalid.errors]})
        _store_failure(_ledger_call(services.ledger.get, message.account_id), message,
                       f"invalid request: {invalid}", services)
        return RetryOutcome.REJECTED

    claimed = _claim_for_retry(message, services)
    if claimed is RetryOutcome.DEFERRED:
        # Same message, same attempt, back soon: the holder usually finishes within seconds, and a
        # re-check costs one ledger read (bounded by half the claim window for very long base delays).
        half_window = int(services.stale_claim_after.total_seconds() // 2) or 1
        delay = half_window if message.kind is RetryKind.CHECK else min(services.retry.base_delay_seconds, half_window)
        services.retry_queue.enqueue(message, delay)
        return RetryOutcome.DEFERRED
    if not isinstance(claimed, LedgerEntry):
        return RetryOutcome.SKIPPED
    try:
        created = services.sap.create_customer(_with_guard(mapped, claimed))
    except SapBusinessRejection as rejection:
        _record_rejection(claimed, request, rejection, services)
        return RetryOutcome.REJECTED
    except SapNeedsReview as review:
        _record_needs_review(claimed, request, review, services)
        return RetryOutcome.NEEDS_REVIEW
    except (SapTransientError, SapConfigurationError) as error:
        return _requeue_or_give_up(claimed, message, error, services)
    except SapError as error:
        _record_permanent_failure(claimed, error, services)
        return RetryOutcome.REJECTED
    logger.info("retry succeeded", extra={"attempt": message.attempt + 1})
    _record_created(claimed.evolve(attempts=message.attempt), created, services, (), first_attempt=False)
    return RetryOutcome.CREATED


def _claim_for_retry(message: RetryMessage, services: Services) -> LedgerEntry | RetryOutcome:
    """Mark the entry PENDING for this message (ETag-guarded) so two workers never call SAP together.

    SKIPPED when there is nothing to do or another message owns the account; DEFERRED while a live
    worker (the HTTP path or another copy of this message) holds it.
    """
    for _ in range(5):  # a conflict means the entry moved under us: re-read and decide again
        entry = _ledger_call(services.ledger.get, message.account_id)
        now = services.clock()
        decision = decide_retry(entry, is_check=message.kind is RetryKind.CHECK, message_token=message.retry_token,
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
                return _ledger_call(services.ledger.claim, LedgerEntry(
                    account_id=message.account_id, status=LedgerStatus.PENDING, tracking_id=message.tracking_id,
                    created_at=now, updated_at=now, attempts=message.attempt))
            return _ledger_call(services.ledger.update, decision.claim)
        except LedgerConflict:
            continue
    # Still moving after several rounds: let the host deliver this message again later.
    raise LedgerConflict(f"ledger entry of {message.account_id} kept changing")


def _requeue_or_give_up(entry: LedgerEntry, message: RetryMessage, error: SapError,
                        services: Services) -> RetryOutcome:
    follow_up = replace(message.next_attempt(_describe(error), retry_token=_new_retry_token()), kind=RetryKind.CREATE)
    attempts = follow_up.attempt
    if attempts >= services.retry.max_attempts:
        services.retry_queue.send_to_poison(follow_up)  # raises RetryQueueUnavailable: the host retries
        logger.error("giving up after %d attempts; message parked in the poison queue", attempts)
        _store_failure(entry.evolve(outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                    error_kind=error.kind),
                       follow_up, f"gave up after {attempts} attempts: {_describe(error)}", services)
        return RetryOutcome.GAVE_UP
    services.retry_queue.enqueue(follow_up, _retry_delay(attempts, error, services))
    _log_sap_problem(error, attempts, queued=True)
    _update_quietly(entry.evolve(status=LedgerStatus.QUEUED, attempts=attempts, last_error=_describe(error),
                                 error_kind=error.kind, retry_token=follow_up.retry_token,
                                 outcome_unknown=entry.outcome_unknown or error.outcome_unknown,
                                 updated_at=services.clock()), services)
    return RetryOutcome.REQUEUED


def _store_failure(entry: LedgerEntry | None, message: RetryMessage, error: str, services: Services) -> None:
    if entry is None:
        return
    _update_quietly(entry.evolve(status=LedgerStatus.FAILED, attempts=message.attempt, last_error=error[:1000],
                                 updated_at=services.clock()), services)
    if services.writeback is not None:
        _write_back_failed(message.account_id, error, services)


# --------------------------------------------------------------------------- write-back


def _write_back_created(entry: LedgerEntry, customer_number: str, services: Services, attempt: int) -> WriteBackStatus:
    """Write the number to Salesforce; when Salesforce is down or refuses our login, queue the
    write-back on its own (it never goes near SAP again, so it cannot create a second customer)."""
    assert services.writeback is not None
    try:
        services.writeback.record_created(entry.account_id, customer_number, services.clock())
    except (SalesforceUnavailable, SalesforceAuthenticationFailed) as error:
        message = RetryMessage(kind=RetryKind.WRITEBACK, account_id=entry.account_id, tracking_id=entry.tracking_id,
                               payload={}, attempt=attempt + 1, first_seen_at=entry.created_at.isoformat(),
                               last_error=str(error), customer_number=customer_number)
        try:
            services.retry_queue.enqueue(message, _write_back_delay(attempt + 1, error, services))
        except RetryQueueUnavailable:
            # The customer exists and the ledger says so; the write-back is visibly outstanding.
            logger.error("write-back could not be queued; ledger shows it pending")
            _set_writeback(entry.account_id, WriteBackStatus.PENDING, services, last_error=f"write-back: {error}")
            return WriteBackStatus.PENDING
        logger.warning("write-back queued: %s", type(error).__name__, extra={"attempt": attempt + 1})
        _set_writeback(entry.account_id, WriteBackStatus.QUEUED, services, last_error=f"write-back: {error}")
        return WriteBackStatus.QUEUED
    except SalesforceError as error:
        # Rejected (account deleted, field not deployed): the same call fails again; the ledger keeps
        # the customer number and shows the problem for a person to fix.
        logger.error("write-back rejected: %s", type(error).__name__)
        _set_writeback(entry.account_id, WriteBackStatus.FAILED, services, last_error=f"write-back: {error}")
        return WriteBackStatus.FAILED
    _set_writeback(entry.account_id, WriteBackStatus.DONE, services)
    return WriteBackStatus.DONE


def _write_back_delay(attempt: int, error: SalesforceError, services: Services) -> int:
    if isinstance(error, SalesforceAuthenticationFailed):
        # Repeated failed logins can lock the integration user: wait the longest delay every time.
        return services.retry.max_delay_seconds
    return _retry_delay(attempt, None, services)


def _retry_write_back(message: RetryMessage, services: Services) -> RetryOutcome:
    if services.writeback is None or message.customer_number is None:
        return RetryOutcome.SKIPPED
    entry = _ledger_call(services.ledger.get, message.account_id)
    if entry is not None and entry.writeback is WriteBackStatus.DONE:
        return RetryOutcome.SKIPPED
    try:
        services.writeback.record_created(message.account_id, message.customer_number, services.clock())
    except (SalesforceUnavailable, SalesforceAuthenticationFailed) as error:
        follow_up = message.next_attempt(str(error))
        attempts = follow_up.attempt
        if attempts >= services.retry.max_attempts:
            services.retry_queue.send_to_poison(follow_up)
            logger.error("write-back: giving up after %d attempts; parked in the poison queue", attempts)
            _set_writeback(message.account_id, WriteBackStatus.PENDING, services,
                           last_error=f"write-back gave up after {attempts} attempts: {error}")
            return RetryOutcome.GAVE_UP
        services.retry_queue.enqueue(follow_up, _write_back_delay(attempts, error, services))
        _set_writeback(message.account_id, WriteBackStatus.QUEUED, services, last_error=f"write-back: {error}")
        return RetryOutcome.REQUEUED
    except SalesforceRejected as error:
        logger.error("write-back rejected by Salesforce")
        _set_writeback(message.account_id, WriteBackStatus.FAILED, services, last_error=f"write-back: {error}")
        return RetryOutcome.REJECTED
    _set_writeback(message.account_id, WriteBackStatus.DONE, services)
    logger.info("write-back done")
    return RetryOutcome.WRITTEN_BACK


def _write_back_failed(account_id: str, error: str, services: Services) -> None:
    assert services.writeback is not None
    try:
        services.writeback.record_failed(account_id, error, services.clock())
    except SalesforceError as problem:
        # The ledger holds the failure; the status endpoint and the logs show it.
        logger.warning("could not write the failure to Salesforce: %s", type(problem).__name__)


def _set_writeback(account_id: str, status: WriteBackStatus, services: Services, last_error: str | None = None) -> None:
    """Record the write-back state; best effort, because SAP's customer exists whatever happens here
    (a failure is logged and the status shows the previous state)."""
    try:
        for _ in range(3):
            entry = services.ledger.get(account_id)
            if entry is None or (entry.writeback is status and entry.last_error == last_error):
                return
            try:
                services.ledger.update(entry.evolve(writeback=status, last_error=last_error,
                                                    updated_at=services.clock()))
                return
            except LedgerConflict:
                continue
    except Exception as error:  # storage down after SAP succeeded: the answer must still be the number
        logger.error("ledger update of the write-back state failed: %s", type(error).__name__)


# --------------------------------------------------------------------------- status


class CannotResolve(Exception):
    """The account is not in a state an operator's resolve applies to (message says why)."""


def resolve_needs_review(account_id: str, services: Services, *, customer_number: str | None = None,
                         create: bool = False) -> LedgerEntry:
    """An operator's decision on an account held for review.

    `customer_number`: this SAP customer is the account's (the operator checked it in SAP); the
    ledger records it as adopted and the number is written back. `create`: no earlier attempt
    created one; the held request is queued and created without searching again.
    """
    if (customer_number is None) == (not create):
        raise ValueError("give either customer_number or create=True")
    entry = _ledger_call(services.ledger.get, account_id)
    if entry is None:
        raise CannotResolve(f"no ledger entry for {account_id}")
    if entry.status is not LedgerStatus.NEEDS_REVIEW:
        raise CannotResolve(f"{account_id} is {entry.status.value}; only needs_review accounts are resolved")
    with sync_context(account_id=account_id, tracking_id=entry.tracking_id):
        if customer_number is not None:
            number = customer_number.strip()
            number = number.zfill(10) if number.isdigit() else number
            if not number or len(number) > 10:
                raise CannotResolve(f"'{customer_number}' is not an SAP customer number (at most 10 characters)")
            logger.warning("operator resolved the account to an existing SAP customer",
                           extra={"customer_number": number})
            created = SapCustomerCreated(number, adopted=True)
            _record_created(entry.evolve(attempts=max(entry.attempts - 1, 0)), created, services, (),
                            first_attempt=False)
            return _ledger_call(services.ledger.get, account_id) or entry
        if entry.payload is None:
            raise CannotResolve(f"{account_id} holds no request to create from; have the flow send it again")
        message = RetryMessage(kind=RetryKind.CREATE, account_id=account_id, tracking_id=entry.tracking_id,
                               payload=dict(entry.payload), attempt=0, first_seen_at=entry.created_at.isoformat(),
                               last_error="operator: create", retry_token=_new_retry_token())
        try:
            services.retry_queue.enqueue(message, 0)
        except RetryQueueUnavailable:
            raise StorageUnavailable("the create could not be queued; nothing changed") from None
        logger.warning("operator resolved the account: create without searching")
        # The operator vouches that no earlier attempt created a customer: no search before this create.
        return _ledger_call(services.ledger.update, entry.evolve(
            status=LedgerStatus.QUEUED, retry_token=message.retry_token, outcome_unknown=False, payload=None,
            last_error="operator chose to create", error_kind=None, updated_at=services.clock()))


def account_status(account_id: str, ledger: Ledger) -> LedgerEntry | None:
    """The ledger's entry for the account (only the ledger: status needs no SAP connection)."""
    return _ledger_call(ledger.get, account_id)


# --------------------------------------------------------------------------- helpers


def _retry_delay(attempt: int, error: SapError | None, services: Services) -> int:
    if isinstance(error, SapConfigurationError):
        # A failed logon repeated quickly locks the SAP user: wait the longest delay every time.
        return services.retry.max_delay_seconds
    return backoff_seconds(attempt, services.retry.base_delay_seconds, services.retry.max_delay_seconds)


def _new_retry_token() -> str:
    return uuid.uuid4().hex


_CATEGORIES = {
    SapNeedsReview: "held for review",
    SapOutcomeUnknown: "SAP unavailable, outcome unknown",
    SapTransientError: "SAP unavailable",
    SapConfigurationError: "SAP configuration problem",
    SapBusinessRejection: "SAP rejected",
    SapPermanentError: "SAP error",
}


def _category(error: SapError) -> str:
    """What the caller is told: the kind of problem, not SAP's host names or RFC details."""
    label = next((text for cls, text in _CATEGORIES.items() if isinstance(error, cls)), "SAP error")
    return f"{label} ({error.detail.split(':', 1)[0]})" if ":" in error.detail else label


_KIND_LABELS = {error_class.kind: label for error_class, label in reversed(_CATEGORIES.items())}


def _category_of_stored(entry: LedgerEntry) -> str | None:
    """What the caller is told about a stored failure: its kind's label, from the stored kind."""
    if entry.error_kind is None:
        return None
    return _KIND_LABELS.get(entry.error_kind, "SAP error")


def _describe(error: SapError) -> str:
    label = next((text for cls, text in _CATEGORIES.items() if isinstance(error, cls)), "SAP error")
    return f"{label}: {error.detail}"[:1000]


def _log_sap_problem(error: SapError, attempt: int, queued: bool) -> None:
    if isinstance(error, SapConfigurationError):
        logger.error("SAP configuration problem (check SAP_USER/SAP_PASSWORD and the RFC user); "
                     "retry in the longest delay", extra={"attempt": attempt, "sap_error": type(error).__name__})
    else:
        logger.warning("SAP unavailable; %s", "queued for retry" if queued else "failed",
                       extra={"attempt": attempt, "sap_error": type(error).__name__})


def _ledger_call(operation: Callable[..., _T], *args: object) -> _T:
    try:
        return operation(*args)
    except LedgerUnavailable as error:
        raise StorageUnavailable(str(error)) from error


def _update_quietly(entry: LedgerEntry, services: Services) -> LedgerEntry:
    """Record progress; a failure here must not undo what SAP already did, so it is logged, not raised."""
    try:
        return services.ledger.update(entry)
    except Exception as error:  # the outcome is already fixed; the ledger catches up on the next event
        logger.error("ledger update failed: %s", type(error).__name__)
        return entry


def _release(entry: LedgerEntry, services: Services) -> None:
    try:
        services.ledger.delete(entry)
    except Exception as error:  # stale PENDING claims are taken over after stale_claim_after anyway
        logger.error("could not release the ledger claim: %s", type(error).__name__)
