"""Twins (two accounts with the same name and address) never share an SAP customer, and an operator's resolve
is a fact the duplicate guard respects: over the simulator, the RFC gateway and the in-memory ledger."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

import sap_simulator as simulator
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.mapping import split_name
from shared.core.validation import parse_customer_request
from shared.sap import SapCustomerCreated, SapGateway, SapInterface
from shared.usecases import (
    CustomerHeldByAnotherAccount,
    Outcome,
    RetryOutcome,
    Services,
    create_customer,
    named_by_guard,
    resolve_needs_review,
    retry_create_customer,
)
from tests.support.samples import sample

TWIN_A, TWIN_B = "001Dn00000TwinA", "001Dn00000TwinB"
NOW = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)


def drain(services: Services) -> list[RetryOutcome]:
    outcomes = []
    for _ in range(20):
        messages = services.retry_queue.take_all()
        if not messages:
            return outcomes
        outcomes.extend(retry_create_customer(message, services) for message in messages)
    raise AssertionError("retry queue did not drain")


def twin(account_id: str):
    return parse_customer_request(dict(sample("german-account"), accountId=account_id))


def customers_named(system: simulator.SimulatedSap, name: str) -> list[simulator.CustomerRecord]:
    return system.customers_where("NAME", split_name(name)[0])


def test_a_twin_whose_create_broke_after_the_bapi_gets_a_customer_of_its_own(fake_services, sap_system):
    a, b = twin(TWIN_A), twin(TWIN_B)
    sap_system.faults.arm("communication_after_bapi")  # A's create was sent, SAP committed nothing
    assert create_customer(a, fake_services).outcome is Outcome.QUEUED
    created_b = create_customer(b, fake_services)  # meanwhile B, alike in every field, is created
    assert created_b.outcome is Outcome.CREATED

    # A's guard finds B's customer (same name and address, the RFC user, since A's first attempt): the
    # ledger gives it to B, so it searches again without it, finds nothing of A's and creates.
    assert drain(fake_services) == [RetryOutcome.CREATED]

    entry_a, entry_b = fake_services.ledger.get(a.account_id), fake_services.ledger.get(b.account_id)
    assert entry_b.customer_number == created_b.customer_number
    assert entry_a.status is LedgerStatus.CREATED and not entry_a.adopted
    assert entry_a.customer_number != entry_b.customer_number
    assert {c.number for c in customers_named(sap_system, a.name)} == {entry_a.customer_number, entry_b.customer_number}
    assert fake_services.ledger.holder_of(entry_a.customer_number) == a.account_id
    assert fake_services.ledger.holder_of(entry_b.customer_number) == b.account_id


def test_a_twin_whose_answer_was_lost_adopts_its_own_customer_not_the_other_accounts(fake_services, sap_system):
    a, b = twin(TWIN_A), twin(TWIN_B)
    sap_system.faults.arm("communication_after_commit")  # A's customer exists, its answer was lost
    assert create_customer(a, fake_services).outcome is Outcome.QUEUED
    [a_customer] = customers_named(sap_system, a.name)
    created_b = create_customer(b, fake_services)

    # Two plausible matches, one of them B's in the ledger: the other is A's.
    assert drain(fake_services) == [RetryOutcome.CREATED]

    entry_a = fake_services.ledger.get(a.account_id)
    assert entry_a.customer_number == a_customer.number and entry_a.adopted
    assert created_b.customer_number != a_customer.number
    assert len(customers_named(sap_system, a.name)) == 2


class AnotherAccountAdoptsFirst(SapGateway):
    """The real gateway, except that right after SAP answers, another account's guard holds the number in the
    ledger first (it searched between our commit and our reverse entry and adopted what it found)."""

    def __init__(self, real: SapGateway, services: Services, other_account: str) -> None:
        self._real, self._services, self._other = real, services, other_account
        self.taken: list[str] = []

    def create_customer(self, creation: Any) -> SapCustomerCreated:
        created = self._real.create_customer(creation)
        if not self.taken:
            self.taken.append(created.customer_number)
            self._services.ledger.hold_customer(created.customer_number, self._other)
        return created

    def check_interface(self) -> SapInterface:
        return self._real.check_interface()

    def ping(self) -> None:
        self._real.ping()


def test_a_create_whose_number_another_account_took_first_creates_again_and_records_only_its_own(
    fake_services, sap_system
):
    racing = AnotherAccountAdoptsFirst(fake_services.sap, fake_services, TWIN_B)
    services = dataclasses.replace(fake_services, sap=racing)
    a = twin(TWIN_A)

    result = create_customer(a, services)

    [taken] = racing.taken
    assert result.outcome is Outcome.CREATED and result.customer_number != taken
    assert services.ledger.get(a.account_id).customer_number == result.customer_number
    assert services.ledger.holder_of(taken) == TWIN_B  # the number stays with the account that held it first
    assert services.ledger.holder_of(result.customer_number) == a.account_id


def _held_for_review(services: Services, sap_system: simulator.SimulatedSap):
    """An account whose answer was lost while a customer alike in every field appeared: held for review."""
    request = twin(TWIN_A)
    sap_system.faults.arm("communication_after_commit")
    assert create_customer(request, services).outcome is Outcome.QUEUED
    [first] = customers_named(sap_system, request.name)
    look_alike = dataclasses.replace(first, number="0000199999")
    sap_system.add_customer(look_alike)
    assert drain(services) == [RetryOutcome.NEEDS_REVIEW]
    entry = services.ledger.get(request.account_id)
    assert set(entry.review_candidates) == {first.number, look_alike.number}
    return request, first, look_alike


@pytest.mark.parametrize("fault", ["communication_after_bapi", "communication_after_commit"])
def test_resolve_create_whose_create_breaks_after_the_bapi_ends_created_not_held_again(
    fake_services, sap_system, fault
):
    request, first, look_alike = _held_for_review(fake_services, sap_system)

    resolve_needs_review(request.account_id, fake_services, create=True)
    sap_system.faults.arm(fault)  # the operator's create is sent and its answer lost (committed or not)
    outcomes = drain(fake_services)

    # The retry searches from the resolve, without the two customers the operator rejected: it finds the
    # one the broken create committed (and adopts it), or none (and creates).
    assert outcomes == [RetryOutcome.REQUEUED, RetryOutcome.CREATED]
    entry = fake_services.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.CREATED
    assert entry.customer_number not in (first.number, look_alike.number)
    assert set(entry.rejected_customers) == {first.number, look_alike.number}
    assert len(customers_named(sap_system, request.name)) == 3
    assert entry.adopted is (fault == "communication_after_commit")


def test_resolve_customer_refuses_a_number_the_ledger_holds_for_another_account(fake_services, sap_system):
    request, first, _ = _held_for_review(fake_services, sap_system)
    fake_services.ledger.hold_customer(first.number, TWIN_B)

    with pytest.raises(CustomerHeldByAnotherAccount, match=TWIN_B):
        resolve_needs_review(request.account_id, fake_services, customer_number=first.number.lstrip("0"))

    entry = fake_services.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.NEEDS_REVIEW and entry.customer_number is None
    assert fake_services.ledger.holder_of(first.number) == TWIN_B


def test_resolve_customer_holds_the_number_for_the_account_and_tells_whether_the_guard_named_it(
    fake_services, sap_system
):
    request, first, _ = _held_for_review(fake_services, sap_system)
    held = fake_services.ledger.get(request.account_id)
    assert named_by_guard(held, first.number.lstrip("0"))
    assert not named_by_guard(held, "0000123456")

    resolved = resolve_needs_review(request.account_id, fake_services, customer_number=first.number)

    assert resolved.status is LedgerStatus.CREATED and resolved.customer_number == first.number
    assert fake_services.ledger.holder_of(first.number) == request.account_id


def test_a_twin_never_adopts_the_customer_of_an_account_created_before_reverse_entries(fake_services, sap_system):
    a, b = twin(TWIN_A), twin(TWIN_B)
    sap_system.faults.arm("communication_after_bapi")
    assert create_customer(a, fake_services).outcome is Outcome.QUEUED
    created_b = create_customer(b, fake_services)
    fake_services.ledger.holders.clear()  # B was created by a version that wrote no reverse entry

    assert drain(fake_services) == [RetryOutcome.CREATED]

    assert fake_services.ledger.get(a.account_id).customer_number != created_b.customer_number
    assert fake_services.ledger.holder_of(created_b.customer_number) == b.account_id


class SlowRounds(SapGateway):
    """The real gateway on a clock that moves most of a claim window per call; during its second call the flow
    sends the account again (what a resend does then is what the claim rules decide)."""

    def __init__(self, real: SapGateway, services: Services, request) -> None:
        self._real, self.services, self._request = real, services, request
        self.now = services.clock()
        self.calls = 0
        self.resend: Outcome | None = None

    def create_customer(self, creation: Any) -> SapCustomerCreated:
        self.calls += 1
        self.now += self.services.stale_claim_after * 0.9
        if self.calls == 2:
            self.resend = create_customer(self._request, self.services).outcome
        return self._real.create_customer(creation)

    def check_interface(self) -> SapInterface:
        return self._real.check_interface()

    def ping(self) -> None:
        self._real.ping()


def test_a_guard_that_searches_again_renews_its_claim_so_no_resend_takes_the_account_over(fake_services, sap_system):
    a, b = twin(TWIN_A), twin(TWIN_B)
    sap_system.faults.arm("communication_after_bapi")
    assert create_customer(a, fake_services).outcome is Outcome.QUEUED
    taken = create_customer(b, fake_services).customer_number
    slow = SlowRounds(fake_services.sap, fake_services, a)
    services = dataclasses.replace(fake_services, sap=slow, clock=lambda: slow.now)
    slow.services = services

    assert [retry_create_customer(m, services) for m in services.retry_queue.take_all()] == [RetryOutcome.CREATED]

    # Two searches, each most of a window long: the resend during the second found a live claim.
    assert slow.calls == 2 and slow.resend is Outcome.IN_PROGRESS
    entry = services.ledger.get(a.account_id)
    assert entry.status is LedgerStatus.CREATED and entry.customer_number != taken
    assert len(customers_named(sap_system, a.name)) == 2


@pytest.mark.parametrize(
    ("typed", "named"),
    [("100001", True), ("0000199999", True), ("1000", False), ("10000", False), ("0000100002", False)],
)
def test_an_account_held_before_candidates_were_recorded_names_them_in_its_last_error(typed, named):
    entry = LedgerEntry(
        account_id=TWIN_A,
        status=LedgerStatus.NEEDS_REVIEW,
        tracking_id="t",
        created_at=NOW,
        updated_at=NOW,
        last_error="held for review: 2 SAP customers match the account and were "
        "created by the RFC user since the first attempt: 0000100001, "
        "0000199999",
    )
    assert named_by_guard(entry, typed) is named


class AgentOlderThanExclusions(SapGateway):
    """An on-premise agent of a version before `excludedCustomers`: it reads the create without them."""

    def __init__(self, real: SapGateway) -> None:
        self._real = real

    def create_customer(self, creation: Any) -> SapCustomerCreated:
        return self._real.create_customer(dataclasses.replace(creation, excluded_customers=()))

    def check_interface(self) -> SapInterface:
        return self._real.check_interface()

    def ping(self) -> None:
        self._real.ping()


def test_behind_an_agent_that_ignores_the_exclusion_a_twin_is_held_for_review_never_given_the_other_customer(
    fake_services, sap_system
):
    a, b = twin(TWIN_A), twin(TWIN_B)
    sap_system.faults.arm("communication_after_bapi")
    assert create_customer(a, fake_services).outcome is Outcome.QUEUED
    taken = create_customer(b, fake_services).customer_number
    services = dataclasses.replace(fake_services, sap=AgentOlderThanExclusions(fake_services.sap))

    assert drain(services) == [RetryOutcome.NEEDS_REVIEW]

    entry = services.ledger.get(a.account_id)
    assert entry.status is LedgerStatus.NEEDS_REVIEW and entry.customer_number is None
    assert taken not in entry.review_candidates  # not a candidate: the ledger gives it to B
    assert services.ledger.holder_of(taken) == b.account_id
    assert sap_system.calls["BAPI_CUSTOMER_FIND"] == 2  # the second search, told to leave it out, adopted it
    # again: held there, no third
