"""The duplicate guard's answer judged against the ledger (shared/core/guard.py), as a table."""

from __future__ import annotations

import pytest

from shared.core.guard import (
    Accept,
    GuardCandidates,
    GuardCustomer,
    HoldForReview,
    SearchAgain,
    customer_key,
    decide_guard_answer,
)

A, B, C = "001Dn00000TwinAIAA", "001Dn00000TwinBIAA", "001Dn00000TwinCIAA"
X, Y, Z = "0000100001", "0000100002", "0000100003"

TABLE = [
    # answer                                 holders              excluded  decision
    (GuardCustomer(X, adopted=False), {}, (), Accept(X)),
    (GuardCustomer(X, adopted=True), {}, (), Accept(X)),
    (GuardCustomer(X, adopted=True), {X: A}, (), Accept(X)),
    (GuardCustomer(X, adopted=True), {X: B}, (), SearchAgain((X,))),
    (GuardCustomer(X, adopted=True), {X: B}, (Y,), SearchAgain((X, Y))),
    # created now, but another account's guard adopted the number first: it keeps it, A searches again
    (GuardCustomer(X, adopted=False), {X: B}, (), SearchAgain((X,))),
    # a gateway that ignored the exclusion (an agent older than the app): fail closed
    (GuardCustomer(X, adopted=True), {}, (X,), HoldForReview("", ())),
    (GuardCustomer(X, adopted=True), {X: B}, (X,), HoldForReview("", ())),
    (GuardCandidates((X, Y)), {X: B}, (), SearchAgain((X,))),
    (GuardCandidates((X, Y)), {X: B, Y: C}, (), SearchAgain((X, Y))),
    (GuardCandidates((X, Y)), {}, (), HoldForReview("", (X, Y))),
    (GuardCandidates((X, Y, Z)), {X: B}, (X,), HoldForReview("", (Y, Z))),
    # the ledger remembers the account's own customer (its result write was lost): that one
    (GuardCandidates((X, Y)), {Y: A}, (), Accept(Y)),
    (GuardCandidates((X, Y)), {X: A, Y: B}, (), Accept(X)),
    (GuardCandidates(()), {}, (), HoldForReview("", ())),
    # numbers as an operator types them and as BAPIs answer them are one customer
    (GuardCandidates(("100001", Y)), {X: B}, (), SearchAgain((X,))),
]


@pytest.mark.parametrize(("answer", "holders", "excluded", "expected"), TABLE)
def test_the_guards_answer_is_judged_against_who_the_ledger_gives_each_number_to(answer, holders, excluded, expected):
    decision = decide_guard_answer(A, answer, holders, excluded)

    if isinstance(expected, HoldForReview):
        assert isinstance(decision, HoldForReview) and decision.reason
        assert decision.candidates == expected.candidates
    else:
        assert decision == expected


def test_never_accepts_a_number_the_ledger_gives_to_another_account():
    for answer in (GuardCustomer(X, adopted=True), GuardCustomer(X, adopted=False), GuardCandidates((X,))):
        decision = decide_guard_answer(A, answer, {X: B}, ())
        assert not (isinstance(decision, Accept) and decision.number == X)


def test_a_repeated_search_always_excludes_more_than_before():
    # So the use case's rounds end: each SearchAgain grows the exclusion, else it is a hold.
    decision = decide_guard_answer(A, GuardCandidates((X, Y)), {X: B}, (X,))
    assert isinstance(decision, HoldForReview)


@pytest.mark.parametrize(("typed", "key"), [("100001", X), (" 0000100001 ", X), ("cust01", "CUST01"), (X, X)])
def test_customer_key_spells_a_number_as_sap_answers_it(typed, key):
    assert customer_key(typed) == key
