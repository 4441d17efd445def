"""The ledger's claim rules as tables: for each state of an account, what a request or a message may do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.claims import (
    Answer,
    ClaimNew,
    ClaimWindows,
    Defer,
    Reply,
    Resume,
    Skip,
    TakeOver,
    decide_create,
    decide_retry,
    decide_retry_unread,
    stale_claim_after_unit,
)
from shared.core.ledger import LedgerEntry, LedgerStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOWS = ClaimWindows.from_bounds(timedelta(seconds=155), max_retry_delay_seconds=3600)
FRESH = NOW - timedelta(seconds=10)  # well inside the claim window
STALE = NOW - timedelta(seconds=200)  # past the claim window, not past the queued-overdue window
OVERDUE = NOW - timedelta(seconds=3600 + 2 * 155 + 1)


def entry(status: LedgerStatus, updated_at: datetime = FRESH, **fields: object) -> LedgerEntry:
    values: dict[str, object] = {
        "account_id": "001Dn00000AbCdEIAV",
        "status": status,
        "tracking_id": "t1",
        "created_at": NOW - timedelta(hours=1),
        "updated_at": updated_at,
        "attempts": 2,
    }
    values.update(fields)
    return LedgerEntry(**values)  # type: ignore[arg-type]


def test_the_queued_overdue_window_is_the_longest_delay_plus_two_claim_windows():
    assert WINDOWS.queued_overdue_after == timedelta(seconds=3600 + 310)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, ClaimNew()),
        (entry(LedgerStatus.CREATED, customer_number="0000100000"), Reply(Answer.ALREADY_EXISTS)),
        (entry(LedgerStatus.NEEDS_REVIEW, updated_at=OVERDUE), Reply(Answer.NEEDS_REVIEW)),
        (entry(LedgerStatus.QUEUED), Reply(Answer.QUEUED)),
        (entry(LedgerStatus.QUEUED, updated_at=STALE), Reply(Answer.QUEUED)),
        (entry(LedgerStatus.PENDING), Reply(Answer.IN_PROGRESS)),
    ],
    ids=["no entry", "created", "needs review, however old", "queued", "queued, late but not overdue", "live claim"],
)
def test_a_request_from_the_flow_is_answered_from_the_ledger_or_claims(state, expected):
    assert decide_create(state, NOW, WINDOWS) == expected


@pytest.mark.parametrize(
    ("state", "unknown_after", "attempts_after"),
    [
        (entry(LedgerStatus.FAILED, last_error="SAP rejected: ...", retry_token="old"), False, 0),
        (entry(LedgerStatus.FAILED, outcome_unknown=True), True, 0),
        (entry(LedgerStatus.PENDING, updated_at=STALE), True, 2),
        (entry(LedgerStatus.QUEUED, updated_at=OVERDUE, retry_token="lost"), False, 2),
    ],
    ids=[
        "failed is reopened by a resend",
        "failed after an unknown outcome still searches",
        "a dead worker's claim: outcome unknown",
        "queued whose message was lost",
    ],
)
def test_a_request_takes_over_failed_stale_and_lost_entries(state, unknown_after, attempts_after):
    decision = decide_create(state, NOW, WINDOWS)

    assert isinstance(decision, TakeOver)
    claim = decision.claim
    assert claim.status is LedgerStatus.PENDING and claim.updated_at == NOW and claim.etag == state.etag
    assert claim.retry_token is None and claim.last_error is None
    assert claim.outcome_unknown is unknown_after and claim.attempts == attempts_after


def retry(
    state: LedgerEntry | None,
    *,
    check: bool = False,
    token: str | None = "mine",
    tracking: str = "t1",
    attempt: int = 3,
    claim_id: str | None = None,
):
    return decide_retry(
        state,
        is_check=check,
        message_token=token,
        message_tracking_id=tracking,
        message_attempt=attempt,
        now=NOW,
        windows=WINDOWS,
        claim_id=claim_id,
    )


@pytest.mark.parametrize(
    ("state", "kwargs", "expected"),
    [
        (None, {}, ClaimNew),
        (None, {"check": True}, Skip),
        (entry(LedgerStatus.CREATED), {}, Skip),
        (entry(LedgerStatus.CREATED), {"check": True}, Skip),
        (entry(LedgerStatus.NEEDS_REVIEW, updated_at=OVERDUE), {}, Skip),
        (entry(LedgerStatus.PENDING), {}, Defer),
        (entry(LedgerStatus.PENDING), {"check": True}, Defer),
        (entry(LedgerStatus.PENDING, updated_at=STALE), {"check": True}, TakeOver),
        (entry(LedgerStatus.QUEUED, retry_token="mine", updated_at=STALE), {}, TakeOver),
        (entry(LedgerStatus.QUEUED, retry_token="other"), {}, Skip),
        (entry(LedgerStatus.QUEUED, retry_token="other", updated_at=OVERDUE), {}, TakeOver),
        (entry(LedgerStatus.QUEUED, retry_token="mine"), {"check": True}, Skip),
        (entry(LedgerStatus.FAILED), {"attempt": 0}, TakeOver),
        (entry(LedgerStatus.FAILED), {"attempt": 3}, Skip),
        (entry(LedgerStatus.FAILED), {"attempt": 0, "tracking": "another request"}, Skip),
    ],
    ids=[
        "no entry: claim",
        "check without entry: holder finished",
        "created",
        "check of created",
        "needs review",
        "live claim: defer",
        "check of a live claim: defer",
        "check of a dead claim: take over",
        "queued and ours",
        "queued, another message owns it",
        "queued, owner overdue",
        "check of queued",
        "failed and a replay (attempt 0)",
        "failed and an old copy",
        "failed and a replay of another request",
    ],
)
def test_a_retry_message_claims_skips_or_defers(state, kwargs, expected):
    assert isinstance(retry(state, **kwargs), expected)


def test_a_message_that_takes_over_a_dead_workers_claim_marks_the_outcome_unknown():
    decision = retry(entry(LedgerStatus.PENDING, updated_at=STALE), check=True, tracking="t2")

    assert isinstance(decision, TakeOver)
    assert decision.claim.outcome_unknown and decision.claim.tracking_id == "t2" and decision.claim.retry_token is None


def test_a_message_that_takes_over_its_queued_entry_keeps_a_known_outcome():
    decision = retry(entry(LedgerStatus.QUEUED, retry_token="mine", updated_at=STALE))
    assert isinstance(decision, TakeOver) and decision.claim.outcome_unknown is False


def unread(
    written: LedgerEntry | None,
    *,
    check: bool = False,
    token: str | None = "mine",
    tracking: str = "t1",
    attempt: int = 3,
    claim_id: str | None = None,
):
    return decide_retry_unread(
        written,
        is_check=check,
        message_token=token,
        message_tracking_id=tracking,
        message_attempt=attempt,
        now=NOW,
        windows=WINDOWS,
        claim_id=claim_id,
    )


WRITTEN = {"retry_token": "mine", "etag": "e7"}


@pytest.mark.parametrize(
    ("written", "kwargs"),
    [
        (entry(LedgerStatus.QUEUED, **WRITTEN), {}),
        (entry(LedgerStatus.QUEUED, updated_at=STALE, **WRITTEN), {}),
        (entry(LedgerStatus.QUEUED, updated_at=OVERDUE, **WRITTEN), {}),
        (entry(LedgerStatus.QUEUED, updated_at=OVERDUE, **WRITTEN), {"attempt": 0}),
        (entry(LedgerStatus.QUEUED, outcome_unknown=True, **WRITTEN), {"tracking": "t2"}),
    ],
    ids=[
        "queued just now",
        "queued a while ago",
        "queued long ago (its delay ran long)",
        "replayed from poison",
        "an earlier attempt's outcome unknown",
    ],
)
def test_a_message_knowing_its_written_entry_claims_it_unread_exactly_as_after_a_read(written, kwargs):
    decision = unread(written, **kwargs)

    # The very claim a read of the unchanged entry leads to, guarded by the writer's ETag.
    assert isinstance(decision, TakeOver) and decision == retry(written, **kwargs)
    assert decision.claim.etag == "e7" and decision.claim.status is LedgerStatus.PENDING


@pytest.mark.parametrize(
    ("written", "kwargs"),
    [
        (None, {}),
        (entry(LedgerStatus.QUEUED, retry_token="mine"), {}),
        (entry(LedgerStatus.QUEUED, **WRITTEN), {"check": True}),
        (entry(LedgerStatus.QUEUED, **WRITTEN), {"token": "an older message's"}),
        (entry(LedgerStatus.PENDING, **WRITTEN), {}),
        (entry(LedgerStatus.CREATED, **WRITTEN), {}),
        (entry(LedgerStatus.FAILED, **WRITTEN), {"attempt": 3}),
    ],
    ids=[
        "no written entry (older message): read",
        "no etag: read",
        "a check: read",
        "the entry names another message: read, never skip unread",
        "a live claim: read, never defer unread",
        "created: read, never skip unread",
        "failed: read, never skip unread",
    ],
)
def test_without_a_claim_to_try_the_message_reads_first(written, kwargs):
    assert unread(written, **kwargs) is None


@pytest.mark.parametrize(
    ("longest_unit_seconds", "window_seconds"),
    [(150.0, 155.0), (60.0, 65.0), (5.0, 10.0), (0.0, 10.0), (5.5, 10.5)],
    ids=[
        "30 s timeout (5 timeouts): unit plus margin",
        "12 s timeout",
        "at the floor",
        "no unit: the floor",
        "just above the floor",
    ],
)
def test_a_claim_goes_stale_a_margin_after_the_longest_sap_unit_and_never_below_the_floor(
    longest_unit_seconds, window_seconds
):
    assert stale_claim_after_unit(longest_unit_seconds) == timedelta(seconds=window_seconds)


MINE = "claim-of-this-attempt"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (entry(LedgerStatus.PENDING, claim_id=MINE), "resume"),
        (entry(LedgerStatus.PENDING, updated_at=STALE, claim_id=MINE), "renew"),
        (entry(LedgerStatus.PENDING, claim_id="another attempt's"), "another's"),
        (entry(LedgerStatus.PENDING), "another's"),
        (entry(LedgerStatus.QUEUED, claim_id=MINE, retry_token="mine"), "not a claim"),
        (entry(LedgerStatus.CREATED, claim_id=MINE, customer_number="0000100000"), "not a claim"),
        (None, "not a claim"),
    ],
    ids=[
        "own live claim: go on with it",
        "own claim gone stale meanwhile: renew it, outcome still known",
        "another attempt's live claim",
        "a claim without an id (written before ids)",
        "queued since (our claim was followed by a result)",
        "created since",
        "no entry",
    ],
)
def test_an_attempt_that_reads_its_own_claim_goes_on_with_it(state, expected):
    """A claim write stored though its answer was lost: the read finds this attempt's id on the entry."""
    create = decide_create(state, NOW, WINDOWS, claim_id=MINE)
    queue = retry(state, claim_id=MINE)
    check = retry(state, check=True, claim_id=MINE)

    if expected == "resume":
        assert create == queue == check == Resume(state)  # the entry as read, with its ETag
    elif expected == "renew":
        assert create == queue == check == TakeOver(state.evolve(updated_at=NOW))
        assert create.claim.outcome_unknown is False and create.claim.claim_id == MINE
    elif expected == "another's":
        assert create == Reply(Answer.IN_PROGRESS) and isinstance(queue, Defer) and isinstance(check, Defer)
    else:
        assert not isinstance(create, Resume) and not isinstance(queue, Resume) and not isinstance(check, Resume)
        # Decided as without the id (a claim it writes carries the id: the only difference).
        assert type(create) is type(decide_create(state, NOW, WINDOWS)) and type(queue) is type(retry(state))


@pytest.mark.parametrize(
    "state",
    [
        None,
        entry(LedgerStatus.FAILED),
        entry(LedgerStatus.PENDING, updated_at=STALE, claim_id="a dead worker's"),
        entry(LedgerStatus.QUEUED, updated_at=OVERDUE),
    ],
    ids=["new account", "failed, resent", "a dead worker's claim", "queued, message lost"],
)
def test_every_claim_an_attempt_writes_carries_its_id(state):
    create = decide_create(state, NOW, WINDOWS, claim_id=MINE)
    replay = retry(state, attempt=0, claim_id=MINE)  # a replay: claims every one of these states

    for decision in (create, replay):
        # An insert's claim is built by the use case, with the id (shared/usecases/create.py, retry.py).
        assert isinstance(decision, ClaimNew) if state is None else decision.claim.claim_id == MINE


def test_the_unread_claim_carries_the_attempts_id():
    decision = unread(entry(LedgerStatus.QUEUED, **WRITTEN), claim_id=MINE)
    assert isinstance(decision, TakeOver) and decision.claim.claim_id == MINE
