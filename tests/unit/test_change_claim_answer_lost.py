"""A change claim whose answer was lost (issue 27, the change path of issue 26): storage applied the change
claim, the worker never heard so, and its next read meets its own claim. It must go on with it (the change
applied at once), not take it for another worker's live claim and wait a claim window (the HTTP path answering
202 queued for its own request, the queue re-queueing its own message), nor answer 503 for a claim it holds.

The change claim is an If-Match PUT of the account's created entry (shared/usecases/change.py, `_claim`): after
a read timeout azure-core's RetryPolicy sends it again and the retry meets the ETag the first try made (412,
reported as LedgerConflict); every try timing out is reported as LedgerUnavailable (the module docstring of
tests/unit/test_claim_answer_lost.py, whose lost-answer ledger is used here).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.change_request import parse_change_request
from shared.core.ledger import ChangeStatus, LedgerStatus
from shared.core.retry_message import RetryMessage
from shared.core.validation import parse_customer_request
from shared.sap import SapBusinessRejection, SapMessage
from shared.usecases import RetryOutcome, Services, create_customer, retry_create_customer
from shared.usecases.change import ChangeOutcome, change_customer
from shared.usecases.change_records import change_message
from shared.usecases.services import StorageUnavailable
from tests.support.change_gateway import InMemoryChangeSap, SteppingClock
from tests.support.samples import sample
from tests.unit.test_claim_answer_lost import REFUSED_ON_RETRY, TIMED_OUT, LostAnswerLedger

T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
NEW_STREET = "Neue Straße 5"


@pytest.fixture
def services(fake_services: Services) -> Services:
    fake_services.sap = InMemoryChangeSap(fake_services.sap)
    fake_services.clock = SteppingClock()
    return fake_services


@pytest.fixture
def ledger(services: Services) -> LostAnswerLedger:
    lossy = LostAnswerLedger(services.ledger)  # type: ignore[arg-type]
    services.ledger = lossy
    return lossy


def _created(services: Services) -> str:
    result = create_customer(parse_customer_request(sample("german-account")), services)
    assert result.customer_number
    return result.customer_number


def _change(seconds: int = 10, street: str = NEW_STREET):
    modstamp = (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return parse_change_request({**sample("german-account"), "street": street, "systemModstamp": modstamp})


def _queued_change(services: Services) -> RetryMessage:
    """The change as the push path queues it (shared/usecases/push_change.py): a message of the retry queue."""
    change = _change()
    entry = services.ledger.get(change.account_id)
    return RetryMessage.from_json(change_message(change, entry).to_json())


def _applied_at_once(services: Services, ledger: LostAnswerLedger, number: str) -> None:
    assert ledger.writes_lost == 1
    assert [sent.company_data for sent in services.sap.changes] == [{"STREET": NEW_STREET}]
    assert services.sap.records[number]["STREET"] == NEW_STREET
    entry = ledger.get(_change().account_id)
    assert entry.status is LedgerStatus.CREATED and entry.change_status is ChangeStatus.APPLIED
    assert entry.change_claimed_at is None  # the claim is released: the next change need not wait
    assert services.retry_queue.take_all() == []  # nothing comes back later


@pytest.mark.parametrize("error", [REFUSED_ON_RETRY, TIMED_OUT], ids=["412 on the SDK's retry", "every try timed out"])
def test_a_change_request_whose_claim_was_stored_but_its_answer_lost_applies_at_once(services, ledger, error):
    number = _created(services)
    ledger.lose_answer("update", error)

    result = change_customer(_change(), services)

    assert result.outcome is ChangeOutcome.APPLIED  # not 202 queued behind itself, nor 503
    _applied_at_once(services, ledger, number)


@pytest.mark.parametrize("error", [REFUSED_ON_RETRY, TIMED_OUT], ids=["412 on the SDK's retry", "every try timed out"])
def test_a_change_message_whose_claim_was_stored_but_its_answer_lost_applies_at_once(services, ledger, error):
    number = _created(services)
    message = _queued_change(services)
    ledger.lose_answer("update", error)

    assert retry_create_customer(message, services) is RetryOutcome.CHANGED  # not re-queued behind itself

    _applied_at_once(services, ledger, number)


def test_a_change_whose_claim_timed_out_before_storage_got_it_claims_again(services, ledger):
    number = _created(services)
    ledger.lose_answer("update", TIMED_OUT, applied=False)

    assert change_customer(_change(), services).outcome is ChangeOutcome.APPLIED

    _applied_at_once(services, ledger, number)


def test_a_change_whose_claim_and_read_back_both_fail_is_unavailable_and_sends_nothing(services, ledger):
    _created(services)
    ledger.lose_answer("update", TIMED_OUT)
    ledger.reads_fail_after_loss = True

    with pytest.raises(StorageUnavailable):  # the HTTP path answers 503; a message goes back to the host
        change_customer(_change(), services)

    ledger.available = True
    assert services.sap.changes == []
    # The claim it may have left is a dead worker's once stale (shared.core.change_rules.decide_change).
    assert ledger.get(_change().account_id).change_status is ChangeStatus.IN_PROGRESS


def test_a_change_after_a_failed_one_whose_claim_answer_was_lost_still_clears_the_failure(services, ledger):
    """Which change status the claim replaced is the attempt's, not the read-back's (in_progress, its own)."""
    number = _created(services)
    services.sap.fail_before.append(SapBusinessRejection((SapMessage("E", "AM", "215", "Street is not valid"),)))
    assert change_customer(_change(5, "Straße ?"), services).outcome is ChangeOutcome.REJECTED
    ledger.lose_answer("update", REFUSED_ON_RETRY)

    assert change_customer(_change(), services).outcome is ChangeOutcome.APPLIED

    assert services.writeback.created[_change().account_id] == [number, number]  # Synced again, error cleared


def test_a_change_meeting_a_live_claim_it_did_not_write_still_waits(services, ledger):
    """Knowing one's own claim is per attempt: a claim another worker holds is never taken for one's own."""
    _created(services)
    entry = ledger.get(_change().account_id)
    ledger.update(entry.evolve(change_status=ChangeStatus.IN_PROGRESS, change_claimed_at=services.clock()))

    assert change_customer(_change(), services).outcome is ChangeOutcome.QUEUED
    assert services.sap.changes == []
