"""An account's state, the create's outcome as the ledger has it now, and an operator's decision on an
account held for review."""

from __future__ import annotations

import logging
import re

from shared.core.guard import customer_key
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.retry_message import RetryKind, RetryMessage
from shared.log import sync_context
from shared.sap import (
    SapBusinessRejection,
    SapCustomerCreated,
)
from shared.storage.port import Ledger, RetryQueueUnavailable
from shared.usecases.attempt_records import record_created
from shared.usecases.services import (
    CreateResult,
    Outcome,
    Services,
    StorageUnavailable,
    category_of_stored,
    ledger_call,
    new_retry_token,
)

logger = logging.getLogger(__name__)


class CannotResolve(Exception):
    """The account is not in a state an operator's resolve applies to (message says why)."""

    kind = "rejected"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "cannot resolve"


class CustomerHeldByAnotherAccount(CannotResolve):
    """The SAP customer the operator named is the ledger's for another account: one customer never serves two
    accounts (the operator checks the other account, `admin status`, before anything changes)."""


def named_by_guard(entry: LedgerEntry, customer_number: str) -> bool:
    """Whether the duplicate guard named this customer when it held the account (its candidates; an entry held
    before they were recorded names them only in lastError)."""
    number = customer_key(customer_number)
    if entry.review_candidates:
        return number in entry.review_candidates
    unpadded = re.escape(number.lstrip("0") or "0")
    return re.search(rf"(?<![0-9A-Z])0*{unpadded}(?![0-9A-Z])", entry.last_error or "") is not None


def resolve_needs_review(
    account_id: str, services: Services, *, customer_number: str | None = None, create: bool = False
) -> LedgerEntry:
    """An operator's decision on an account held for review.

    `customer_number`: this SAP customer is the account's (the operator checked it in SAP); the
    ledger records it as adopted and the number is written back, unless the ledger holds it for another
    account (CustomerHeldByAnotherAccount). `create`: no earlier attempt created one; the held request is
    queued and created without searching. Should that create's outcome be unknown again, the next search
    starts at this resolve and leaves out the candidates the operator rejected (search_from,
    rejected_customers): the operator's decision is not asked again.
    """
    if (customer_number is None) == (not create):
        raise ValueError("give either customer_number or create=True")
    entry = ledger_call(services.ledger.get, account_id)
    if entry is None:
        raise CannotResolve(f"no ledger entry for {account_id}")
    if entry.status is not LedgerStatus.NEEDS_REVIEW:
        raise CannotResolve(f"{account_id} is {entry.status.value}; only needs_review accounts are resolved")
    with sync_context(account_id=account_id, tracking_id=entry.tracking_id):
        if customer_number is not None:
            number = customer_key(customer_number)
            if not number or len(number) > 10:
                raise CannotResolve(f"'{customer_number}' is not an SAP customer number (at most 10 characters)")
            holder = ledger_call(services.ledger.hold_customer, number, account_id)
            if holder != account_id:
                raise CustomerHeldByAnotherAccount(
                    f"SAP customer {number} is the ledger's for account {holder}, not {account_id}; nothing "
                    f"changed (check it with: python -m admin status {holder})"
                )
            logger.warning(
                "operator resolved the account to an existing SAP customer", extra={"customer_number": number}
            )
            created = SapCustomerCreated(number, adopted=True)
            record_created(
                entry.evolve(attempts=max(entry.attempts - 1, 0)), created, services, (), first_attempt=False
            )
            return ledger_call(services.ledger.get, account_id) or entry
        if entry.payload is None:
            raise CannotResolve(f"{account_id} holds no request to create from; have the flow send it again")
        message = RetryMessage(
            kind=RetryKind.CREATE,
            account_id=account_id,
            tracking_id=entry.tracking_id,
            payload=dict(entry.payload),
            attempt=0,
            first_seen_at=entry.created_at.isoformat(),
            last_error="operator: create",
            retry_token=new_retry_token(),
        )
        try:
            services.retry_queue.enqueue(message, 0)
        except RetryQueueUnavailable:
            raise StorageUnavailable("the create could not be queued; nothing changed") from None
        logger.warning("operator resolved the account: create without searching")
        # The operator vouches that no earlier attempt created a customer: no search before this create.
        now = services.clock()
        rejected = tuple(sorted({*entry.rejected_customers, *entry.review_candidates}))
        return ledger_call(
            services.ledger.update,
            entry.evolve(
                status=LedgerStatus.QUEUED,
                retry_token=message.retry_token,
                outcome_unknown=False,
                last_error="operator chose to create",
                error_kind=None,
                updated_at=now,
                rejected_customers=rejected,
                review_candidates=(),
                search_from=now,
            ),
        )


def account_status(account_id: str, ledger: Ledger) -> LedgerEntry | None:
    """The ledger's entry for the account (only the ledger: status needs no SAP connection)."""
    return ledger_call(ledger.get, account_id)


def create_outcome(entry: LedgerEntry, retry_after_seconds: int) -> CreateResult:
    """The create's answer as the ledger has it now: what the flow engine gets when it polls the
    Location of a 202 (functions/customers.py), with the status code the create itself answers.

        pending                        in_progress   (202: poll again)
        queued                         queued        (202: poll again)
        created, with a number         created       (201, the number)
        created, without a number      failed        (never an answer "created" without a number)
        failed, SAP rejected the data  rejected      (422, SAP's reason)
        failed, anything else          failed        (502, the last error: permanent, or attempts ran out)
        needs_review                   needs_review  (held for an operator)

    tests/unit/test_create_customer_http.py holds the table.
    """
    account_id, tracking_id = entry.account_id, entry.tracking_id
    if entry.status is LedgerStatus.PENDING:
        return CreateResult(Outcome.IN_PROGRESS, account_id, tracking_id, retry_after_seconds=retry_after_seconds)
    if entry.status is LedgerStatus.QUEUED:
        return CreateResult(
            Outcome.QUEUED,
            account_id,
            tracking_id,
            error=category_of_stored(entry),
            retry_after_seconds=retry_after_seconds,
        )
    if entry.status is LedgerStatus.CREATED:
        if not entry.customer_number:  # fails closed: the flow writes Synced only with a number
            return CreateResult(
                Outcome.FAILED,
                account_id,
                tracking_id,
                error="the ledger records the account as created but holds no customer number; "
                "an operator checks it (admin status)",
            )
        # The warnings too: a create that was queued tells the flow what was shortened when it polls.
        return CreateResult(
            Outcome.CREATED,
            account_id,
            tracking_id,
            customer_number=entry.customer_number,
            writeback=entry.writeback,
            warnings=entry.warnings,
        )
    if entry.status is LedgerStatus.NEEDS_REVIEW:
        return CreateResult(Outcome.NEEDS_REVIEW, account_id, tracking_id, error=entry.last_error)
    if entry.error_kind == SapBusinessRejection.kind:
        return CreateResult(Outcome.REJECTED, account_id, tracking_id, error=entry.last_error)
    return CreateResult(Outcome.FAILED, account_id, tracking_id, error=entry.last_error or "failed")
