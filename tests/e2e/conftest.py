"""The product as it runs: the local host serving function_app.py over real HTTP, Azurite for the
ledger and the retry queue, the SAP simulator, and the fake Salesforce over HTTPS.

SAP back ends: `product` runs on the RFC simulator (SAP_TRANSPORT=simulator) unless a test asks for
S/4HANA with `@pytest.mark.parametrize("product", ["rfc", "s4"], indirect=True)` (or BACK_ENDS): then the
app runs SAP_TRANSPORT=odata against the test's S/4 double (s4_simulator/, over real HTTP), and `product.sap`
is that double as tests/support/s4.py's S4System."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from devtools.azurite import AzuriteEndpoints
from devtools.fake_salesforce import FakeSalesforce
from tests.support.product import RunningProduct, local_host_serving_the_app
from tests.support.s4 import S4RunningProduct, ScriptedS4Simulator, s4_for_this_test, sap_back_end


@pytest.fixture
def s4_double() -> Iterator[ScriptedS4Simulator]:
    """A fresh S/4 system for the test (in memory, over real HTTP). One per test, not per session: it starts in
    about 25 ms (measured), while a shared one couples tests through their account Ids (the push tests' and the
    storm's coincide, and the storm would adopt the push test's partners instead of creating its own)."""
    with ScriptedS4Simulator() as double:
        yield double


@pytest.fixture
def product(request: pytest.FixtureRequest, azurite: AzuriteEndpoints, unique_name: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningProduct]:
    queue_name, table_name = f"retry{unique_name}", f"ledger{unique_name}"
    s4 = s4_for_this_test(request) if sap_back_end(request) == "s4" else None
    with FakeSalesforce() as salesforce:
        settings = {
            "AzureWebJobsStorage": azurite.connection_string,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "SAP_TRANSPORT": "simulator",
            "SAP_SIMULATOR_FAULTS": "",
            # Claims count as abandoned after the gateway's bound on one unit (5 x this) + 5 s (10 s
            # at least): the follow-up messages of 202 in_progress answers come back after that.
            "SAP_TIMEOUT_SECONDS": "1",
            "RETRY_QUEUE_NAME": queue_name,
            "LEDGER_TABLE_NAME": table_name,
            "RETRY_MAX_ATTEMPTS": "12",
            "RETRY_BASE_DELAY_SECONDS": "1",
            "RETRY_MAX_DELAY_SECONDS": "2",
            "RETRY_AFTER_SECONDS": "5",
            "SALESFORCE_WRITEBACK": "function",
            "SALESFORCE_AUTH": "client_credentials",
            "SALESFORCE_LOGIN_URL": salesforce.base_url,
            "SALESFORCE_CLIENT_ID": salesforce.credentials.client_id,
            "SALESFORCE_CLIENT_SECRET": salesforce.credentials.client_secret,
            "SALESFORCE_CA_BUNDLE": str(salesforce.ca_path),
            "PYTHON_THREADPOOL_THREAD_COUNT": "32",
            **(s4[1] if s4 else {}),
        }
        with local_host_serving_the_app(settings, monkeypatch) as (base_url, system):
            queue = QueueClient.from_connection_string(azurite.connection_string, queue_name)
            poison = QueueClient.from_connection_string(azurite.connection_string, f"{queue_name}-poison")
            ledger = TableClient.from_connection_string(azurite.connection_string, table_name)
            if s4 is not None:
                yield S4RunningProduct.started(base_url, s4[0], salesforce, queue, poison, ledger)
            else:
                yield RunningProduct(base_url, system, salesforce, queue, poison, ledger)
