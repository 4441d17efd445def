"""The push path: accept the account changes of one Salesforce outbound message by queueing them.

Nothing here calls SAP. Each notification is decided from the account's ledger entry
(shared.core.push_rules), recorded there as QUEUED with the request, and handed to the retry queue
as a create message; the queue trigger (RetryCreateSAPCustomer, shared.usecases.retry) creates the
customer and writes the number back. So the answer to Salesforce takes ledger and queue writes only,
well within its 60-second timeout whatever SAP does, and the ledger keeps it to one customer per
account however often, late or out of order Salesforce delivers.

Answers, and why (Salesforce retries every message that is not acknowledged, for up to 24 hours):
* every notification decided (queued, ignored, or rejected as invalid data): acknowledge. Invalid
  account data is a permanent rejection: retrying could only repeat it, so it is acknowledged and
  made visible instead (the ledger's FAILED entry with the field errors, SAP_Sync_Error__c through
  the write-back, an error log line with the account id);
* storage unavailable: StorageUnavailable (the trigger answers 503): nothing of this message is
  lost, Salesforce sends it again, and what was already queued is ignored then;
* another org's message, or no org configured: refused before anything is read or written.
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor

from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.models import CustomerRequest, InvalidRequest
from shared.core.outbound_message import AccountChange, OutboundMessage, account_change, is_from_organization
from shared.core.push_rules import ClaimNew, Resume, Skip, TakeOver, decide_push
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.salesforce_id import InvalidSalesforceId, normalize_account_id
from shared.core.validation import parse_customer_request
from shared.log import sync_context
from shared.storage.port import LedgerConflict, RetryQueueUnavailable
from shared.usecases import push_change
from shared.usecases.push_answers import NotificationResult as NotificationResult
from shared.usecases.push_answers import PushOutcome as PushOutcome
from shared.usecases.services import Services, StorageUnavailable, ledger_call, new_retry_token
from shared.usecases.writeback import write_back_failed

logger = logging.getLogger(__name__)

# Notifications of one message decided side by side (storage round trips, no SAP).
PARALLEL_NOTIFICATIONS = 8


class PushNotConfigured(Exception):
    """No Salesforce organization is configured: every message is refused (fail closed)."""

    kind = "misconfigured"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "push path not configured"


class ForeignOrganization(Exception):
    """The message names another Salesforce organization than the configured one."""

    kind = "rejected"
    label = "message from another Salesforce organization"


def receive_outbound_message(
    message: OutboundMessage, organization_id: str | None, services: Services
) -> tuple[NotificationResult, ...]:
    """Decide every notification of a message from `organization_id` (the configured org's Id).

    Raises PushNotConfigured, ForeignOrganization (nothing read or written) and StorageUnavailable
    (some notifications may be queued already; the resend finds them queued and ignores them).
    """
    if not organization_id:
        raise PushNotConfigured("SALESFORCE_ORGANIZATION_ID is not set; the push path accepts no message")
    if not is_from_organization(message, organization_id):
        logger.warning(
            "outbound message from another Salesforce organization refused", extra={"action_id": message.action_id}
        )
        raise ForeignOrganization("the message comes from another Salesforce organization")
    changes = [account_change(notification) for notification in message.notifications]
    if len(changes) == 1:
        results: tuple[NotificationResult, ...] = (accept_change(changes[0], services),)
    else:
        # Each notification is a few storage round trips; side by side, 100 of them take about as long
        # as a dozen one after another. The ledger's conditional writes keep two notifications of one
        # account apart (they carry the same data anyway: Salesforce reads the record when it sends).
        with ThreadPoolExecutor(
            max_workers=min(PARALLEL_NOTIFICATIONS, len(changes)), thread_name_prefix="push"
        ) as pool:
            # Each task runs in its own copy of this call's context, so the log records keep its ids.
            futures = [
                pool.submit(contextvars.copy_context().run, accept_change, change, services) for change in changes
            ]
            results = tuple(future.result() for future in futures)
    counts = {outcome.value: sum(r.outcome is outcome for r in results) for outcome in PushOutcome}
    logger.info("outbound message accepted", extra={"notifications": len(results), **counts})
    return results


def accept_change(change: AccountChange, services: Services) -> NotificationResult:
    """Queue, ignore or reject one account change (the module docstring gives the answers)."""
    account_id = _account_id(change)
    with sync_context(account_id=account_id or change.account_id):
        if account_id is None:
            # No account to record it against; Salesforce never sends this for an Account notification.
            logger.error(
                "notification without a valid Account Id ignored", extra={"notification_id": change.notification_id}
            )
            return NotificationResult(
                change.notification_id, change.account_id, PushOutcome.REJECTED, "Id: not an Account Id"
            )
        reason = change.not_a_candidate(services.customer_types)
        # An account Salesforce says holds its SAP number is a change (issue 26), whatever else it says.
        if reason is not None and not change.customer_number:
            logger.info("notification ignored: %s", reason, extra={"notification_id": change.notification_id})
            return NotificationResult(change.notification_id, account_id, PushOutcome.IGNORED, reason)
        try:
            request: CustomerRequest | InvalidRequest = parse_customer_request(change.payload)
        except InvalidRequest as invalid:
            request = invalid
        if change.customer_number:
            return accept_account_change(change, account_id, request, None, services)
        return _record(change, account_id, request, services)


def _account_id(change: AccountChange) -> str | None:
    try:
        return normalize_account_id(change.account_id or "")
    except InvalidSalesforceId:
        return None


def _record(
    change: AccountChange, account_id: str, request: CustomerRequest | InvalidRequest, services: Services
) -> NotificationResult:
    # The QUEUED entry this notification writes is owned by this token, in every round: a write stored though
    # its answer was lost (refused on the SDK's retry with 412, or unanswered) is known on the next read.
    token = new_retry_token()
    replaced: LedgerEntry | None = None  # what the last QUEUED write replaced (None: an insert), for an undo
    unanswered = False  # one write went unanswered: the read tells; a second one answers 503
    for round_ in range(4):  # a lost race re-reads and decides again
        # Most notifications are of accounts the ledger has never seen: the first round tries the
        # conditional insert without reading (one round trip less); a conflict means read and decide.
        entry = None if round_ == 0 else ledger_call(services.ledger.get, account_id)
        now = services.clock()
        decision = decide_push(entry, change.last_modified, now, services.windows, retry_token=token)
        if isinstance(decision, Resume):  # only a valid request writes a QUEUED entry
            assert isinstance(request, CustomerRequest)
            logger.info("the queued entry was stored though its answer was lost; queueing its create")
            return _send_create(change, account_id, decision.claim, replaced, request, token, services)
        if isinstance(decision, Skip) and entry is not None and entry.status in _CHANGE_STATES:
            # Created, or its create in hand: the notification's values are a change (issue 26).
            return accept_account_change(change, account_id, request, entry, services)
        if isinstance(decision, Skip):
            logger.info("notification ignored: %s", decision.reason, extra={"notification_id": change.notification_id})
            return NotificationResult(change.notification_id, account_id, PushOutcome.IGNORED, decision.reason)
        try:
            if isinstance(request, InvalidRequest):
                return _reject(change, account_id, entry, decision, request, services)
            replaced = entry
            stored = _write(_queued_entry(change, account_id, decision, request, token, services), decision, services)
        except LedgerConflict:
            continue
        except StorageUnavailable:
            if unanswered or isinstance(request, InvalidRequest):
                raise
            unanswered = True
            logger.warning("the queued entry's write went unanswered; reading whether it was stored")
            continue
        assert isinstance(request, CustomerRequest)
        return _send_create(change, account_id, stored, entry, request, token, services)
    logger.warning(
        "ledger entry kept changing; the notification is left to the work already in hand",
        extra={"notification_id": change.notification_id},
    )
    return NotificationResult(change.notification_id, account_id, PushOutcome.IGNORED, "ledger entry kept changing")


def accept_account_change(
    change: AccountChange,
    account_id: str,
    request: CustomerRequest | InvalidRequest,
    entry: LedgerEntry | None,
    services: Services,
) -> NotificationResult:
    return push_change.accept_account_change(change, account_id, request, entry, services)


# Entries whose notifications go the change path: the customer exists, or its create is in hand (folded).
_CHANGE_STATES = (LedgerStatus.CREATED, LedgerStatus.PENDING, LedgerStatus.QUEUED)


def _write(entry: LedgerEntry, decision: ClaimNew | TakeOver, services: Services) -> LedgerEntry:
    if isinstance(decision, ClaimNew):
        return ledger_call(services.ledger.claim, entry)
    return ledger_call(services.ledger.update, entry)


def _queued_entry(
    change: AccountChange,
    account_id: str,
    decision: ClaimNew | TakeOver,
    request: CustomerRequest,
    token: str,
    services: Services,
) -> LedgerEntry:
    """The QUEUED entry to write: owned by `token`, holding the request."""
    now = services.clock()
    if isinstance(decision, ClaimNew):
        claim = LedgerEntry(
            account_id=account_id,
            status=LedgerStatus.QUEUED,
            tracking_id=services.new_tracking_id(),
            created_at=now,
            updated_at=now,
        )
    else:
        claim = decision.claim
    # The version the create gives SAP orders the changes after it (issue 26): an older notification is stale.
    return claim.evolve(
        retry_token=token,
        payload=request.to_payload(),
        updated_at=now,
        change_modstamp=change.system_modstamp or change.last_modified,
    )


def _send_create(
    change: AccountChange,
    account_id: str,
    stored: LedgerEntry,
    entry: LedgerEntry | None,
    request: CustomerRequest,
    token: str,
    services: Services,
) -> NotificationResult:
    """Queue the create of the QUEUED entry `stored` (which replaced `entry`; None: inserted)."""
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id=account_id,
        tracking_id=stored.tracking_id,
        payload=request.to_payload(),
        attempt=stored.attempts,
        first_seen_at=stored.created_at.isoformat(),
        retry_token=token,
    )
    try:
        # The entry is stored first, so the message can carry it: the create claims it unread.
        services.retry_queue.enqueue(message.with_written_entry(stored), 0)
    except RetryQueueUnavailable:
        _undo(stored, entry, services)
        raise StorageUnavailable("the account could not be queued; Salesforce sends the message again") from None
    with sync_context(tracking_id=stored.tracking_id):
        logger.info("account queued for creation", extra={"notification_id": change.notification_id})
    return NotificationResult(change.notification_id, account_id, PushOutcome.QUEUED)


def _undo(stored: LedgerEntry, previous: LedgerEntry | None, services: Services) -> None:
    """Take the QUEUED entry back so that Salesforce's resend is accepted again. Should this fail too,
    the entry holds the request and the sweep finishes it once it is overdue."""
    try:
        if previous is None:
            services.ledger.delete(stored)
        else:
            services.ledger.update(previous.evolve(etag=stored.etag))
    except Exception as error:
        logger.error("could not take back the queued entry (the sweep finishes it): %s", type(error).__name__)


def _reject(
    change: AccountChange,
    account_id: str,
    entry: LedgerEntry | None,
    decision: ClaimNew | TakeOver,
    invalid: InvalidRequest,
    services: Services,
) -> NotificationResult:
    now = services.clock()
    error = f"invalid account data: {invalid}"[:1000]
    if isinstance(decision, ClaimNew):
        failed = LedgerEntry(
            account_id=account_id,
            status=LedgerStatus.FAILED,
            tracking_id=services.new_tracking_id(),
            created_at=now,
            updated_at=now,
        )
    else:
        failed = decision.claim.evolve(status=LedgerStatus.FAILED, retry_token=None, payload=None)
    stored = _write(failed.evolve(last_error=error, error_kind="invalid_request", updated_at=now), decision, services)
    with sync_context(tracking_id=stored.tracking_id):
        # Field names only: the values may be personal data.
        logger.error(
            "account rejected: invalid account data",
            extra={"notification_id": change.notification_id, "fields": [e.field for e in invalid.errors]},
        )
        if services.writeback is not None:
            write_back_failed(account_id, error, services)
    return NotificationResult(change.notification_id, account_id, PushOutcome.REJECTED, error)
