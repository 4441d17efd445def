"""The change path through the relay (shared/sap/relay_change.py): the relay transport -> the relay double -> the
agent -> the simulator; an agent older than the change path (no /v1/change) is a configuration error naming
what it serves, never "applied"; a change delivered but not answered is an unknown outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayListener, RelayRequest, RelayResponse
from agent.thread import ListenerThread
from devtools.relay_double import RelayDouble, RelayDoubleThread
from shared.core.change_models import CustomerChange
from shared.sap import SapConfigurationError, SapOutcomeUnknown
from shared.sap.relay import RelaySapGateway
from shared.settings import RelayListenerSettings
from tests.support.sap import GERMAN_ADDRESS, customer_in_sales_area, fresh_system_with, simulated_gateway

KEY_NAME, KEY = "RootManageSharedAccessKey", "relay-change-test-key"
NAMESPACE = "relay-double.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
CUSTOMER = "0000100001"
ADDRESS = {**GERMAN_ADDRESS, "NAME": "Müller GmbH"}
CHANGE = CustomerChange(
    "001Aj00000AbCdEIAV", CUSTOMER, {"STREET": "Neue Str. 1"}, "1000", "10", "00", "2026-12-07T10:00:00.000Z"
)


class OlderAgent(AgentApi):
    """An agent of the release before the change path: its operations without /v1/change and /v1/read."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for operation in ("/v1/change", "/v1/read"):
            del self._operations[operation]


@pytest.fixture
def system() -> Iterator[simulator.SimulatedSap]:
    with fresh_system_with(customer_in_sales_area(CUSTOMER, ADDRESS)) as fresh:
        yield fresh


@pytest.fixture
def relay() -> Iterator[RelayDouble]:
    with RelayDoubleThread({KEY_NAME: KEY}, namespace=NAMESPACE, response_timeout_seconds=1.0) as double:
        yield double


def listening(relay: RelayDouble, handler: Callable[[RelayRequest], Awaitable[RelayResponse]]) -> ListenerThread:
    settings = RelayListenerSettings(URL, KEY_NAME, KEY, base_url=f"ws://{relay.host}:{relay.port}")
    return ListenerThread(lambda: RelayListener(settings, handler))


def transport(relay: RelayDouble) -> RelaySapGateway:
    return RelaySapGateway(URL, KEY_NAME, KEY, base_url=relay.base_url, read_timeout_seconds=10)


def test_a_change_travels_to_the_agent_and_sap_holds_it(relay, system):
    with listening(relay, AgentApi(simulated_gateway(), path="sap")):
        gateway = transport(relay)
        assert gateway.change_customer(CHANGE).customer_number == CUSTOMER
        assert gateway.read_customer(CUSTOMER).company_data["STREET"] == "Neue Str. 1"
    assert system.customer(CUSTOMER).address == {**ADDRESS, "STREET": "Neue Str. 1"}


def test_an_older_agent_is_a_configuration_error_naming_what_it_serves_and_nothing_changes(relay, system):
    with listening(relay, OlderAgent(simulated_gateway(), path="sap")), pytest.raises(SapConfigurationError) as raised:
        transport(relay).change_customer(CHANGE)
    assert "/v1/change" in raised.value.detail and "update the agent" in raised.value.detail
    assert "wire version 1" in raised.value.detail and "/v1/create" in raised.value.detail
    assert not raised.value.outcome_unknown and system.customer(CUSTOMER).address == ADDRESS


def test_a_change_delivered_but_not_answered_is_an_unknown_outcome(relay, system):
    async def never_answers(request: RelayRequest) -> RelayResponse:
        await asyncio.sleep(1.5)  # the relay double gives up after 1 s with 504
        return RelayResponse(204)

    with listening(relay, never_answers), pytest.raises(SapOutcomeUnknown):
        transport(relay).change_customer(CHANGE)
