"""The push path's rule per notification (shared.core.push_rules.decide_push), as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.claims import ClaimWindows
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.push_rules import ClaimNew, Resume, Skip, TakeOver, decide_push

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOWS = ClaimWindows.from_bounds(timedelta(seconds=60), max_retry_delay_seconds=3600)
FRESH = NOW - timedelta(seconds=5)
STALE_CLAIM = NOW - timedelta(seconds=61)
OVERDUE = NOW - WINDOWS.queued_overdue_after - timedelta(seconds=1)
BEFORE, AFTER = timedelta(seconds=-30), timedelta(seconds=30)


def entry(status: LedgerStatus, updated_at: datetime = FRESH, **changes: object) -> LedgerEntry:
    return LedgerEntry(
        account_id="001Dn00000AbCdEIAV",
        status=status,
        tracking_id="t1",
        created_at=updated_at - timedelta(minutes=1),
        updated_at=updated_at,
        etag="1",
        **changes,
    )  # type: ignore[arg-type]


# (ledger entry, when the notified change was made relative to the entry's last change, expected decision)
TABLE = {
    "new account": (None, BEFORE, ClaimNew),
    "created, older notification": (entry(LedgerStatus.CREATED, customer_number="0000100042"), BEFORE, Skip),
    "created, newer notification": (entry(LedgerStatus.CREATED, customer_number="0000100042"), AFTER, Skip),
    "held for review": (entry(LedgerStatus.NEEDS_REVIEW), AFTER, Skip),
    "queued": (entry(LedgerStatus.QUEUED, retry_token="r1"), AFTER, Skip),
    "being created": (entry(LedgerStatus.PENDING), AFTER, Skip),
    "failed, copy from before the failure": (entry(LedgerStatus.FAILED, attempts=1), BEFORE, Skip),
    "failed, change made at the same moment": (entry(LedgerStatus.FAILED, attempts=1), timedelta(0), Skip),
    "failed, no LastModifiedDate": (entry(LedgerStatus.FAILED, attempts=1), None, Skip),
    "failed, changed since (a person fixed it)": (entry(LedgerStatus.FAILED, attempts=1), AFTER, TakeOver),
    "claim of a dead worker": (entry(LedgerStatus.PENDING, STALE_CLAIM), BEFORE, TakeOver),
    "queued, message lost": (entry(LedgerStatus.QUEUED, OVERDUE, retry_token="r1"), BEFORE, TakeOver),
}


@pytest.mark.parametrize("case", sorted(TABLE))
def test_each_ledger_state_decides_the_notification(case):
    current, offset, expected = TABLE[case]
    changed_at = None if offset is None else (current.updated_at if current else NOW) + offset
    assert isinstance(decide_push(current, changed_at, NOW, WINDOWS), expected)


def test_reopening_a_failed_account_queues_it_afresh_without_searching():
    decision = decide_push(
        entry(LedgerStatus.FAILED, attempts=3, last_error="invalid", error_kind="rejected"), NOW, NOW, WINDOWS
    )
    assert isinstance(decision, TakeOver)
    claim = decision.claim
    assert (claim.status, claim.attempts, claim.last_error, claim.error_kind) == (LedgerStatus.QUEUED, 0, None, None)
    assert claim.outcome_unknown is False and claim.etag == "1" and claim.updated_at == NOW


def test_taking_over_a_dead_workers_claim_searches_sap_first():
    decision = decide_push(entry(LedgerStatus.PENDING, STALE_CLAIM, attempts=1), None, NOW, WINDOWS)
    assert isinstance(decision, TakeOver)
    assert decision.claim.outcome_unknown is True and decision.claim.attempts == 1


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (entry(LedgerStatus.QUEUED, retry_token="ours"), Resume),
        (entry(LedgerStatus.QUEUED, OVERDUE, retry_token="ours"), Resume),
        (entry(LedgerStatus.QUEUED, retry_token="another notification's"), Skip),
        (entry(LedgerStatus.PENDING, retry_token="ours"), Skip),
        (entry(LedgerStatus.CREATED, retry_token="ours", customer_number="0000100042"), Skip),
    ],
    ids=[
        "our queued entry: queue its create",
        "ours, however old",
        "another notification's queued entry",
        "claimed by a worker since (the token is no longer an owner's)",
        "created since",
    ],
)
def test_a_notification_that_reads_the_queued_entry_it_wrote_itself_queues_its_create(state, expected):
    """Its write was stored though its answer was lost (412 on the SDK's retry, or a timeout)."""
    decision = decide_push(state, NOW + AFTER, NOW, WINDOWS, retry_token="ours")

    assert isinstance(decision, expected)
    if expected is Resume:
        assert decision.claim == state  # the entry as read, with its ETag
