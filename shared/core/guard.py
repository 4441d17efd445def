"""Which SAP customer is an account's: the duplicate guard's answer judged against what the ledger knows
(pure decisions, no I/O; tested as a table in tests/unit/test_guard_rules.py).

The guard runs inside the SAP gateway (shared/sap/rfc_guard.py, also in the on-premise agent), which cannot see
the ledger. It answers with a customer it adopted, a customer it created, or the candidates it could not
tell apart (SapNeedsReview). The use case (shared/usecases/duplicate_guard.py, create_in_sap) looks up who holds
each of those numbers in the ledger (its reverse entries: customer number -> account) and asks
`decide_guard_answer` what to do:

    answer                          the ledger says                      decision
    adopted or created X            X held by no account, or by this one  Accept X
    adopted or created X            X held by another account            SearchAgain, X excluded
    adopted X                       X was excluded already               HoldForReview (the gateway ignored
                                                                         the exclusion: an older agent)
    candidates C                    one of C held by this account        Accept it (an earlier attempt of
                                                                         this account recorded it)
    candidates C                    some of C held by other accounts,    SearchAgain, those excluded
                                    not excluded yet
    candidates C                    nothing new to exclude               HoldForReview (an operator decides)

Why a twin's customer is excluded and the search repeated, not the account held for review: the ledger's
reverse entry is written before the account's result and only if no other account holds the number, so
a number it gives to another account is that account's, whoever's request created it. Twins (two accounts
with the same name and address) have customers that look alike, and what is left to know is only whether
an earlier attempt of THIS account created one: the search without the other accounts' customers says so,
and creates when it finds none. Several customers left that the ledger gives to nobody stay ambiguous:
held for review, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# One search finds at most a page of candidates (shared/sap/rfc_guard.py, MAX_GUARD_CANDIDATES); each repeated
# search excludes at least one more. More rounds than this and the use case holds the account instead.
MAX_GUARD_ROUNDS = 4


def customer_key(number: str) -> str:
    """One spelling per SAP customer number: KUNNR's conversion exit pads a numeric number to 10 digits
    (pyrfc runs none, so BAPIs answer padded numbers and an operator may type them without the zeros)."""
    text = number.strip().upper()
    return text.zfill(10) if text.isdigit() else text


@dataclass(frozen=True)
class GuardCustomer:
    """The gateway answered with one customer: created now (`adopted` False) or adopted by the guard."""

    number: str
    adopted: bool


@dataclass(frozen=True)
class GuardCandidates:
    """The gateway could not tell (SapNeedsReview); `numbers` are the candidates it named."""

    numbers: tuple[str, ...]


GuardAnswer = GuardCustomer | GuardCandidates


@dataclass(frozen=True)
class Accept:
    """The number is this account's: hold it in the ledger (reverse entry) and record it."""

    number: str


@dataclass(frozen=True)
class SearchAgain:
    """Run the guard once more without these customers (the ledger gives them to other accounts)."""

    excluded: tuple[str, ...]


@dataclass(frozen=True)
class HoldForReview:
    """An operator decides (admin resolve); `candidates` are the numbers still plausible."""

    reason: str
    candidates: tuple[str, ...]


GuardDecision = Accept | SearchAgain | HoldForReview


def _sorted_keys(numbers: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({customer_key(number) for number in numbers}))


def decide_guard_answer(
    account_id: str, answer: GuardAnswer, holders: Mapping[str, str | None], excluded: Iterable[str]
) -> GuardDecision:
    """What to do with the gateway's answer. `holders`: customer_key(number) -> the account the ledger's
    reverse entry gives it to (None or absent: no account); `excluded`: the numbers the gateway was told
    to leave out (other accounts' customers, and those an operator rejected for this account)."""
    left_out = set(_sorted_keys(excluded))

    def holder(number: str) -> str | None:
        return holders.get(customer_key(number))

    if isinstance(answer, GuardCustomer):
        number = customer_key(answer.number)
        if answer.adopted and number in left_out:
            # A gateway that does not know the exclusion (an agent older than the app): searching again would
            # find the same customer, so an operator decides (fail closed).
            return HoldForReview(
                f"the duplicate guard adopted SAP customer {number}, which it was told to leave "
                "out (another account's, or rejected by an operator); the agent may be older "
                "than the app",
                (),
            )
        other = holder(number)
        if other is not None and other != account_id:
            return SearchAgain(_sorted_keys((*left_out, number)))
        return Accept(number)
    candidates = _sorted_keys(answer.numbers)
    ours = [number for number in candidates if holder(number) == account_id]
    if len(ours) == 1:
        return Accept(ours[0])
    elsewhere = {number for number in candidates if holder(number) not in (None, account_id)}
    if elsewhere - left_out:
        return SearchAgain(_sorted_keys(left_out | elsewhere))
    plausible = tuple(number for number in candidates if number not in elsewhere and number not in left_out)
    return HoldForReview("the duplicate guard could not tell which SAP customer is the account's", plausible)
