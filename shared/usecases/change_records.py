"""The change's answers (ChangeOutcome, ChangeResult), how its end is recorded in the ledger (issue 26), and
the change messages of the retry queue.

record_change_end    the change claim's end written onto the entry (applied, unchanged, failed, held,
                     queued), re-read and written again when something else wrote the entry meanwhile
queue_change         a change message: behind a create in hand, behind a live change claim, or the next
                     attempt after SAP was unavailable
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared.core.change_mapping import MappedChange
from shared.core.change_request import ChangeRequest
from shared.core.ledger import ChangeStatus, LedgerEntry
from shared.core.models import MappingWarning
from shared.core.personal_data import without_personal_values
from shared.core.retry_message import RetryKind, RetryMessage
from shared.salesforce.port import SalesforceError
from shared.sap import SapBusinessRejection, SapMessage
from shared.storage.port import LedgerConflict
from shared.usecases.services import Services, describe
from shared.usecases.writeback import write_back_failed

logger = logging.getLogger(__name__)


class ChangeOutcome(StrEnum):
    """The change's answer (`change` in the HTTP body; the connector's and the flow's contract)."""

    APPLIED = "applied"  # 200: SAP took the owned fields that differed
    UNCHANGED = "unchanged"  # 200: nothing owned differed (or SAP held the new values already)
    STALE = "stale"  # 200: not newer than the last change applied: acknowledged, ignored
    QUEUED = "queued"  # 202: SAP unavailable, or another change of the account is at SAP now
    FOLDED = "folded"  # 202: the create is still in hand; the change follows it
    NOT_SYNCED = "not_synced"  # 404: the ledger knows no SAP customer for the account
    NEEDS_REVIEW = "needs_review"  # 409: held (the create, or this change's conflict under `review`)
    REJECTED = "rejected"  # 422: SAP refused the change (its message written back)
    FAILED = "failed"  # 502: SAP failed in a way retrying will not heal


@dataclass(frozen=True)
class ChangeResult:
    outcome: ChangeOutcome
    account_id: str
    customer_number: str | None = None
    changed_fields: tuple[str, ...] = ()  # business names (shared/core/ownership.py), never BAPI fields
    warnings: tuple[MappingWarning, ...] = ()
    rejection: SapMessage | None = None
    error: str | None = None
    conflicts: tuple[str, ...] = ()  # business names of fields someone changed in SAP
    retry_after_seconds: int | None = None


@dataclass(frozen=True)
class ChangeEnd:
    """What a change ended in, as the ledger keeps it. `modstamp` and `applied_digests` only when SAP holds
    the change's values now (applied, or unchanged): then they become the entry's."""

    status: ChangeStatus
    error: str | None = None
    modstamp: datetime | None = None
    applied_digests: dict[str, str] | None = None
    warnings: tuple[MappingWarning, ...] | None = None
    review: dict[str, object] | None = None
    # The outcome is unknown (the line broke after the change was sent): the claim stays, renewed now, so no
    # other change reaches SAP before the unit that may still commit is surely over (change_claim_is_live).
    keep_claim: bool = False


def _with_end(entry: LedgerEntry, end: ChangeEnd, now: datetime) -> LedgerEntry:
    changes: dict[str, object] = {
        "change_status": end.status,
        "change_error": end.error,
        "change_claimed_at": now if end.keep_claim else None,
        "last_change_at": now,
        "change_review": end.review,
        "updated_at": now,
    }
    if end.modstamp is not None:
        # Never backwards: a stale claim's worker finishing late must not undo a newer change's stamp.
        newest = entry.change_modstamp
        changes["change_modstamp"] = end.modstamp if newest is None or end.modstamp > newest else newest
        changes["applied_digests"] = end.applied_digests
    if end.warnings is not None:
        changes["warnings"] = end.warnings
    return entry.evolve(**changes)


def record_change_end(claimed: LedgerEntry, end: ChangeEnd, services: Services) -> LedgerEntry | None:
    """Write the change's end over the claim. Another write since the claim (a write-back's state, say) makes
    the ETag-guarded write fail: the entry is read again and, while the claim is still this worker's, the
    end is written onto it. A claim taken over (this worker was too slow) is left to its new holder.
    A failure of storage is logged, never raised: SAP already did what it did (the next change, or this
    message's copy, finds the claim stale and applies again, which is harmless)."""
    entry: LedgerEntry | None = claimed
    try:
        for _ in range(4):
            assert entry is not None
            try:
                return services.ledger.update(_with_end(entry, end, services.clock()))
            except LedgerConflict:
                entry = services.ledger.get(claimed.account_id)
                if entry is None or entry.change_claimed_at != claimed.change_claimed_at:
                    logger.warning("change claim taken over meanwhile; its holder records the account")
                    return None
    except Exception as error:  # the outcome is fixed in SAP; the ledger catches up on the next change
        logger.error("ledger update of the change failed: %s", type(error).__name__)
    return None


def change_message(
    change: ChangeRequest, entry: LedgerEntry, attempt: int = 0, last_error: str | None = None
) -> RetryMessage:
    return RetryMessage(
        kind=RetryKind.CHANGE,
        account_id=change.account_id,
        tracking_id=entry.tracking_id,
        payload=change.to_payload(),
        attempt=attempt,
        first_seen_at=entry.created_at.isoformat(),
        last_error=last_error,
        customer_number=entry.customer_number,
    )


def queue_change(message: RetryMessage, delay_seconds: int, services: Services) -> None:
    """Queue a change message. Raises RetryQueueUnavailable (nothing queued): the caller answers 503."""
    services.retry_queue.enqueue(message, delay_seconds)


def record_change_rejection(
    change: ChangeRequest,
    entry: LedgerEntry,
    mapped: MappedChange,
    rejection: SapBusinessRejection,
    services: Services,
) -> ChangeResult:
    """SAP refused the change: failed, with SAP's message (personal values masked) kept and written back; the
    customer stays synced, and the next valid change applies."""
    # SAP's texts may quote what was sent: masked with the request's personal values, like the create's.
    payload = change.request.to_payload()
    rejection = SapBusinessRejection(
        tuple(replace(m, text=without_personal_values(m.text, payload)) for m in rejection.messages)
    )
    message = rejection.message
    logger.warning(
        "SAP rejected the change", extra={"sap_message_id": message.id, "sap_message_number": message.number}
    )
    record_change_end(entry, ChangeEnd(ChangeStatus.FAILED, describe(rejection)), services)
    if services.writeback is not None:
        write_back_failed(
            change.account_id, f"SAP {message.type} {message.id} {message.number}: {message.text}", services
        )
    return ChangeResult(
        ChangeOutcome.REJECTED,
        change.account_id,
        entry.customer_number,
        rejection=message,
        error=describe(rejection),
        warnings=mapped.warnings,
    )


def clear_failed_change(entry: LedgerEntry, warnings: tuple[MappingWarning, ...], services: Services) -> None:
    """The last change failed and this one applied: Synced again, the error field cleared (best effort)."""
    assert services.writeback is not None and entry.customer_number is not None
    try:
        services.writeback.record_created(entry.account_id, entry.customer_number, services.clock(), warnings)
    except SalesforceError as problem:
        logger.warning("could not clear the failed change in Salesforce: %s", type(problem).__name__)
