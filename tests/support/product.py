"""The product as the end-to-end tests drive it: its URL, the SAP simulator behind it, the fake
Salesforce, the retry and poison queues and the ledger table."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

import sap_simulator as simulator
from devhost import LocalHost
from devhost.http_server import HttpLimits
from devtools.fake_salesforce import FakeSalesforce
from shared import bootstrap
from shared.core.mapping import split_name

ROOT = Path(__file__).resolve().parents[2]


def local_app_settings(storage: str, queue_name: str, table_name: str, **settings: str) -> dict[str, str]:
    """The app's settings on the SAP simulator with its ledger (`table_name`) and retry queue (`queue_name`) in
    the Azurite of the connection string `storage`: one SAP call bounded at 1 s, retries 1 to 2 s apart;
    `settings` add to these or override them."""
    return {
        "AzureWebJobsStorage": storage,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "SAP_TRANSPORT": "simulator",
        "SAP_SIMULATOR_FAULTS": "",
        # Claims count as abandoned after the gateway's bound on one unit (5 x this) + 5 s (10 s
        # at least): the follow-up messages of 202 in_progress answers come back after that.
        "SAP_TIMEOUT_SECONDS": "1",
        "RETRY_QUEUE_NAME": queue_name,
        "LEDGER_TABLE_NAME": table_name,
        "RETRY_BASE_DELAY_SECONDS": "1",
        "RETRY_MAX_DELAY_SECONDS": "2",
        **settings,
    }


def fake_salesforce_writeback(salesforce: FakeSalesforce) -> dict[str, str]:
    """The write-back by the function, signing in with client credentials at the fake Salesforce (its own CA
    trusted by the Salesforce adapter only)."""
    return {
        "SALESFORCE_WRITEBACK": "function",
        "SALESFORCE_AUTH": "client_credentials",
        "SALESFORCE_LOGIN_URL": salesforce.base_url,
        "SALESFORCE_CLIENT_ID": salesforce.credentials.client_id,
        "SALESFORCE_CLIENT_SECRET": salesforce.credentials.client_secret,
        "SALESFORCE_CA_BUNDLE": str(salesforce.ca_path),
    }


@contextlib.contextmanager
def local_host_serving_the_app(
    settings: Mapping[str, str], monkeypatch, http_limits: HttpLimits | None = None
) -> Iterator[tuple[str, simulator.SimulatedSap]]:
    """The local host serving function_app.py with these app settings over a fresh SAP simulator:
    yields its base URL and the simulator; stops the host and forgets the services afterwards.
    `http_limits`: the host's request limits, when a test needs others than the laptop defaults."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    system = simulator.SimulatedSap()
    with simulator.use_system(system):
        host = LocalHost(str(ROOT), port=0, polling_cap_seconds=0.5, http_limits=http_limits).start()
        try:
            # The first request builds the services, which applies SAP_SIMULATOR_FAULTS to the
            # simulator; do it now so the faults a test sets afterwards stay in force.
            assert requests.get(f"{host.base_url}/api/health", timeout=30).status_code == 200
            yield host.base_url, system
        finally:
            host.stop()
            bootstrap.reset()


@dataclass
class RunningProduct:
    base_url: str
    sap: simulator.SimulatedSap
    salesforce: FakeSalesforce
    queue: QueueClient
    poison: QueueClient
    ledger: TableClient

    def post(self, payload: dict, session: requests.Session | None = None) -> requests.Response:
        return (session or requests).post(f"{self.base_url}/api/customers", json=payload, timeout=30)

    def status(self, account_id: str) -> dict:
        return requests.get(f"{self.base_url}/api/customers/{account_id}", timeout=30).json()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 90, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def queues_empty(self) -> bool:
        return self.queue.get_queue_properties().approximate_message_count == 0

    def sap_customers_of(self, payload: dict) -> list:
        """SAP holds no Salesforce Id (BAPIKNA106 has no field for one): the tests give every account a
        name of its own (its first name line tells them apart)."""
        return self.sap.customers_where("NAME", split_name(payload["name"])[0])
