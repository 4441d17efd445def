"""The sweep finishes what a dead worker or a lost message left behind, without a resend from the flow."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.ledger import LedgerStatus, WriteBackStatus
from shared.core.mapping import split_name
from shared.core.models import MappingWarning
from shared.core.retry_message import RetryKind
from shared.core.validation import parse_customer_request
from shared.salesforce.port import AccountWriteBack
from shared.sap import SapGateway, SapInterface
from shared.usecases import (
    RetryOutcome,
    Services,
    StorageUnavailable,
    create_customer,
    retry_create_customer,
    sweep_abandoned,
)
from tests.support.samples import sample


class WorkerDied(BaseException):
    """The host process went away mid-request: nothing after this line of the worker runs."""


class DyingGateway(SapGateway):
    """The real gateway; the worker dies right after SAP answered (or right before the call)."""

    def __init__(self, real: SapGateway, after_sap: bool) -> None:
        self._real, self._after_sap = real, after_sap

    def check_interface(self) -> SapInterface:
        return self._real.check_interface()

    def create_customer(self, creation):
        if not self._after_sap:
            raise WorkerDied
        self._real.create_customer(creation)
        raise WorkerDied

    def ping(self) -> None:
        self._real.ping()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def drain(services: Services) -> list[RetryOutcome]:
    outcomes = []
    for _ in range(10):
        messages = services.retry_queue.take_all()
        if not messages:
            return outcomes
        outcomes.extend(retry_create_customer(message, services) for message in messages)
    raise AssertionError("retry queue did not drain")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(fake_services: Services, clock: Clock) -> Services:
    return dataclasses.replace(fake_services, clock=clock)


@pytest.mark.parametrize("after_sap", [True, False], ids=["died after SAP committed", "died before calling SAP"])
def test_a_claim_whose_worker_died_is_finished_by_the_sweep_with_one_customer(services, clock, sap_system, after_sap):
    request = parse_customer_request(sample("german-account"))
    with pytest.raises(WorkerDied):
        create_customer(request, dataclasses.replace(services, sap=DyingGateway(services.sap, after_sap)))
    assert services.ledger.get(request.account_id).status is LedgerStatus.PENDING
    assert services.retry_queue.take_all() == []  # nothing queued: only the ledger knows

    assert sweep_abandoned(services).checked == ()  # still inside the claim window: the holder may live
    clock.now += services.stale_claim_after + timedelta(seconds=1)
    report = sweep_abandoned(services)

    assert report.checked == (request.account_id,)
    assert drain(services) == [RetryOutcome.CREATED]
    entry = services.ledger.get(request.account_id)
    [customer] = sap_system.customers_where("NAME", split_name(request.name)[0])
    assert entry.status is LedgerStatus.CREATED and entry.customer_number == customer.number
    assert entry.adopted is after_sap  # a dead worker may have reached SAP: searched, then adopted
    assert entry.payload is None  # the held request is let go once the account is created
    assert services.writeback.created[request.account_id] == [customer.number]


def test_a_queued_account_whose_message_was_lost_is_finished_by_the_sweep(services, clock, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.down = True
    create_customer(request, services)
    services.retry_queue.take_all()  # the host lost the retry message
    sap_system.faults.down = False

    clock.now += services.stale_claim_after * 2  # late, but not yet overdue: its message may still come
    assert sweep_abandoned(services).checked == ()
    clock.now += services.windows.queued_overdue_after

    assert sweep_abandoned(services).checked == (request.account_id,)
    assert drain(services) == [RetryOutcome.CREATED]
    assert services.ledger.get(request.account_id).status is LedgerStatus.CREATED
    assert sap_system.calls["BAPI_CUSTOMER_FIND"] == 0  # SAP was never reached: nothing to search


def test_an_abandoned_entry_without_a_held_request_is_reported_not_guessed(services, clock):
    request = parse_customer_request(sample("german-account"))
    with pytest.raises(WorkerDied):
        create_customer(request, dataclasses.replace(services, sap=DyingGateway(services.sap, after_sap=False)))
    entry = services.ledger.get(request.account_id)
    services.ledger.update(entry.evolve(payload=None))  # an entry written before the ledger held requests
    clock.now += services.stale_claim_after * 2

    report = sweep_abandoned(services)

    assert report.checked == () and report.without_request == (request.account_id,)


def test_created_failed_and_held_accounts_are_never_swept(services, clock, sap_system):
    created = parse_customer_request(sample("german-account"))
    create_customer(created, services)
    rejected = parse_customer_request({**sample("us-account"), "referenceCustomer": "0000001000"})
    create_customer(rejected, services)
    clock.now += timedelta(days=3)

    assert sweep_abandoned(services).checked == ()
    assert {services.ledger.get(r.account_id).status for r in (created, rejected)} == {
        LedgerStatus.CREATED,
        LedgerStatus.FAILED,
    }


def test_the_retry_path_holds_the_request_too(services, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.down = True
    create_customer(request, services)
    assert services.ledger.get(request.account_id).payload == request.to_payload()


def test_a_created_answer_leaves_no_request_in_the_ledger(services):
    request = parse_customer_request(sample("german-account"))
    create_customer(request, services)
    assert services.ledger.get(request.account_id).payload is None


class DyingWriteBack(AccountWriteBack):
    """The worker dies as it starts the Salesforce write-back: the customer is recorded, its number not written."""

    def record_created(
        self, account_id: str, customer_number: str, synced_at: datetime, warnings: Sequence[MappingWarning] = ()
    ) -> None:
        raise WorkerDied

    def record_failed(self, account_id: str, error: str, synced_at: datetime) -> None:
        raise WorkerDied

    def check_login(self) -> None:
        pass


def test_a_write_back_whose_worker_died_is_finished_by_the_sweep(services, clock, sap_system):
    request = parse_customer_request(sample("german-account"))
    with pytest.raises(WorkerDied):
        create_customer(request, dataclasses.replace(services, writeback=DyingWriteBack()))
    entry = services.ledger.get(request.account_id)
    assert (entry.status, entry.writeback) == (LedgerStatus.CREATED, WriteBackStatus.PENDING)
    assert services.retry_queue.take_all() == []

    assert sweep_abandoned(services).writebacks == ()  # inside the window: the worker may still be at it
    clock.now += services.stale_claim_after + timedelta(seconds=1)
    report = sweep_abandoned(services)

    assert report.writebacks == (request.account_id,) and report.checked == ()
    assert services.ledger.get(request.account_id).writeback is WriteBackStatus.QUEUED
    assert drain(services) == [RetryOutcome.WRITTEN_BACK]
    assert services.writeback.created[request.account_id] == [entry.customer_number]
    assert services.ledger.get(request.account_id).writeback is WriteBackStatus.DONE
    assert len(sap_system.customers_where("NAME", split_name(request.name)[0])) == 1  # SAP never again
    assert sweep_abandoned(services).writebacks == ()


def test_a_write_back_that_could_not_be_queued_is_queued_by_a_later_sweep(services, clock):
    request = parse_customer_request(sample("german-account"))
    services.writeback.unavailable = True
    services.retry_queue.available = False  # Salesforce down, and the queue for its retry too
    result = create_customer(request, services)
    assert result.writeback is WriteBackStatus.PENDING
    services.writeback.unavailable = False
    services.retry_queue.available = True

    clock.now += services.stale_claim_after + timedelta(seconds=1)
    assert sweep_abandoned(services).writebacks == (request.account_id,)
    assert drain(services) == [RetryOutcome.WRITTEN_BACK]
    assert services.writeback.created[request.account_id] == [result.customer_number]


def test_a_write_back_that_gave_up_is_failed_and_left_to_a_replay_from_the_poison_queue(services, clock):
    request = parse_customer_request(sample("german-account"))
    services.writeback.unavailable = True
    create_customer(request, services)
    outcomes = drain(services)

    assert outcomes[-1] is RetryOutcome.GAVE_UP
    entry = services.ledger.get(request.account_id)
    assert entry.writeback is WriteBackStatus.FAILED and "gave up" in entry.last_error
    assert [message.kind for message in services.retry_queue.poison] == [RetryKind.WRITEBACK]
    clock.now += timedelta(days=1)
    assert sweep_abandoned(services).writebacks == ()


@pytest.mark.parametrize(
    ("writeback", "age", "swept"),
    [
        (WriteBackStatus.PENDING, timedelta(minutes=10), True),
        (WriteBackStatus.PENDING, timedelta(seconds=5), False),  # the worker may still be writing it
        (WriteBackStatus.QUEUED, timedelta(days=1), False),  # its message does it
        (WriteBackStatus.DONE, timedelta(days=1), False),
        (WriteBackStatus.FAILED, timedelta(days=1), False),  # rejected or gave up: a person or a replay
        (WriteBackStatus.NOT_NEEDED, timedelta(days=1), False),
    ],
    ids=["pending-past-window", "pending-recent", "queued", "done", "failed", "not-needed"],
)
def test_which_created_accounts_get_their_write_back_again(services, clock, writeback, age, swept):
    request = parse_customer_request(sample("german-account"))
    create_customer(request, services)
    entry = services.ledger.get(request.account_id)
    services.ledger.update(entry.evolve(writeback=writeback, updated_at=clock.now - age))

    assert sweep_abandoned(services).writebacks == ((request.account_id,) if swept else ())


def test_without_write_back_by_the_function_the_sweep_writes_nothing_back(services, clock):
    request = parse_customer_request(sample("german-account"))
    create_customer(request, services)
    entry = services.ledger.get(request.account_id)
    services.ledger.update(entry.evolve(writeback=WriteBackStatus.PENDING, updated_at=clock.now - timedelta(days=1)))

    assert sweep_abandoned(dataclasses.replace(services, writeback=None)).writebacks == ()
    assert services.retry_queue.take_all() == []


def test_a_write_back_finished_while_the_sweep_queued_it_again_stays_done(services, clock):
    request = parse_customer_request(sample("german-account"))
    with pytest.raises(WorkerDied):
        create_customer(request, dataclasses.replace(services, writeback=DyingWriteBack()))
    clock.now += services.stale_claim_after + timedelta(seconds=1)
    found = services.ledger.get(request.account_id)

    class LateWorker(type(services.retry_queue)):  # the slow worker finishes as the sweep queues
        def enqueue(self, message, delay_seconds=0):
            super().enqueue(message, delay_seconds)
            entry = services.ledger.get(request.account_id)
            services.ledger.update(entry.evolve(writeback=WriteBackStatus.DONE))

    queue = LateWorker()
    report = sweep_abandoned(dataclasses.replace(services, retry_queue=queue))

    assert report.writebacks == (request.account_id,)
    assert services.ledger.get(request.account_id).writeback is WriteBackStatus.DONE  # not set back to queued
    assert found.writeback is WriteBackStatus.PENDING
    assert [message.customer_number for message in queue.take_all()] == [found.customer_number]


def test_a_write_back_queued_again_after_a_failed_attempt_waits_the_longest_delay(services, clock):
    request = parse_customer_request(sample("german-account"))
    services.writeback.login_fails = True
    services.retry_queue.available = False  # the login failed, and its retry could not be queued
    create_customer(request, services)
    services.writeback.login_fails = False
    services.retry_queue.available = True
    clock.now += services.stale_claim_after + timedelta(seconds=1)

    sweep_abandoned(services)

    [queued] = services.retry_queue.queued
    assert queued.message.kind is RetryKind.WRITEBACK
    assert queued.delay_seconds == services.retry.max_delay_seconds  # a repeated login failure locks the user


def test_the_sweep_reports_storage_down_when_it_cannot_queue_a_write_back(services, clock):
    request = parse_customer_request(sample("german-account"))
    with pytest.raises(WorkerDied):
        create_customer(request, dataclasses.replace(services, writeback=DyingWriteBack()))
    clock.now += services.stale_claim_after + timedelta(seconds=1)
    services.retry_queue.available = False

    with pytest.raises(StorageUnavailable):
        sweep_abandoned(services)
    assert services.ledger.get(request.account_id).writeback is WriteBackStatus.PENDING  # the next sweep tries again
