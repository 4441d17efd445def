"""The retry message format and the backoff."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime

import pytest

from shared.core.ledger import ChangeStatus, LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import MappingWarning
from shared.core.retry_message import InvalidRetryMessage, RetryKind, RetryMessage
from shared.core.retry_policy import backoff_seconds


def message(**changes: object) -> RetryMessage:
    fields = dict(
        kind=RetryKind.CREATE,
        account_id="001Dn00000AbCdEIAV",
        tracking_id="t1",
        payload={"accountId": "001Dn00000AbCdEIAV"},
        attempt=1,
        first_seen_at="2026-11-27T07:00:00+00:00",
        last_error="SAP unavailable",
        retry_token="r1",
    )
    fields.update(changes)
    return RetryMessage(**fields)


def written(**changes: object) -> LedgerEntry:
    """A QUEUED entry as a writer stores it for message(): every field set, none left at its default."""
    fields = dict(
        account_id="001Dn00000AbCdEIAV",
        status=LedgerStatus.QUEUED,
        tracking_id="t1",
        created_at=datetime(2026, 11, 27, 7, 0, 0, 123456, tzinfo=UTC),
        updated_at=datetime(2026, 11, 27, 7, 5, 1, 654321, tzinfo=UTC),
        customer_number="0000100000",
        attempts=1,
        last_error="SAP unavailable",
        writeback=WriteBackStatus.FAILED,
        retry_token="r1",
        claim_id="c1",
        error_kind="outcome_unknown",
        outcome_unknown=True,
        adopted=True,
        payload={"accountId": "001Dn00000AbCdEIAV"},
        warnings=(MappingWarning("street", "street shortened to 35 characters for SAP (STREET): ..."),),
        review_candidates=("0000100001", "0000100002"),
        rejected_customers=("0000100003",),
        search_from=datetime(2026, 11, 27, 7, 1, 0, tzinfo=UTC),
        applied_digests={"STREET": "6f1c0d2a"},
        change_modstamp=datetime(2026, 11, 27, 6, 59, 0, 123000, tzinfo=UTC),
        change_status=ChangeStatus.QUEUED,
        last_change_at=datetime(2026, 11, 27, 7, 2, tzinfo=UTC),
        change_error="SAP unavailable",
        change_claimed_at=datetime(2026, 11, 27, 7, 2, tzinfo=UTC),
        change_review={"fields": [{"field": "street"}]},
        etag="W/\"datetime'2026-11-27T07%3A05%3A01.6543210Z'\"",
    )
    fields.update(changes)
    return LedgerEntry(**fields)  # type: ignore[arg-type]


def test_json_round_trip_keeps_every_field():
    original = message(kind=RetryKind.WRITEBACK, customer_number="0000100000").with_written_entry(written())
    # every field set, none (but the format's version) left at its default
    assert [
        f.name
        for f in dataclasses.fields(RetryMessage)
        if f.name != "version" and getattr(original, f.name) == f.default
    ] == []
    assert RetryMessage.from_json(original.to_json()) == original
    assert json.loads(original.to_json())["version"] == 1


def test_the_written_entry_travels_with_every_field_but_the_payload_the_message_carries():
    entry = written()
    assert [f.name for f in dataclasses.fields(LedgerEntry) if getattr(entry, f.name) == f.default] == []

    carried = RetryMessage.from_json(message().with_written_entry(entry).to_json()).written_entry

    assert carried == entry.evolve(payload=None)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        written(etag=None),
        written(status=LedgerStatus.PENDING),
        written(retry_token="another message's"),
        written(account_id="001Dn00000ZzZzZIAV"),
    ],
    ids=["the write failed", "no etag", "not queued", "another message owns it", "another account"],
)
def test_a_message_carries_only_the_queued_entry_it_owns(stored):
    assert message().with_written_entry(stored).written_entry is None


def test_a_message_without_a_token_carries_no_entry():
    assert message(retry_token=None).with_written_entry(written(retry_token=None)).written_entry is None


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "x",
        {},
        {"etag": "e"},
        {**json.loads(message().with_written_entry(written()).to_json())["written_entry"], "status": "pending"},
        {**json.loads(message().with_written_entry(written()).to_json())["written_entry"], "etag": None},
        {**json.loads(message().with_written_entry(written()).to_json())["written_entry"], "created_at": "yesterday"},
        {**json.loads(message().with_written_entry(written()).to_json())["written_entry"], "writeback": "sideways"},
    ],
    ids=[
        "absent (older messages)",
        "not an object",
        "empty",
        "incomplete",
        "not queued",
        "no etag",
        "bad date",
        "unknown write-back status",
    ],
)
def test_a_message_whose_written_entry_is_unusable_is_still_read_without_it(broken):
    text = json.dumps({**json.loads(message().to_json()), "written_entry": broken})

    parsed = RetryMessage.from_json(text)

    assert parsed.written_entry is None and parsed == message()


def test_a_follow_up_message_knows_no_entry_until_it_is_written():
    assert message().with_written_entry(written()).next_attempt("again", retry_token="r2").written_entry is None


def test_next_attempt_counts_up_and_can_take_a_new_owner_token():
    follow_up = message().next_attempt("again", retry_token="r2")
    assert (follow_up.attempt, follow_up.last_error, follow_up.retry_token) == (2, "again", "r2")
    assert message().next_attempt("again").retry_token == "r1"


@pytest.mark.parametrize(
    "text",
    [
        "[1]",
        '"x"',
        "{not json",
        '{"version": 2}',
        json.dumps({**json.loads(message().to_json()), "version": 99}),
        json.dumps({k: v for k, v in json.loads(message().to_json()).items() if k != "account_id"}),
        json.dumps({**json.loads(message().to_json()), "kind": "delete"}),
    ],
    ids=["array", "string", "not-json", "version-2-only", "future-version", "missing-field", "unknown-kind"],
)
def test_what_is_not_our_message_is_refused_with_a_clear_error(text):
    with pytest.raises(InvalidRetryMessage):
        RetryMessage.from_json(text)


def test_backoff_grows_exponentially_within_bounds_and_is_jittered():
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(3600, 30 * 2 ** (attempt - 1))
        delays = {backoff_seconds(attempt, 30, 3600, rng) for _ in range(200)}
        assert min(delays) >= 30 and max(delays) <= ceiling
        if ceiling > 30:
            assert len(delays) > 1  # spread out, not in waves
    assert backoff_seconds(1, 30, 3600) == 30
