"""SAP_TRANSPORT=relay: the function app's relay transport -> the relay double -> the agent -> the simulator,
and how the transport classifies what the relay answers itself (no listener, too slow, cut, refused).
The agent's listener is also held to the protocol's other parts: rendezvous both ways, token renewal,
reconnect after the relay drops it."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayListener, RelayRequest, RelayResponse
from agent.thread import ListenerThread
from devtools.relay_double import RelayDouble, RelayDoubleThread
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request
from shared.sap import (
    SapBusinessRejection,
    SapConfigurationError,
    SapOutcomeUnknown,
    SapTransientError,
)
from shared.sap.relay import RelaySapGateway
from shared.settings import RelayListenerSettings, SettingsError, load_relay_listener_settings, load_settings
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

KEY_NAME, KEY = "RootManageSharedAccessKey", "relay-transport-test-key"
NAMESPACE = "relay-double.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"


@pytest.fixture
def system() -> Iterator[simulator.SimulatedSap]:
    with simulator.use_system(simulator.SimulatedSap()) as fresh:
        yield fresh


@pytest.fixture
def relay() -> Iterator[RelayDoubleThread]:
    runner = RelayDoubleThread({KEY_NAME: KEY}, namespace=NAMESPACE, response_timeout_seconds=2.0)
    with runner:
        yield runner


def listener_settings(double: RelayDouble) -> RelayListenerSettings:
    return RelayListenerSettings(URL, KEY_NAME, KEY, base_url=f"ws://{double.host}:{double.port}")


@pytest.fixture
def agent(relay: RelayDoubleThread, system: simulator.SimulatedSap) -> Iterator[RelayListener]:
    thread = ListenerThread(
        lambda: RelayListener(listener_settings(relay.double), AgentApi(simulated_gateway(), path="sap"))
    )
    with thread as listener:
        yield listener


def transport(double: RelayDouble, key: str = KEY, read_timeout: float = 10.0) -> RelaySapGateway:
    return RelaySapGateway(URL, KEY_NAME, key, base_url=double.base_url, read_timeout_seconds=read_timeout)


def creation(**changes: str):
    request = parse_customer_request({**sample("german-account"), **changes})
    lengths = simulated_gateway().check_interface().company_data_lengths
    return map_customer_request(request, load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization, lengths)


def test_a_create_travels_to_the_agent_and_back_with_the_number(relay, agent, system):
    gateway = transport(relay.double)
    assert gateway.check_interface().company_data_lengths["NAME"] >= 35
    created = gateway.create_customer(creation())
    assert created.customer_number.isdigit() and not created.adopted
    assert [c.number for c in system.created_customers()] == [created.customer_number]
    gateway.ping()
    assert relay.double.stats.violations == []


def test_sap_errors_come_back_as_the_same_classes(relay, agent, system):
    gateway = transport(relay.double)
    with pytest.raises(SapBusinessRejection) as rejected:
        gateway.create_customer(creation(referenceCustomer="0000003000"))
    assert (rejected.value.message.id, rejected.value.message.number) == ("VR", "112")
    system.faults.arm("communication_after_commit")
    first = creation()
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(first)
    adopted = gateway.create_customer(dataclasses.replace(first, search_since=datetime.now(UTC)))
    assert adopted.adopted and len(system.created_customers()) == 1
    system.faults.down = True
    with pytest.raises(SapTransientError) as down:
        gateway.ping()
    assert not down.value.outcome_unknown


def test_no_listener_is_transient_and_nothing_was_delivered(relay):
    with pytest.raises(SapTransientError) as raised:
        transport(relay.double).create_customer(creation())
    assert not raised.value.outcome_unknown and "502" in raised.value.detail
    relay.double.unavailable = True
    with pytest.raises(SapTransientError) as busy:
        transport(relay.double).create_customer(creation())
    assert not busy.value.outcome_unknown and "503" in busy.value.detail


def test_a_create_delivered_but_not_answered_is_an_unknown_outcome(relay):
    async def slow(request: RelayRequest) -> RelayResponse:
        await asyncio.sleep(1.5)
        return RelayResponse(200, b"{}")

    relay.double.response_timeout_seconds = 1.0

    with ListenerThread(lambda: RelayListener(listener_settings(relay.double), slow)):
        started = time.monotonic()
        with pytest.raises(SapOutcomeUnknown) as raised:
            transport(relay.double).create_customer(creation())  # the double answers 504 after 1 s
        assert "504" in raised.value.detail and time.monotonic() - started < 3
        with pytest.raises(SapTransientError) as ping:
            transport(relay.double).ping()  # nothing is created by a ping: transient, not unknown
        assert not ping.value.outcome_unknown
        with pytest.raises(SapOutcomeUnknown) as timed_out:
            transport(relay.double, read_timeout=0.5).create_customer(creation())  # our own read timeout
        assert "ReadTimeout" in timed_out.value.detail


def test_a_wrong_key_is_a_configuration_error_and_a_dead_relay_transient(relay):
    with pytest.raises(SapConfigurationError) as refused:
        transport(relay.double, key="not the key").ping()
    assert "401" in refused.value.detail
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    dead = RelaySapGateway(URL, KEY_NAME, KEY, base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(SapTransientError) as unreachable:
        dead.create_customer(creation())
    assert not unreachable.value.outcome_unknown


def test_the_agent_listener_uses_the_rendezvous_both_ways_and_renews_its_token(relay):
    async def echo(request: RelayRequest) -> RelayResponse:
        return RelayResponse(200, request.body * 2 if len(request.body) < 10 else request.body[::-1])

    settings = listener_settings(relay.double)
    with ListenerThread(lambda: RelayListener(settings, echo, renew_every_seconds=0.2)):
        import requests

        from shared.sap.relay import sas_token

        headers = {"ServiceBusAuthorization": sas_token(URL, KEY_NAME, KEY)}
        big = bytes(range(256)) * 600  # 153 600 bytes
        answer = requests.post(f"{relay.double.base_url}/sap/v1/echo", data=big, headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.content == big[::-1]
        assert relay.double.stats.rendezvous_requests == 1
        small = requests.post(f"{relay.double.base_url}/sap/v1/echo", data=b"ab", headers=headers, timeout=10)
        assert small.content == b"abab"
        deadline = time.monotonic() + 5
        while len(relay.double.stats.renewals) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(relay.double.stats.renewals) >= 2 and relay.double.stats.violations == []


def test_the_agent_reconnects_after_the_relay_drops_it(relay):
    async def ok(request: RelayRequest) -> RelayResponse:
        return RelayResponse(204)

    thread = ListenerThread(lambda: RelayListener(listener_settings(relay.double), ok, reconnect_delays=(0, 0.2, 0.5)))
    with thread as listener:
        relay.call(relay.double.drop_listeners())
        deadline = time.monotonic() + 5
        while listener.connections < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.connections >= 2
        relay.call(relay.double.wait_for_listeners(1))
        transport(relay.double).ping()


def test_the_relay_settings_pass_the_start_check_and_build_the_transport_without_the_network(monkeypatch):
    from shared import bootstrap

    environment = {
        "SAP_TRANSPORT": "relay",
        "SAP_RELAY_URL": URL,
        "SAP_RELAY_KEY_NAME": KEY_NAME,
        "SAP_RELAY_KEY": KEY,
        "SAP_RELAY_BASE_URL": "http://127.0.0.1:9",
        "RETRY_QUEUE_NAME": "retry",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    try:
        config = bootstrap.check_start_settings()
        assert isinstance(bootstrap.build_sap_gateway(config), RelaySapGateway)
    finally:
        bootstrap.reset()


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"SAP_RELAY_URL": "http://ns.servicebus.windows.net/sap"}, "SAP_RELAY_URL"),
        ({"SAP_RELAY_URL": "https://ns.servicebus.windows.net"}, "SAP_RELAY_URL"),
        ({"SAP_RELAY_BASE_URL": "ftp://127.0.0.1:1"}, "SAP_RELAY_BASE_URL"),
        ({"SAP_RELAY_BASE_URL": "http://127.0.0.1:1", "WEBSITE_SITE_NAME": "app"}, "SAP_RELAY_BASE_URL"),
    ],
)
def test_relay_settings_are_checked_and_named(environment, named):
    base = {"SAP_TRANSPORT": "relay", "SAP_RELAY_URL": URL, "SAP_RELAY_KEY_NAME": KEY_NAME, "SAP_RELAY_KEY": KEY}
    with pytest.raises(SettingsError) as raised:
        load_settings({**base, **environment})
    assert str(raised.value).startswith(named)


def test_the_agent_settings_build_the_listen_url_and_hide_the_key():
    settings = load_relay_listener_settings(
        {
            "AGENT_RELAY_URL": "https://ns.servicebus.windows.net/sap-agent/",
            "AGENT_RELAY_KEY_NAME": "listen",
            "AGENT_RELAY_KEY": "secret",
        }
    )
    assert settings.listen_url == "wss://ns.servicebus.windows.net/$hc/sap-agent?sb-hc-action=listen"
    assert "secret" not in repr(settings)
    local = dataclasses.replace(settings, base_url="ws://127.0.0.1:9352")
    assert local.listen_url == "ws://127.0.0.1:9352/$hc/sap-agent?sb-hc-action=listen"
    with pytest.raises(SettingsError, match=r"^AGENT_RELAY_KEY:"):
        load_relay_listener_settings({"AGENT_RELAY_URL": URL, "AGENT_RELAY_KEY_NAME": "listen"})


def test_a_big_answer_to_a_small_request_goes_through_the_rendezvous(relay):
    big = bytes(range(256)) * 400  # 102 400 bytes

    async def large(request: RelayRequest) -> RelayResponse:
        return RelayResponse(200, big, {"Content-Type": "application/octet-stream"})

    with ListenerThread(lambda: RelayListener(listener_settings(relay.double), large)):
        import requests

        from shared.sap.relay import sas_token

        answer = requests.get(
            f"{relay.double.base_url}/sap/v1/big",
            headers={"ServiceBusAuthorization": sas_token(URL, KEY_NAME, KEY)},
            timeout=10,
        )
    assert answer.status_code == 200 and answer.content == big
    assert relay.double.stats.rendezvous_requests == 0 and relay.double.stats.rendezvous_responses == 1


def test_a_listener_whose_token_expires_is_closed_and_comes_back_with_a_new_one(relay):
    async def ok(request: RelayRequest) -> RelayResponse:
        return RelayResponse(204)

    thread = ListenerThread(
        lambda: RelayListener(listener_settings(relay.double), ok, token_lifetime_seconds=2, renew_every_seconds=3600)
    )
    with thread as listener:
        deadline = time.monotonic() + 8
        while listener.connections < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.connections >= 2  # the double closed it with 1008 at expiry; it reconnected
        relay.call(relay.double.wait_for_listeners(1))
        transport(relay.double).ping()


def test_stopping_the_agent_finishes_the_request_in_flight(relay):
    import threading

    started = threading.Event()

    async def slowish(request: RelayRequest) -> RelayResponse:
        started.set()
        await asyncio.sleep(0.5)
        return RelayResponse(204)

    thread = ListenerThread(lambda: RelayListener(listener_settings(relay.double), slowish))
    thread.start()
    outcome: list[object] = []
    pinging = threading.Thread(target=lambda: outcome.append(_ping(relay.double)))
    pinging.start()
    assert started.wait(5)
    thread.stop()
    pinging.join(10)
    assert outcome == [None]


def _ping(double: RelayDouble) -> object:
    try:
        transport(double).ping()
    except Exception as error:  # the test reports what the ping raised
        return error
    return None
