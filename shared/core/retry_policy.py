"""One retry policy for every delay: retries of a create, of a write-back, deferrals and checks.

Pure: the numbers come from settings (RETRY_*), the claim window from the SAP gateway's own bound.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from shared.core.ledger import LedgerStatus


def backoff_seconds(attempt: int, base_seconds: int, max_seconds: int, rng: random.Random | None = None) -> int:
    """Exponential backoff with jitter: uniform in [base, min(max, base * 2**(attempt-1))], so retries of
    many accounts that failed together (an SAP outage) spread out instead of arriving in waves."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(attempt - 1, 0))
    if ceiling <= base_seconds:
        return ceiling
    return (rng or random).randint(base_seconds, ceiling)


def delay_after_failure(
    backoff_seconds: int,
    *,
    max_delay_seconds: int,
    patient: bool = False,
    outcome_unknown: bool = False,
    stale_claim_seconds: int = 0,
    retry_after_seconds: float | None = None,
) -> int:
    """The delay before the next attempt of a create whose attempt just failed (tests/unit/
    test_retry_delay_rules.py holds the table):

        patient (a failed logon: repeated quickly it locks the user)  the longest delay, nothing else
        otherwise                                                     the backoff, but at least
          - the claim window when the attempt's outcome is unknown: the unit of work it started may
            still be running (behind the relay, or cut off mid-call), and the claim window is the bound
            on one unit, so the next attempt cannot overlap it; never shortened by the longest delay
          - the other side's Retry-After (a relay's 429), up to the longest delay
    """
    if patient:
        return max_delay_seconds
    delay = backoff_seconds
    if outcome_unknown:
        delay = max(delay, stale_claim_seconds)
    if retry_after_seconds is not None and retry_after_seconds > 0:
        delay = max(delay, min(math.ceil(retry_after_seconds), max_delay_seconds))
    return delay


class FinalFailure(StrEnum):
    """Why a create stops trying (no retry follows)."""

    ATTEMPTS_EXHAUSTED = "attempts_exhausted"  # RETRY_MAX_ATTEMPTS transient failures
    SAP_FAILED = "sap_failed"  # a permanent SAP error (an ABAP runtime error): retrying gives the same
    REQUEST_INVALID = "request_invalid"  # a queued request no longer maps (settings changed since)
    SAP_REJECTED = "sap_rejected"  # SAP refused the data (RETURN type E/A) of this create


def status_after_final_failure(reason: FinalFailure, *, outcome_unknown: bool) -> LedgerStatus:
    """Where an account ends when its create stops trying (tests/unit/test_final_failure_rules.py holds the
    table):

        reason                outcome of an earlier attempt   ends
        SAP rejected the data either                          failed
        any other             known (nothing can exist)       failed
        any other             unknown (SAP may hold it)       needs_review

    `failed` says SAP holds no customer for the account: a person fixes the data and the flow sends it again,
    which creates. After an unknown outcome (the line broke after the create or commit was sent) that may be
    false, and a resend would create a second customer; so the account is held for an operator, who checks
    SAP and resolves it (`admin resolve --customer` or `--create`). A rejection is the exception: the attempt
    that SAP rejected searched SAP first (every attempt after an unknown outcome does) and found nothing, or
    it would have adopted the customer or held the account instead of creating.
    """
    if reason is FinalFailure.SAP_REJECTED or not outcome_unknown:
        return LedgerStatus.FAILED
    return LedgerStatus.NEEDS_REVIEW


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_seconds: int = 30
    max_delay_seconds: int = 3600
    retry_after_seconds: int = 60  # what a 202 tells the caller

    def delay_before(self, attempt: int, *, patient: bool = False) -> int:
        """The delay before attempt number `attempt`. `patient`: a failed logon (SAP or Salesforce)
        repeated quickly locks the user, so such a retry always waits the longest delay."""
        if patient:
            return self.max_delay_seconds
        return backoff_seconds(attempt, self.base_delay_seconds, self.max_delay_seconds)

    def delay_after(
        self,
        attempt: int,
        *,
        patient: bool = False,
        outcome_unknown: bool = False,
        stale_claim_after: timedelta = timedelta(0),
        retry_after_seconds: float | None = None,
    ) -> int:
        """The delay before attempt number `attempt`, after a failed one (see `delay_after_failure`)."""
        return delay_after_failure(
            self.delay_before(attempt),
            max_delay_seconds=self.max_delay_seconds,
            patient=patient,
            outcome_unknown=outcome_unknown,
            stale_claim_seconds=math.ceil(stale_claim_after.total_seconds()),
            retry_after_seconds=retry_after_seconds,
        )

    def gives_up(self, attempt: int) -> bool:
        """True when `attempt` attempts have been made and no more may follow (then: the poison queue)."""
        return attempt >= self.max_attempts

    @staticmethod
    def check_delay(stale_claim_after: timedelta) -> int:
        """A check message comes back once the claim it backs would be stale."""
        return int(stale_claim_after.total_seconds()) + 1

    def deferred_delay(self, stale_claim_after: timedelta, *, is_check: bool) -> int:
        """A message that met a live claim comes back soon: the holder usually finishes within seconds,
        and a re-check costs one ledger read (bounded by half the claim window for long base delays)."""
        half_window = int(stale_claim_after.total_seconds() // 2) or 1
        return half_window if is_check else min(self.base_delay_seconds, half_window)
