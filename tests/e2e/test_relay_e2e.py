"""Issue 10's first acceptance: the function app on SAP_TRANSPORT=relay -> the relay double -> the
on-premise agent -> the SAP simulator -> 201 with a number; a replay answers 200 with the same number;
with no agent listening the request is queued (202) and the queue trigger finishes it once the agent is
back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import requests

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import ListenerThread
from devhost import LocalHost
from devtools.azurite import AzuriteEndpoints
from devtools.relay_double import RelayDouble, RelayDoubleThread
from shared import bootstrap
from shared.sap.port import SapGateway
from shared.settings import RelayListenerSettings
from tests.support.s4 import business_partner_gateway, s4_for_this_test, sap_back_end
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
KEY_NAME, KEY = "RootManageSharedAccessKey", "relay-e2e-key"
NAMESPACE = "relay-e2e.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"


@dataclass
class RelayProduct:
    base_url: str
    sap: simulator.SimulatedSap
    double: RelayDouble
    # The agent's SAP gateway: the rfc adapter on the simulator, or (the S/4 variant) the Business Partner
    # gateway on the test's S/4 double.
    sap_gateway: Callable[[], SapGateway] = simulated_gateway

    def agent(self) -> ListenerThread:
        settings = RelayListenerSettings(URL, KEY_NAME, KEY, base_url=f"ws://{self.double.host}:{self.double.port}")
        return ListenerThread(lambda: RelayListener(settings, AgentApi(self.sap_gateway(), path="sap")))


@pytest.fixture
def relay_product(
    request: pytest.FixtureRequest, azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RelayProduct]:
    """With `parametrize("relay_product", BACK_ENDS, indirect=True)` the agent serves the test's S/4 double too."""
    sap_gateway: Callable[[], SapGateway] = simulated_gateway
    if sap_back_end(request) == "s4":
        s4, _ = s4_for_this_test(request)
        sap_gateway = partial(business_partner_gateway, s4.double)
    with RelayDoubleThread({KEY_NAME: KEY}, namespace=NAMESPACE, response_timeout_seconds=10) as double:
        settings = {
            "AzureWebJobsStorage": azurite.connection_string,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "SAP_TRANSPORT": "relay",
            "SAP_RELAY_URL": URL,
            "SAP_RELAY_KEY_NAME": KEY_NAME,
            "SAP_RELAY_KEY": KEY,
            "SAP_RELAY_BASE_URL": double.base_url,
            "SAP_TIMEOUT_SECONDS": "2",
            "RETRY_QUEUE_NAME": f"retry{unique_name}",
            "LEDGER_TABLE_NAME": f"ledger{unique_name}",
            "RETRY_BASE_DELAY_SECONDS": "1",
            "RETRY_MAX_DELAY_SECONDS": "1",
            "RETRY_AFTER_SECONDS": "5",
            "SALESFORCE_WRITEBACK": "off",
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        for name in ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID"):
            monkeypatch.delenv(name, raising=False)
        bootstrap.reset()
        with simulator.use_system(simulator.SimulatedSap()) as system:
            host = LocalHost(str(ROOT), port=0, polling_cap_seconds=0.5).start()
            try:
                yield RelayProduct(host.base_url, system, double, sap_gateway)
            finally:
                host.stop()
                bootstrap.reset()


def post(product: RelayProduct, payload: dict) -> requests.Response:
    return requests.post(f"{product.base_url}/api/customers", json=payload, timeout=30)


def test_function_relay_agent_simulator_answers_201_with_a_number(relay_product):
    payload = sample("german-account")
    with relay_product.agent():
        created = post(relay_product, payload)
        assert created.status_code == 201, created.text
        number = created.json()["customerNumber"]
        assert [c.number for c in relay_product.sap.created_customers()] == [number]
        replay = post(relay_product, payload)
        assert replay.status_code == 200 and replay.json()["customerNumber"] == number
    assert relay_product.double.stats.violations == []


def test_without_an_agent_the_create_is_queued_and_finished_once_it_is_back(relay_product):
    import time

    payload = sample("german-account")
    queued = post(relay_product, payload)
    assert queued.status_code == 202, queued.text
    assert relay_product.sap.created_customers() == []
    with relay_product.agent():
        account = queued.json()["accountId"]
        deadline = time.monotonic() + 20
        status: dict = {}
        while time.monotonic() < deadline:
            status = requests.get(f"{relay_product.base_url}/api/customers/{account}", timeout=10).json()
            if status.get("status") == "created":
                break
            time.sleep(0.2)
        assert status.get("status") == "created", status
        assert [c.number for c in relay_product.sap.created_customers()] == [status["customerNumber"]]
