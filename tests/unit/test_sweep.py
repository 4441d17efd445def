"""The sweep finishes what a dead worker or a lost message left behind, without a resend from the flow."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.ledger import LedgerStatus
from shared.core.mapping import split_name
from shared.core.validation import parse_customer_request
from shared.sap import SapGateway, SapInterface
from shared.usecases import RetryOutcome, Services, create_customer, retry_create_customer, sweep_abandoned
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
def test_a_claim_whose_worker_died_is_finished_by_the_sweep_with_one_customer(services, clock, sap_system,
                                                                           after_sap):
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
        LedgerStatus.CREATED, LedgerStatus.FAILED}


def test_the_retry_path_holds_the_request_too(services, sap_system):
    request = parse_customer_request(sample("german-account"))
    sap_system.faults.down = True
    create_customer(request, services)
    assert services.ledger.get(request.account_id).payload == request.to_payload()


def test_a_created_answer_leaves_no_request_in_the_ledger(services):
    request = parse_customer_request(sample("german-account"))
    create_customer(request, services)
    assert services.ledger.get(request.account_id).payload is None
