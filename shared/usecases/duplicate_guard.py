"""The duplicate guard's side of one attempt: the gateway's create, its answer judged against the ledger
(shared.core.guard decides; this module asks the ledger who holds each number and holds the customer for the
account), with the claim renewed before each repeated search. Used by shared.usecases.attempts.attempt_create.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from shared.core.guard import (
    MAX_GUARD_ROUNDS,
    Accept,
    GuardAnswer,
    GuardCandidates,
    GuardCustomer,
    HoldForReview,
    SearchAgain,
    customer_key,
    decide_guard_answer,
)
from shared.core.ledger import LedgerEntry
from shared.core.models import CustomerCreation
from shared.sap import SapCustomerCreated, SapNeedsReview, SapTransientError
from shared.storage.port import LedgerConflict
from shared.usecases.services import Services, ledger_call

logger = logging.getLogger(__name__)


@dataclass
class HeldClaim:
    """The PENDING claim an attempt holds while it calls SAP; the caller records the outcome on `entry` as it is
    after the call. A guard that searches more than once renews the claim (a new ETag) before each repeated
    search: each search is a unit of work of its own, and the stale-claim window covers one unit, so without
    the renewal another worker could take the account over while a later search runs."""

    entry: LedgerEntry


def create_in_sap(creation: CustomerCreation, claim: HeldClaim, services: Services) -> SapCustomerCreated:
    """The gateway's create, its answer judged against the ledger (shared.core.guard), and the customer held
    for the account in the ledger (the reverse entry) before the caller records the result.

    A customer the ledger gives to another account is never the answer: the guard searches again without it
    (and creates when nothing of this account's is left), or the account is held for review. Raises what the
    gateway raises, SapNeedsReview when the guard cannot decide, StorageUnavailable when the ledger cannot be
    asked (SAP may then hold the customer: the claim stays, and the next attempt searches first)."""
    account_id = claim.entry.account_id
    excluded = tuple(creation.excluded_customers)
    for _ in range(MAX_GUARD_ROUNDS):
        review: SapNeedsReview | None = None
        created: SapCustomerCreated | None = None
        try:
            created = services.sap.create_customer(replace(creation, excluded_customers=excluded))
            answer: GuardAnswer = GuardCustomer(created.customer_number, created.adopted)
            # An adopted customer is asked for first: an account created before reverse entries existed holds
            # its number only in its own entry (holder_of finds it), which the conditional insert cannot see.
            # A number created now is new: the insert alone tells.
            holders: dict[str, str | None] = (
                {customer_key(created.customer_number): ledger_call(services.ledger.holder_of, created.customer_number)}
                if created.adopted
                else {}
            )
        except SapNeedsReview as raised:
            review, answer = raised, GuardCandidates(raised.candidates)
            holders = {
                customer_key(number): ledger_call(services.ledger.holder_of, number) for number in raised.candidates
            }
        decision = decide_guard_answer(account_id, answer, holders, excluded)
        if isinstance(decision, Accept):
            holder = ledger_call(services.ledger.hold_customer, decision.number, account_id)
            if holder == account_id:
                if created is None:  # the ledger remembered it: an earlier attempt of this account held it
                    logger.warning(
                        "duplicate guard: the ledger holds SAP customer %s for this account",
                        decision.number,
                        extra={"customer_number": decision.number},
                    )
                    return SapCustomerCreated(decision.number, adopted=True)
                return created
            # Another account's guard adopted this number between our search (or create) and now: it keeps it.
            decision = decide_guard_answer(account_id, answer, {decision.number: holder}, excluded)
        if isinstance(decision, SearchAgain):
            logger.warning(
                "duplicate guard: SAP customer(s) held by other accounts left out; searching again",
                extra={"excluded": len(decision.excluded), "created_now": created is not None and not created.adopted},
            )
            excluded = decision.excluded
            try:
                claim.entry = ledger_call(services.ledger.update, claim.entry.evolve(updated_at=services.clock()))
            except LedgerConflict:
                # Taken over (the claim went stale regardless): nothing of this round is the account's, and the
                # worker holding the claim now finishes it. Transient: the caller's own record of it is refused.
                raise SapTransientError(
                    "the account's claim was taken over while the duplicate guard searched "
                    "again; the worker holding it finishes the account"
                ) from None
            continue
        assert isinstance(decision, HoldForReview)
        if review is not None and set(decision.candidates) == {customer_key(c) for c in review.candidates}:
            raise review
        detail = review.detail if review is not None else decision.reason
        left_out = len(excluded) - len(creation.excluded_customers)
        if left_out:
            detail += f" (left out: {left_out} SAP customer(s) the ledger gives to other accounts)"
        raise SapNeedsReview(detail, decision.candidates)
    raise SapNeedsReview(
        f"the duplicate guard found other accounts' customers {MAX_GUARD_ROUNDS} times in a row; an operator decides"
    )
