"""The product as the end-to-end tests drive it: its URL, the SAP simulator behind it, the fake
Salesforce, the retry and poison queues and the ledger table."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from devtools.fake_salesforce import FakeSalesforce
from shared.core.mapping import split_name
from shared.sap import simulator


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
