"""A deadline per relayed request (issue 20, item 3): the relay answers 504 to a request its listener has not
answered within 60 s, and the app reads a 504 to a create as "outcome unknown". So the agent starts SAP
work only while the unit can still be answered in time and otherwise answers `not_started` at once; the
app queues that as a transient failure with nothing sent. The deadline is shortened here (seconds, not
50 s); the relay double, the agent's listener and the app's transport are the real ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

import sap_simulator as simulator
from agent.__main__ import AGENT_DEFAULT_SAP_TIMEOUT_SECONDS, answer_deadline, build_listener, check_unit_budget
from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import ListenerThread
from devtools.fake_salesforce import salesforce_id18
from devtools.relay_double import RelayDoubleThread
from shared.core.ledger import LedgerStatus
from shared.core.mapping import map_customer_request, split_name
from shared.core.models import CustomerCreation
from shared.core.validation import parse_customer_request
from shared.sap import SapGateway
from shared.sap.errors import SapNotStarted
from shared.sap.port import SapCustomerCreated, SapInterface
from shared.sap.relay import AGENT_ANSWER_DEADLINE_SECONDS, RELAY_RESPONSE_LIMIT_SECONDS, RelaySapGateway
from shared.settings import RelayListenerSettings, RetrySettings, SettingsError, load_settings
from shared.usecases import Outcome, RetryOutcome, Services, create_customer, retry_create_customer
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

NAMESPACE = "relay-deadline.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
SEND_RULE, SEND_KEY = "app-send", "deadline-send-key"
LISTEN_RULE, LISTEN_KEY = "agent-listen", "deadline-listen-key"
# Short enough for a test, long enough for a loaded machine to deliver a request well before it:
# the agent starts a unit at the latest DEADLINE - UNIT after a request's arrival.
DEADLINE, UNIT = 2.0, 1.0


def payload(index: int) -> dict:
    return dict(sample("german-account"), accountId=salesforce_id18(f"001Dn777{index:07d}"), name=f"Frist {index} GmbH")


def creation_of(data: dict) -> CustomerCreation:
    lengths = simulated_gateway().check_interface().company_data_lengths
    return map_customer_request(
        parse_customer_request(data), load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization, lengths
    )


def sap_customers(system: simulator.SimulatedSap, data: dict) -> list:
    return [c for c in system.created_customers() if c.address.get("NAME") == split_name(data["name"])[0]]


class HeldSap(SapGateway):
    """The simulator's gateway whose create of `held_account` waits until `release` is set: a slow SAP
    unit holding the agent's only slot. `started` lists every account whose unit of work began."""

    def __init__(self, held_account: str) -> None:
        self.inner = simulated_gateway()
        self.held_account = held_account
        self.holding, self.release = threading.Event(), threading.Event()
        self.started: list[str] = []

    def check_interface(self) -> SapInterface:
        return self.inner.check_interface()

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        self.started.append(creation.account_id)
        if creation.account_id == self.held_account:
            self.holding.set()
            assert self.release.wait(30), "the test never released the held unit"
        return self.inner.create_customer(creation)

    def ping(self) -> None:
        self.inner.ping()


@pytest.fixture
def system() -> Iterator[simulator.SimulatedSap]:
    with simulator.use_system(simulator.SimulatedSap()) as fresh:
        yield fresh


@pytest.fixture
def relay() -> Iterator[RelayDoubleThread]:
    runner = RelayDoubleThread(
        {SEND_RULE: SEND_KEY, LISTEN_RULE: LISTEN_KEY},
        namespace=NAMESPACE,
        rights={SEND_RULE: {"Send"}, LISTEN_RULE: {"Listen"}},
        response_timeout_seconds=20,
    )
    with runner:
        yield runner


@pytest.fixture
def held(system: simulator.SimulatedSap) -> HeldSap:
    return HeldSap(held_account=payload(1)["accountId"])


@pytest.fixture
def agent(relay: RelayDoubleThread, held: HeldSap) -> Iterator[AgentApi]:
    api = AgentApi(held, path="sap", concurrency=1, unit_budget_seconds=UNIT, answer_deadline_seconds=DEADLINE)
    settings = RelayListenerSettings(
        URL, LISTEN_RULE, LISTEN_KEY, base_url=f"ws://{relay.double.host}:{relay.double.port}"
    )
    with ListenerThread(lambda: RelayListener(settings, api)):
        yield api
    held.release.set()


def transport(relay: RelayDoubleThread) -> RelaySapGateway:
    return RelaySapGateway(URL, SEND_RULE, SEND_KEY, base_url=relay.double.base_url)


def test_a_request_held_past_its_latest_start_is_not_started_and_never_reaches_sap(relay, agent, held, system):
    first, second = payload(1), payload(2)
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(transport(relay).create_customer, creation_of(first))
        assert held.holding.wait(10)  # the only slot is busy with the first account's unit

        with pytest.raises(SapNotStarted) as raised:  # waited for the slot past DEADLINE - UNIT
            transport(relay).create_customer(creation_of(second))
        assert not raised.value.outcome_unknown

        held.release.set()
        assert holding.result(30).customer_number.isdigit()
    assert held.started == [first["accountId"]]  # the second never began a unit of work
    assert len(sap_customers(system, first)) == 1 and sap_customers(system, second) == []
    assert agent.not_started == 1


