"""The product the end-to-end tests drive: the local host serving function_app.py over a fresh SAP simulator (or
the test's S/4 double), its ledger and retry queue in Azurite, and the fake Salesforce for the write-back.
tests/e2e/conftest.py's `product` and the push and change paths' own fixtures differ only in a few settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from devtools.azurite import AzuriteEndpoints
from devtools.fake_salesforce import FakeSalesforce
from tests.support.product import (
    RunningProduct,
    fake_salesforce_writeback,
    local_app_settings,
    local_host_serving_the_app,
)
from tests.support.s4 import S4RunningProduct, S4System


def running_product(
    azurite: AzuriteEndpoints,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
    s4: tuple[S4System, dict[str, str]] | None = None,
    **settings: str,
) -> Iterator[RunningProduct]:
    """The running product (a generator for a fixture to `yield from`): a queue and a table of its own
    (`unique_name`), retries 1 to 2 s apart, the write-back by the function with client credentials against the
    fake Salesforce; `settings` add to these or override them, then `s4`'s settings point the app at the test's
    S/4 double (tests/support/s4.py s4_for_this_test)."""
    queue_name, table_name = f"retry{unique_name}", f"ledger{unique_name}"
    with FakeSalesforce() as salesforce:
        app_settings = local_app_settings(
            azurite.connection_string,
            queue_name,
            table_name,
            **fake_salesforce_writeback(salesforce),
            **settings,
            **(s4[1] if s4 else {}),
        )
        with local_host_serving_the_app(app_settings, monkeypatch) as (base_url, system):
            queue = QueueClient.from_connection_string(azurite.connection_string, queue_name)
            poison = QueueClient.from_connection_string(azurite.connection_string, f"{queue_name}-poison")
            ledger = TableClient.from_connection_string(azurite.connection_string, table_name)
            if s4 is not None:
                yield S4RunningProduct.started(base_url, s4[0], salesforce, queue, poison, ledger)
            else:
                yield RunningProduct(base_url, system, salesforce, queue, poison, ledger)
