"""What every use case shares: the ports (`Services`), the answers, and how failures are told.

The composition root (shared/bootstrap/) fills `Services`; the use cases in this package are plain
functions over it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES
from shared.core.change_rules import ConflictRule
from shared.core.claims import DEFAULT_STALE_CLAIM_AFTER, ClaimWindows
from shared.core.ledger import LedgerEntry, WriteBackStatus
from shared.core.models import MappingWarning
from shared.core.organization import SapOrganization
from shared.core.ownership import OWNED_FIELDS, OwnedField
from shared.core.retry_policy import RetryPolicy
from shared.salesforce.port import (
    AccountWriteBack,
)
from shared.sap import (
    SapError,
    SapGateway,
    SapMessage,
)
from shared.storage.port import Ledger, LedgerUnavailable, RetryQueue
from shared.telemetry.port import NoMetrics, SyncMetrics

logger = logging.getLogger(__name__)


_T = TypeVar("_T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_tracking_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Services:
    """The ports the use cases need; the composition root (shared/bootstrap/) fills them."""

    sap: SapGateway
    ledger: Ledger
    retry_queue: RetryQueue
    organization: SapOrganization
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    writeback: AccountWriteBack | None = None  # None: the flow writes back (or nobody)
    # A PENDING claim older than this belongs to a worker that died; another may take it over. It must
    # exceed the longest SAP unit of work: the composition root derives it (shared.core.claims, the claim window).
    stale_claim_after: timedelta = DEFAULT_STALE_CLAIM_AFTER
    clock: Callable[[], datetime] = utc_now
    new_tracking_id: Callable[[], str] = new_tracking_id
    # Where outcomes are counted (sapsync.creates); the composition root passes OpenTelemetry's when on.
    metrics: SyncMetrics = field(default_factory=NoMetrics)
    # The Account Type values that mean "customer" (SALESFORCE_CUSTOMER_TYPES): the push path's test.
    customer_types: tuple[str, ...] = DEFAULT_CUSTOMER_TYPES
    # SAP_GUARD_SEARCH_SINCE: while set, the duplicate guard searches SAP before every create, for a customer
    # made since this moment (the ledger may have lost writes since then: shared.core.guard_window).
    guard_search_since: datetime | None = None
    # The change path (issue 26): the fields Salesforce owns (SALESFORCE_OWNED_FIELDS) and what a change does
    # with a value someone changed in SAP since our last change (SAP_CHANGE_CONFLICT).
    owned_fields: tuple[OwnedField, ...] = OWNED_FIELDS
    change_conflict: ConflictRule = ConflictRule.SALESFORCE_WINS

    @property
    def windows(self) -> ClaimWindows:
        return ClaimWindows.from_bounds(self.stale_claim_after, self.retry.max_delay_seconds)


# The outcome enums, each one audience's contract, so they share words ("queued", "needs_review") but not
# their sets of states, and none is merged into another: Outcome (the create's HTTP answer, its `status`
# field: the connector's and the flow's contract), RetryOutcome (what one queue message came to),
# shared.usecases.push PushOutcome (one outbound-message notification), shared.telemetry.port SyncOutcome
# (the `outcome` dimension of sapsync.creates, the workbook's funnel), shared.core.ledger LedgerStatus and
# WriteBackStatus (stored in the ledger table), shared.core.reconcile ReconcileAction (the operator's
# reconcile decision). Changing one's values changes what a client, a dashboard or a stored row reads.
class Outcome(StrEnum):
    CREATED = "created"  # 201: SAP created the customer now
    ALREADY_EXISTS = "already_exists"  # 200: the account already has an SAP customer
    QUEUED = "queued"  # 202: SAP unreachable or busy; the retry queue will create it
    IN_PROGRESS = "in_progress"  # 202: another request for the same account is creating it
    REJECTED = "rejected"  # 422: SAP refused the data; a person must fix the account
    FAILED = "failed"  # 502: SAP failed in a way retrying will not heal (e.g. ABAP runtime error)
    # 409: an earlier attempt may have created the customer and the guard cannot tell: held for an operator
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


class RetryOutcome(StrEnum):
    CREATED = "created"
    WRITTEN_BACK = "written_back"
    REQUEUED = "requeued"
    REJECTED = "rejected"
    GAVE_UP = "gave_up"  # attempts exhausted: parked in the poison queue
    SKIPPED = "skipped"  # nothing left to do (already created, or another message owns the account)
    DEFERRED = "deferred"  # a live worker holds the account: the same message comes back later
    NEEDS_REVIEW = "needs_review"  # the duplicate guard could not decide: held for an operator
    CHANGED = "changed"  # a change message's change reached SAP (or SAP held its values already)


class StorageUnavailable(Exception):
    """Neither ledger nor queue could record the request: the caller must send it again (HTTP 503)."""

    kind = "transient"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "storage unavailable"


class SapNotReady(Exception):
    """The SAP side is set up wrongly in a way no retry heals (driver or SDK missing, the live system's
    interface lacks what we send): nothing was recorded; HTTP 503 `configuration`."""

    kind = "misconfigured"
    label = "SAP configuration problem"


def new_retry_token() -> str:
    return uuid.uuid4().hex


def new_claim_id() -> str:
    """The id of one claim attempt (LedgerEntry.claim_id): its writer, and only it, knows the claim as its own."""
    return uuid.uuid4().hex


def category(error: SapError) -> str:
    """What the caller is told: the kind of problem (its class's `label`), not SAP's host names or RFC details."""
    label = error.label
    return f"{label} ({error.detail.split(':', 1)[0]})" if ":" in error.detail else label


def _kind_labels() -> dict[str, str]:
    """The label of each stored kind, read from the class that introduces the kind (the first, walking down
    from SapError: shared/sap/errors.py's table), so a kind's label is named once, on its class."""
    labels: dict[str, str] = {}
    pending: list[type[SapError]] = [SapError]
    while pending:
        error_class = pending.pop(0)
        if "kind" in vars(error_class):
            labels.setdefault(error_class.kind, error_class.label)
        pending.extend(error_class.__subclasses__())
    return labels


_KIND_LABELS = _kind_labels()


def category_of_stored(entry: LedgerEntry) -> str | None:
    """What the caller is told about a stored failure: its kind's label, from the stored kind."""
    if entry.error_kind is None:
        return None
    return _KIND_LABELS.get(entry.error_kind, "SAP error")


# The SAP address in an RFC library message ("partner 'sap01.corp:3300' not reached", "ASHOST=10.1.2.3"):
# the ledger's lastError is shown by the status API, which a flow's owner may read; the address is not theirs.
_SAP_ADDRESS = re.compile(r"(?i)(partner\s+')[^']*(')|\b((?:as|ms|gw)host\s*[=:]\s*)\S+")


def describe(error: SapError) -> str:
    """What the ledger keeps of an error (and the status API shows): its category and detail, without
    the SAP system's address."""
    label = error.label
    detail = _SAP_ADDRESS.sub(
        lambda m: f"{m.group(1)}***{m.group(2)}" if m.group(1) else f"{m.group(3)}***", error.detail
    )
    return f"{label}: {detail}"[:1000]


def ledger_call(operation: Callable[..., _T], *args: object) -> _T:
    try:
        return operation(*args)
    except LedgerUnavailable as error:
        raise StorageUnavailable(str(error)) from error


def release(entry: LedgerEntry, services: Services) -> None:
    try:
        services.ledger.delete(entry)
    except Exception as error:  # stale PENDING claims are taken over after stale_claim_after anyway
        logger.error("could not release the ledger claim: %s", type(error).__name__)
