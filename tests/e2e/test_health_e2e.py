"""Issue 13's health acceptance over real HTTP: the local host serving function_app.py, Azurite, the
SAP simulator and the fake Salesforce over HTTPS; and the relay transport through the relay double.

GET /api/health/deep: 200 when all are fine; 503 naming SAP when the simulator is down (its fault plan)
or no agent listens behind the relay; 503 naming Salesforce when the fake refuses the login."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import ListenerThread
from devtools.azurite import AzuriteEndpoints
from devtools.relay_double import RelayDouble, RelayDoubleThread
from shared.settings import RelayListenerSettings
from tests.support.product import RunningProduct, local_host_serving_the_app
from tests.support.sap import simulated_gateway

pytestmark = pytest.mark.e2e

KEY_NAME, KEY = "RootManageSharedAccessKey", "health-e2e-key"
NAMESPACE = "health-e2e.servicebus.windows.net"
RELAY_URL = f"https://{NAMESPACE}/sap"


def deep(base_url: str) -> tuple[int, dict]:
    response = requests.get(f"{base_url}/api/health/deep", timeout=30)
    return response.status_code, response.json()


def test_deep_health_is_200_when_all_are_fine_and_503_naming_each_failed_dependency(product: RunningProduct):
    status, body = deep(product.base_url)
    assert status == 200, body
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "sap": "ok",
        "storage": "ok",
        "salesforce": "ok",
    }
    assert all(check["ms"] >= 0 for check in body["checks"].values())

    product.sap.faults.down = True  # the simulator's fault plan: every connect and call fails
    status, body = deep(product.base_url)
    assert status == 503 and body["failed"] == ["sap"], body
    assert "sapsim" not in str(body)  # the simulator's SAP address is masked
    product.sap.faults.down = False

    product.salesforce.refuse_logins(True)
    status, body = deep(product.base_url)
    assert status == 503 and body["failed"] == ["salesforce"], body
    assert body["checks"]["salesforce"]["error"] == "SalesforceAuthenticationFailed"
    assert product.salesforce.credentials.client_secret not in str(body)
    product.salesforce.refuse_logins(False)

    assert deep(product.base_url)[0] == 200


@pytest.fixture
def relay_app(
    azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, RelayDouble]]:
    """The app on SAP_TRANSPORT=relay, the relay double in front; no agent until a test starts one."""
    with RelayDoubleThread({KEY_NAME: KEY}, namespace=NAMESPACE, response_timeout_seconds=10) as double:
        settings = {
            "AzureWebJobsStorage": azurite.connection_string,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "SAP_TRANSPORT": "relay",
            "SAP_RELAY_URL": RELAY_URL,
            "SAP_RELAY_KEY_NAME": KEY_NAME,
            "SAP_RELAY_KEY": KEY,
            "SAP_RELAY_BASE_URL": double.base_url,
            "SAP_TIMEOUT_SECONDS": "2",
            "RETRY_QUEUE_NAME": f"retry{unique_name}",
            "LEDGER_TABLE_NAME": f"ledger{unique_name}",
            "SALESFORCE_WRITEBACK": "off",
        }
        for name in ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID"):
            monkeypatch.delenv(name, raising=False)
        with local_host_serving_the_app(settings, monkeypatch) as (base_url, _system):
            yield base_url, double


def test_deep_health_names_sap_when_no_agent_listens_behind_the_relay(relay_app):
    base_url, double = relay_app
    status, body = deep(base_url)
    assert status == 503 and body["failed"] == ["sap"], body
    sap = body["checks"]["sap"]
    assert sap["error"] == "SapTransientError" and "no SAP agent listening" in sap["detail"]
    assert body["checks"]["salesforce"]["status"] == "not_configured"
    assert KEY not in str(body) and NAMESPACE not in str(body)

    settings = RelayListenerSettings(RELAY_URL, KEY_NAME, KEY, base_url=f"ws://{double.host}:{double.port}")
    with ListenerThread(lambda: RelayListener(settings, AgentApi(simulated_gateway(), path="sap"))):
        status, body = deep(base_url)
        assert status == 200, body
        sap_only = requests.get(f"{base_url}/api/health/sap", timeout=30)
        assert sap_only.status_code == 200 and sap_only.json()["checks"]["sap"]["status"] == "ok"
