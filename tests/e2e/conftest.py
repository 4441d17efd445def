"""The product as it runs: the local host serving function_app.py over real HTTP, Azurite for the
ledger and the retry queue, the SAP simulator, and the fake Salesforce over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from devtools.azurite import AzuriteEndpoints
from devtools.fake_salesforce import FakeSalesforce
from tests.support.product import RunningProduct, local_host_serving_the_app


@pytest.fixture
def product(azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningProduct]:
    queue_name, table_name = f"retry{unique_name}", f"ledger{unique_name}"
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
        }
        with local_host_serving_the_app(settings, monkeypatch) as (base_url, system):
            queue = QueueClient.from_connection_string(azurite.connection_string, queue_name)
            poison = QueueClient.from_connection_string(azurite.connection_string, f"{queue_name}-poison")
            ledger = TableClient.from_connection_string(azurite.connection_string, table_name)
            yield RunningProduct(base_url, system, salesforce, queue, poison, ledger)
