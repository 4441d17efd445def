"""The retry message format and the backoff."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from shared.core.retry_message import InvalidRetryMessage, RetryKind, RetryMessage
from shared.core.retry_policy import backoff_seconds


def message(**changes: object) -> RetryMessage:
    fields = dict(kind=RetryKind.CREATE, account_id="001Dn00000AbCdEIAV", tracking_id="t1",
                  payload={"accountId": "001Dn00000AbCdEIAV"}, attempt=1, first_seen_at="2026-11-27T07:00:00+00:00",
                  last_error="SAP unavailable", retry_token="r1")
    fields.update(changes)
    return RetryMessage(**fields)


def test_json_round_trip_keeps_every_field():
    original = message(kind=RetryKind.WRITEBACK, customer_number="0000100000")
    # every field set, none (but the format's version) left at its default
    assert [f.name for f in dataclasses.fields(RetryMessage)
            if f.name != "version" and getattr(original, f.name) == f.default] == []
    assert RetryMessage.from_json(original.to_json()) == original
    assert json.loads(original.to_json())["version"] == 1


def test_next_attempt_counts_up_and_can_take_a_new_owner_token():
    follow_up = message().next_attempt("again", retry_token="r2")
    assert (follow_up.attempt, follow_up.last_error, follow_up.retry_token) == (2, "again", "r2")
    assert message().next_attempt("again").retry_token == "r1"


@pytest.mark.parametrize(
    "text",
    ['[1]', '"x"', "{not json", '{"version": 2}', json.dumps({**json.loads(message().to_json()), "version": 99}),
     json.dumps({k: v for k, v in json.loads(message().to_json()).items() if k != "account_id"}),
     json.dumps({**json.loads(message().to_json()), "kind": "delete"})],
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
