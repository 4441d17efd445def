"""Counting the ledger's table round trips on Azurite: the product's own table and queue adapters, with a
hook on the table client's HTTP requests (tests/integration/test_retry_round_trips.py and
test_writeback_round_trips.py)."""

from __future__ import annotations

import threading

from azure.storage.queue import QueueClient

from shared.core.retry_message import RetryMessage
from shared.core.retry_policy import RetryPolicy
from shared.salesforce.port import AccountWriteBack
from shared.settings import Settings, load_settings
from shared.storage.queue import parse_queue_body, storage_retry_queue_from_settings
from shared.storage.table_ledger import table_ledger_from_settings
from shared.usecases import Services
from tests.support.sap import simulated_gateway


class TableRequests:
    """Counts the table client's HTTP requests."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, request: object) -> None:
        with self._lock:
            self.count += 1


def counted_services(
    storage_settings: Settings, table_requests: TableRequests, writeback: AccountWriteBack | None = None
) -> Services:
    """The use cases over Azurite with every table request counted. No backoff: a queued message is visible
    at once, to be taken off the queue by `through_the_queue`."""
    settings = load_settings({"SAP_TRANSPORT": "simulator"})
    ledger = table_ledger_from_settings(storage_settings, raw_request_hook=table_requests)
    return Services(
        sap=simulated_gateway(),
        ledger=ledger,
        retry_queue=storage_retry_queue_from_settings(storage_settings),
        organization=settings.sap_organization,
        writeback=writeback,
        retry=RetryPolicy(base_delay_seconds=0),
    )


def through_the_queue(storage_settings: Settings) -> RetryMessage:
    """The one message in the retry queue, as the trigger receives it (the queue is emptied)."""
    queue = QueueClient.from_connection_string(storage_settings.storage_connection, storage_settings.retry.queue_name)
    [item] = queue.peek_messages(max_messages=32)
    message = parse_queue_body(item.content)
    assert isinstance(message, RetryMessage)
    queue.clear_messages()
    return message
