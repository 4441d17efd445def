"""The ledger entry: one per Salesforce account, the memory that makes creates exactly-once (pure data;
the port is shared.storage.port.Ledger)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from shared.core.models import MappingWarning


class LedgerStatus(StrEnum):
    PENDING = "pending"  # claimed: a create is under way right now
    QUEUED = "queued"  # a transient failure: the retry queue owns it
    CREATED = "created"  # SAP has the customer; customer_number is set
    FAILED = "failed"  # permanent: SAP rejected the data, or attempts ran out
    # An earlier attempt may have created the customer and the duplicate guard cannot tell which (or
    # whether): never created automatically; an operator resolves it (`python -m admin resolve`).
    NEEDS_REVIEW = "needs_review"


class ChangeStatus(StrEnum):
    """Where the account's last change (issue 26, shared/usecases/change.py) stands; NONE: none yet."""

    NONE = "none"
    IN_PROGRESS = "in_progress"  # a worker holds the change claim (change_claimed_at) and is at SAP now
    QUEUED = "queued"  # SAP unavailable: a change message of the retry queue carries it
    APPLIED = "applied"  # SAP took the owned fields that differed
    UNCHANGED = "unchanged"  # nothing owned differed from what SAP was last given (or SAP held it already)
    FAILED = "failed"  # SAP rejected the change (change_error: its message); the next valid change applies
    # SAP holds a value someone changed there since our last change, and SAP_CHANGE_CONFLICT=review:
    # nothing was sent; change_review keeps both values; a later change decides again on SAP's values then.
    NEEDS_REVIEW = "needs_review"


class WriteBackStatus(StrEnum):
    NOT_NEEDED = "not_needed"  # write-back is off or done by the flow
    PENDING = "pending"
    DONE = "done"
    QUEUED = "queued"
    # Salesforce answered permanently (account deleted, field not deployed, no access), or the write-back
    # gave up after its last attempt (its message is in the poison queue; `admin poison replay` sends it
    # again): nothing retries it on its own; the status API and `admin status` show it with lastError.
    FAILED = "failed"


@dataclass(frozen=True)
class LedgerEntry:
    account_id: str
    status: LedgerStatus
    tracking_id: str
    created_at: datetime
    updated_at: datetime
    customer_number: str | None = None
    attempts: int = 0
    last_error: str | None = None
    writeback: WriteBackStatus = WriteBackStatus.NOT_NEEDED
    # Identifies the one retry message that owns a QUEUED entry; copies of older messages (host
    # redeliveries, replays) carry another token and are dropped.
    retry_token: str | None = None
    # Which attempt wrote the PENDING claim, or the in-progress change claim of a CREATED entry: a fresh id per
    # claim (shared.usecases.services.new_claim_id), so a worker whose claim write was stored but answered with
    # an error (a lost answer: a timeout, then the SDK's retry refused with 412) knows the claim as its own on
    # reading (shared.core.claims.own_claim, shared.core.change_rules.own_change_claim). Meaningless once the
    # claim is over; None: written before this field, or not a claim.
    claim_id: str | None = None
    # The stable kind of last_error (shared.sap.errors: transient, outcome_unknown, misconfigured, ...).
    error_kind: str | None = None
    # An attempt's line broke after the create or commit was sent: SAP may hold the customer, so every
    # later attempt searches before it creates. Cleared only by a created/adopted customer or an operator.
    outcome_unknown: bool = False
    # The customer was found by the duplicate guard (created by an earlier attempt), not created now.
    adopted: bool = False
    # The request while the entry needs review, so an operator's `resolve --create` can send it again.
    payload: dict[str, str] | None = None
    # The SAP customers the duplicate guard named when it held the account for review (what `admin resolve
    # --customer` expects to be given; another number gets a warning).
    review_candidates: tuple[str, ...] = ()
    # SAP customers an operator said are not this account's (`admin resolve --create` rejects the review's
    # candidates): the guard leaves them out of every later search, so they never hold the account again.
    rejected_customers: tuple[str, ...] = ()
    # Where the guard's search window starts when not at the account's first sight (created_at): an
    # operator's `resolve --create` judged everything before it.
    search_from: datetime | None = None
    # What the mapping had to change to fit SAP in the last attempt (a shortened street, a phone left
    # out): field and rule, never the value. Kept with the customer once created.
    warnings: tuple[MappingWarning, ...] = ()
    # --- the change path (issue 26; shared.core.change_rules decides, shared.usecases.change records) ---
    # The owned PI_COMPANYDATA fields as SAP was last given them, as digests (BAPIKNA106 name ->
    # shared.core.ownership.value_digest: never the value; kept at the create too): a change sends only what
    # differs, and a SAP value that is neither the last given nor the new one was changed in SAP (the conflict
    # rule). None: an entry from before the change path (all is sent).
    applied_digests: dict[str, str] | None = None
    # Salesforce's SystemModstamp of the last change applied: an older or equal one is acknowledged, ignored.
    change_modstamp: datetime | None = None
    change_status: ChangeStatus = ChangeStatus.NONE
    last_change_at: datetime | None = None  # when the last change was decided (applied, failed, held, ...)
    change_error: str | None = None  # why the last change failed or is queued (SAP's message), else None
    change_claimed_at: datetime | None = None  # set while change_status is in_progress (the claim's age)
    # Held for review: {"systemModstamp": ..., "fields": [{"field", "sapField", "sap", "salesforce"}]}: both
    # values, for the operator (`admin status`; not the status API); personal data, never logged. Cleared by
    # the change that ends the hold.
    change_review: dict[str, object] | None = None
    # Opaque optimistic-concurrency token (the table's ETag); None for an entry not yet stored.
    etag: str | None = None

    def evolve(self, **changes: object) -> LedgerEntry:
        """A copy with `changes`: what `dataclasses.replace` makes, without calling `__init__`. The entry has
        no `__post_init__` and no field outside `__init__`, so copying the fields is all `replace` does; its
        frozen `__init__` sets each of the 27 fields through `object.__setattr__`, about 20 us a copy on this
        machine, and a create copies an entry four times (bench/README.md, the overhead)."""
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"LedgerEntry has no field {', '.join(sorted(unknown))}")
        evolved = object.__new__(type(self))
        evolved.__dict__.update(self.__dict__)
        evolved.__dict__.update(changes)
        return evolved

    def to_status_json(self) -> dict[str, object]:
        """The account's state as GET /api/customers/{accountId} and `admin status` show it."""
        return {
            "accountId": self.account_id,
            "status": self.status.value,
            "customerNumber": self.customer_number,
            "trackingId": self.tracking_id,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "errorKind": self.error_kind,
            "outcomeUnknown": self.outcome_unknown,
            "adopted": self.adopted,
            "warnings": [warning.to_json() for warning in self.warnings],
            "writeBack": self.writeback.value,
            "lastChangeAt": self.last_change_at.isoformat() if self.last_change_at else None,
            "lastChangeStatus": None if self.change_status is ChangeStatus.NONE else self.change_status.value,
            "lastChangeError": self.change_error,
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
        }


_FIELD_NAMES = frozenset(field.name for field in fields(LedgerEntry))