class SlowFirstInterfaceSap(HeldSap):
    """Its first interface check (the create's metadata read before the gateway caches it) takes past the
    latest start of a request: the create's own unit must then not begin."""

    def __init__(self) -> None:
        super().__init__(held_account="")
        self.interface_checks = 0

    def check_interface(self) -> SapInterface:
        self.interface_checks += 1
        if self.interface_checks == 1:
            time.sleep(DEADLINE - UNIT + 0.5)
        return self.inner.check_interface()


def test_a_create_whose_interface_check_took_its_time_does_not_start_its_unit(relay, system):
    slow = SlowFirstInterfaceSap()
    api = AgentApi(slow, path="sap", concurrency=1, unit_budget_seconds=UNIT, answer_deadline_seconds=DEADLINE)
    settings = RelayListenerSettings(
        URL, LISTEN_RULE, LISTEN_KEY, base_url=f"ws://{relay.double.host}:{relay.double.port}"
    )
    with ListenerThread(lambda: RelayListener(settings, api)):
        with pytest.raises(SapNotStarted, match="interface check"):
            transport(relay).create_customer(creation_of(payload(3)))
        assert slow.started == [] and sap_customers(system, payload(3)) == []
        # the interface is known now: the next create starts at once and is created
        assert transport(relay).create_customer(creation_of(payload(3))).customer_number.isdigit()
    assert slow.started == [payload(3)["accountId"]] and len(sap_customers(system, payload(3))) == 1


def test_the_app_queues_a_not_started_create_as_transient_without_the_outcome_unknown_flag(relay, agent, held, system):
    services = Services(
        sap=transport(relay),
        ledger=InMemoryLedger(),
        retry_queue=InMemoryRetryQueue(),
        organization=load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization,
        retry=RetrySettings(max_attempts=4, base_delay_seconds=1, max_delay_seconds=8),
        stale_claim_after=timedelta(seconds=60),
    )
    first, second = payload(1), payload(2)
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(create_customer, parse_customer_request(first), services)
        assert held.holding.wait(10)

        result = create_customer(parse_customer_request(second), services)

        assert result.outcome is Outcome.QUEUED
        entry = services.ledger.get(second["accountId"])
        assert entry is not None and entry.status is LedgerStatus.QUEUED
        assert entry.outcome_unknown is False and entry.error_kind == "transient"
        [queued] = services.retry_queue.queued
        # nothing was sent, so nothing can still be running: the plain backoff, not the claim window
        assert queued.delay_seconds < services.stale_claim_after.total_seconds()
        assert sap_customers(system, second) == []

        held.release.set()
        assert holding.result(30).outcome is Outcome.CREATED
    assert [retry_create_customer(message, services) for message in services.retry_queue.take_all()] == [
        RetryOutcome.CREATED
    ]
    assert len(sap_customers(system, first)) == 1 and len(sap_customers(system, second)) == 1
    assert services.ledger.get(second["accountId"]).outcome_unknown is False


def test_the_agents_unit_must_fit_in_its_answer_deadline_which_fits_in_the_relays_limit():
    assert AGENT_ANSWER_DEADLINE_SECONDS < RELAY_RESPONSE_LIMIT_SECONDS
    assert check_unit_budget(AGENT_DEFAULT_SAP_TIMEOUT_SECONDS) < AGENT_ANSWER_DEADLINE_SECONDS
    with pytest.raises(SettingsError, match=r"^SAP_TIMEOUT_SECONDS=30: .* 150 s .* within 50 s"):
        check_unit_budget(30)  # the function app's default: 4 calls + the logon = 150 s
    with pytest.raises(ValueError, match="no request could start"):
        AgentApi(simulated_gateway(), path="sap", unit_budget_seconds=50, answer_deadline_seconds=50)
    assert answer_deadline({}) == AGENT_ANSWER_DEADLINE_SECONDS
    assert answer_deadline({"AGENT_ANSWER_DEADLINE_SECONDS": "3"}) == 3
    for too_long in ("61", "50.5", "0", "soon"):
        with pytest.raises(SettingsError, match=r"^AGENT_ANSWER_DEADLINE_SECONDS"):
            answer_deadline({"AGENT_ANSWER_DEADLINE_SECONDS": too_long})


def test_the_agent_starts_with_its_own_rfc_timeout_and_refuses_one_too_long_for_the_relay():
    environment = {
        "AGENT_RELAY_URL": URL,
        "AGENT_RELAY_KEY_NAME": LISTEN_RULE,
        "AGENT_RELAY_KEY": LISTEN_KEY,
        "SAP_TRANSPORT": "simulator",
        "AGENT_PROOF": "off",
    }
    api = build_listener(environment).handler
    assert isinstance(api, AgentApi)
    assert api.unit_budget_seconds == check_unit_budget(AGENT_DEFAULT_SAP_TIMEOUT_SECONDS)
    assert api.answer_deadline_seconds == AGENT_ANSWER_DEADLINE_SECONDS
    with pytest.raises(SettingsError, match=r"^SAP_TIMEOUT_SECONDS=30"):
        build_listener({**environment, "SAP_TIMEOUT_SECONDS": "30"})
    shorter = build_listener({**environment, "SAP_TIMEOUT_SECONDS": "1", "AGENT_ANSWER_DEADLINE_SECONDS": "6"})
    assert (shorter.handler.unit_budget_seconds, shorter.handler.answer_deadline_seconds) == (5, 6)
