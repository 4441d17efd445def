"""The delay before the next attempt of a failed create, as a table (shared/core/retry_policy.py,
delay_after_failure): a logon problem waits the longest delay; an unknown outcome at least the claim
window (the unit it started may still be running, issue 20); a throttle at least its Retry-After, up to
the longest delay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.core.retry_policy import RetryPolicy, delay_after_failure

MAX = 3600
CLAIM = 155  # the default claim window: (4 + 1) x SAP_TIMEOUT_SECONDS 30 + 5

# backoff, patient, outcome_unknown, retry_after, expected
TABLE = [
    (30, False, False, None, 30),  # a plain transient failure: the backoff
    (30, True, False, None, MAX),  # a failed logon: the longest delay, nothing shorter
    (30, True, True, 7, MAX),  # ... whatever else is true
    (30, False, True, None, CLAIM),  # outcome unknown: not before the claim window has passed
    (600, False, True, None, 600),  # ... a longer backoff stands
    (30, False, False, 7, 30),  # Retry-After shorter than the backoff: the backoff
    (30, False, False, 90, 90),  # Retry-After longer: honoured
    (30, False, False, 0.2, 30),  # ... a fraction is rounded up, never below the backoff
    (30, False, False, 10**9, MAX),  # ... but never beyond the longest delay
    (30, False, False, 0, 30),  # Retry-After: 0 changes nothing
    (30, False, True, 200, 200),  # both: the larger
    (30, False, True, 10**9, MAX),  # ... Retry-After still capped, the claim window below it
]


@pytest.mark.parametrize(("backoff", "patient", "outcome_unknown", "retry_after", "expected"), TABLE)
def test_the_delay_after_a_failed_attempt(backoff, patient, outcome_unknown, retry_after, expected):
    assert (
        delay_after_failure(
            backoff,
            max_delay_seconds=MAX,
            patient=patient,
            outcome_unknown=outcome_unknown,
            stale_claim_seconds=CLAIM,
            retry_after_seconds=retry_after,
        )
        == expected
    )


def test_an_unknown_outcome_waits_the_claim_window_even_beyond_the_longest_delay():
    # A claim window longer than the longest delay (a short RETRY_MAX_DELAY_SECONDS) still holds: waiting
    # less would let the next attempt overlap the first unit.
    assert delay_after_failure(5, max_delay_seconds=60, outcome_unknown=True, stale_claim_seconds=155) == 155


def test_the_policy_applies_the_rule_to_its_own_backoff():
    policy = RetryPolicy(base_delay_seconds=30, max_delay_seconds=MAX)
    assert policy.delay_after(1, outcome_unknown=True, stale_claim_after=timedelta(seconds=154.2)) == 155
    assert policy.delay_after(1) == 30
    assert policy.delay_after(1, patient=True) == MAX
    assert policy.delay_after(1, retry_after_seconds=45) == 45
