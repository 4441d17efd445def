"""Where an account ends when its create stops trying: shared.core.retry_policy.status_after_final_failure
as a table. `failed` says SAP holds no customer for the account, so it must never follow an unknown outcome."""

from __future__ import annotations

import pytest

from shared.core.ledger import LedgerStatus
from shared.core.retry_policy import FinalFailure, status_after_final_failure


@pytest.mark.parametrize(
    ("reason", "outcome_unknown", "ends"),
    [
        # Attempts ran out: failed only when every attempt's outcome is known (nothing can exist).
        (FinalFailure.ATTEMPTS_EXHAUSTED, False, LedgerStatus.FAILED),
        (FinalFailure.ATTEMPTS_EXHAUSTED, True, LedgerStatus.NEEDS_REVIEW),
        # A permanent SAP error (an ABAP short dump): the same, whether it came now or an earlier line broke.
        (FinalFailure.SAP_FAILED, False, LedgerStatus.FAILED),
        (FinalFailure.SAP_FAILED, True, LedgerStatus.NEEDS_REVIEW),
        # A queued request that no longer maps (settings changed): an earlier attempt may still have created.
        (FinalFailure.REQUEST_INVALID, False, LedgerStatus.FAILED),
        (FinalFailure.REQUEST_INVALID, True, LedgerStatus.NEEDS_REVIEW),
        # SAP rejected the data: the rejected attempt searched SAP first after an unknown outcome and found
        # nothing of the account's (or it would have adopted it, or held the account), so failed either way.
        (FinalFailure.SAP_REJECTED, False, LedgerStatus.FAILED),
        (FinalFailure.SAP_REJECTED, True, LedgerStatus.FAILED),
    ],
)
def test_where_a_create_that_stops_trying_ends(reason, outcome_unknown, ends):
    assert status_after_final_failure(reason, outcome_unknown=outcome_unknown) is ends


def test_every_reason_is_in_the_table():
    assert {reason for reason in FinalFailure} == {
        FinalFailure.ATTEMPTS_EXHAUSTED,
        FinalFailure.SAP_FAILED,
        FinalFailure.REQUEST_INVALID,
        FinalFailure.SAP_REJECTED,
    }
