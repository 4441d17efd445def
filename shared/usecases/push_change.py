"""The push path's changes (issue 26): a notification of an account the ledger holds as created (or whose
create is in hand), or that Salesforce says holds its SAP number, is a change of that account.

Nothing here calls SAP either: the change is decided from the ledger (shared.core.change_rules) and handed
to the retry queue as a change message (shared.usecases.change.retry_change does it), so the answer to
Salesforce still takes ledger and queue calls only. The notification's SystemModstamp (LastModifiedDate
when the message does not carry it) orders the changes: a copy, or one older than the last change applied,
is acknowledged and ignored here already; the queue's change decides again when it runs.

    no SAP customer in the ledger   ignored (the account was never created here; nothing to change)
    create held for review          ignored (an operator decides the create first)
    stale                           ignored
    create in hand                  queued: the change follows the create (folded)
    created                         queued: the change message applies it
    invalid account data            rejected: written back to the account (SAP_Sync_Error__c), not retried
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.core.change_mapping import map_customer_change
from shared.core.change_request import ChangeRequest
from shared.core.change_rules import CreateHeld, NotSynced, Stale, decide_change
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.models import CustomerRequest, InvalidRequest
from shared.core.outbound_message import AccountChange
from shared.storage.port import RetryQueueUnavailable
from shared.usecases.change_records import change_message, queue_change
from shared.usecases.push_answers import NotificationResult, PushOutcome
from shared.usecases.services import Services, StorageUnavailable, ledger_call
from shared.usecases.writeback import write_back_failed

logger = logging.getLogger(__name__)


def _nothing_new(entry: LedgerEntry, request: CustomerRequest, modstamp: datetime, services: Services) -> str | None:
    """Why a notification the rules would queue adds nothing (a copy of what is in hand), or None. Decided on
    what the ledger holds, so a copy costs no message; the change message decides again when it runs."""
    if entry.change_modstamp is not None and modstamp <= entry.change_modstamp:
        return "not newer than the version the create or the last change gives SAP"
    if entry.status is not LedgerStatus.CREATED:
        # The create in hand: only other values than the ones it carries are a change to follow it.
        return "the create in hand carries these values" if entry.payload == request.to_payload() else None
    if entry.applied_digests is None:
        return None
    try:
        mapped = map_customer_change(request, services.organization, services.owned_fields, entry.applied_digests)
    except InvalidRequest:
        return None  # the change message reports it
    return None if mapped.differing else "no field Salesforce owns differs from what SAP was last given"


def accept_account_change(
    change: AccountChange,
    account_id: str,
    request: CustomerRequest | InvalidRequest,
    entry: LedgerEntry | None,
    services: Services,
) -> NotificationResult:
    """Queue, ignore or reject one notification as a change (the module docstring gives the answers). `entry`:
    the account's ledger entry when the caller has just read it. Raises StorageUnavailable."""
    notification = change.notification_id
    modstamp = change.system_modstamp or change.last_modified
    if modstamp is None:
        reason = "a change without SystemModstamp or LastModifiedDate cannot be ordered"
        logger.warning("notification ignored: %s", reason, extra={"notification_id": notification})
        return NotificationResult(notification, account_id, PushOutcome.IGNORED, reason)
    if isinstance(request, InvalidRequest):
        error = f"invalid account data: {request}"[:1000]
        logger.error(
            "change rejected: invalid account data",
            extra={"notification_id": notification, "fields": [e.field for e in request.errors]},
        )
        if services.writeback is not None:
            write_back_failed(account_id, error, services)
        return NotificationResult(notification, account_id, PushOutcome.REJECTED, error)
    if entry is None:
        entry = ledger_call(services.ledger.get, account_id)
    decision = decide_change(entry, modstamp, services.clock(), services.windows)
    if isinstance(decision, NotSynced | CreateHeld | Stale):
        reason = {
            NotSynced: "no SAP customer in the ledger for this account",
            CreateHeld: "the account's create is held for review",
            Stale: "not newer than the last change applied",
        }[type(decision)]
        logger.info("change notification ignored: %s", reason, extra={"notification_id": notification})
        return NotificationResult(notification, account_id, PushOutcome.IGNORED, reason)
    assert entry is not None
    reason = _nothing_new(entry, request, modstamp, services)
    if reason is not None:
        logger.info("change notification ignored: %s", reason, extra={"notification_id": notification})
        return NotificationResult(notification, account_id, PushOutcome.IGNORED, reason)
    message = change_message(ChangeRequest(request, modstamp), entry)
    try:
        queue_change(message, 0, services)
    except RetryQueueUnavailable:
        raise StorageUnavailable("the change could not be queued; Salesforce sends the message again") from None
    logger.info("change queued", extra={"notification_id": notification})
    return NotificationResult(notification, account_id, PushOutcome.QUEUED)
