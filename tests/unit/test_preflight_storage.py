"""The go-live check's storage area over the ports (shared/usecases/preflight/storage.py): each store that does
not answer fails its own check with the fix its error points at; parked messages fail the poison check. The
same against Azurite, storage down included: tests/integration/test_preflight_command.py."""

from __future__ import annotations

import pytest

from shared.core.preflight import Area, Verdict
from shared.storage.port import RetryQueueUnavailable
from shared.usecases.preflight.storage import check_storage, storage_fix
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue


def run(ledger=None, queue=None, parked=lambda: 0):
    results = check_storage(ledger or InMemoryLedger(), queue or InMemoryRetryQueue(), parked, "ledger", "retry")
    assert all(result.area is Area.STORAGE for result in results)
    return {result.check: result for result in results}


def test_answering_stores_and_an_empty_poison_queue_pass():
    results = run()
    assert [r.verdict for r in results.values()] == [Verdict.PASSED] * 3


def test_a_ledger_that_does_not_answer_fails_its_check_only():
    ledger = InMemoryLedger()
    ledger.available = False
    results = run(ledger=ledger)
    assert results["ledger_table"].verdict is Verdict.FAILED and results["ledger_table"].fix
    assert results["retry_queue"].verdict is Verdict.PASSED and results["poison_queue"].verdict is Verdict.PASSED


def test_a_queue_that_does_not_answer_fails_and_its_poison_queue_is_not_reached():
    results = run(queue=InMemoryRetryQueue(available=False), parked=lambda: pytest.fail("asked a dead queue"))
    assert results["retry_queue"].verdict is Verdict.FAILED
    assert results["poison_queue"].verdict is Verdict.SKIPPED and "not reached" in results["poison_queue"].found


def test_parked_messages_fail_the_poison_check_with_the_replay_command():
    results = run(parked=lambda: 3)
    assert results["poison_queue"].verdict is Verdict.FAILED and "about 3" in results["poison_queue"].found
    assert "python -m admin poison list" in (results["poison_queue"].fix or "")


def test_a_poison_queue_that_stops_answering_fails_its_check():
    def gone() -> int:
        raise RetryQueueUnavailable("queue retry-poison unavailable (ServiceResponseError (timed out))")

    assert run(parked=gone)["poison_queue"].verdict is Verdict.FAILED


@pytest.mark.parametrize(
    ("found", "points_at"),
    [
        ("ledger storage unavailable (ServiceRequestError (connection refused))", "reaches the storage account"),
        ("queue q unavailable (ServiceResponseError (timed out))", "reaches the storage account"),
        ("ledger storage unavailable (HttpResponseError (AuthorizationPermissionMismatch))", "Storage Table Data"),
        ("ledger storage unavailable (ClientAuthenticationError)", "Storage Table Data"),
    ],
)
def test_the_fix_follows_what_went_wrong(found, points_at):
    fix = storage_fix(found)
    assert points_at in fix
    assert ("Storage Table Data" in fix) != ("reaches the storage account" in fix)


def test_an_unknown_storage_error_gets_both_fixes():
    fix = storage_fix("ledger storage unavailable (HttpResponseError (HTTP 400))")
    assert "reaches the storage account" in fix and "Storage Table Data" in fix
