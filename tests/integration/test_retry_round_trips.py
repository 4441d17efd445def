"""The table round trips of one retry on Azurite, counted on the wire: a message carrying the entry its
writer stored (the reconcile's and the push path's do) claims it unread (claim, reverse entry, result: 3),
and one whose entry changed since falls back to read and decide, still correct (refused claim, read,
claim, reverse entry, result: 5). The HTTP path's retry message carries no entry and reads first (read,
claim, reverse entry, result: 4). The reverse entry (customer number -> account, a conditional insert
before the result) keeps twins from sharing a customer (issue 22; shared/core/guard.py).

The product's own adapters (TableLedger, StorageRetryQueue) and the simulator; the message goes
through the real queue and back, as the trigger gets it. Every HTTP request of the table client is
counted (azure-core's raw_request_hook), so a retry of the SDK or a hidden read would show."""

from __future__ import annotations

import pytest

import sap_simulator as simulator
from shared.core.ledger import LedgerStatus
from shared.core.retry_message import RetryMessage
from shared.core.validation import parse_customer_request
from shared.settings import Settings
from shared.usecases import Outcome, RetryOutcome, Services, create_customer, retry_create_customer
from shared.usecases.reconcile import _claim_and_queue
from tests.support.round_trips import TableRequests, counted_services, through_the_queue
from tests.support.samples import sample

pytestmark = pytest.mark.azurite


@pytest.fixture
def table_requests() -> TableRequests:
    return TableRequests()


@pytest.fixture
def services(storage_settings: Settings, sap_system: simulator.SimulatedSap, table_requests: TableRequests) -> Services:
    # The flow writes back (as in the benchmark): the trips counted are the retry's own.
    return counted_services(storage_settings, table_requests)


def _queuedthrough_the_queue(
    services: Services, system: simulator.SimulatedSap, storage_settings: Settings
) -> RetryMessage:
    """An account the reconcile queued (the QUEUED entry stored, then its create queued)."""
    request = parse_customer_request(sample("german-account"))
    assert _claim_and_queue(request.account_id, request.to_payload(), services)
    return through_the_queue(storage_settings)


def test_a_retry_of_an_unchanged_entry_makes_three_table_round_trips(
    services, sap_system, storage_settings, table_requests
):
    message = _queuedthrough_the_queue(services, sap_system, storage_settings)
    assert message.written_entry is not None  # it carries the entry and its ETag
    before = table_requests.count

    assert retry_create_customer(message, services) is RetryOutcome.CREATED

    assert table_requests.count - before == 3  # the ETag-guarded claim, the number held, the result
    entry = services.ledger.get(message.account_id)
    assert entry is not None and entry.status is LedgerStatus.CREATED
    assert len(sap_system.created_customers()) == 1


def test_a_retry_whose_entry_changed_falls_back_to_read_and_decide(
    services, sap_system, storage_settings, table_requests
):
    message = _queuedthrough_the_queue(services, sap_system, storage_settings)
    # Another write since the message was queued (here: an operator's note); the ETag it knew is gone.
    current = services.ledger.get(message.account_id)
    assert current is not None
    services.ledger.update(current.evolve(last_error="operator: looked at it"))
    before = table_requests.count

    assert retry_create_customer(message, services) is RetryOutcome.CREATED

    assert table_requests.count - before == 5  # refused claim (412), read, claim, number held, result
    entry = services.ledger.get(message.account_id)
    assert entry is not None and entry.status is LedgerStatus.CREATED
    assert len(sap_system.created_customers()) == 1


def test_a_copy_of_a_message_that_already_ran_claims_nothing(services, sap_system, storage_settings, table_requests):
    message = _queuedthrough_the_queue(services, sap_system, storage_settings)
    assert retry_create_customer(message, services) is RetryOutcome.CREATED
    before = table_requests.count

    assert retry_create_customer(message, services) is RetryOutcome.SKIPPED  # the host's redelivery

    assert table_requests.count - before == 2  # refused claim, the read that finds it created
    assert len(sap_system.created_customers()) == 1


def test_the_http_paths_retry_reads_first(services, sap_system, storage_settings, table_requests):
    # SAP unreachable at the logon: nothing was sent, so the retry is due at once (base delay 0). A line
    # broken at the create would leave the outcome unknown, and that retry waits the claim window.
    sap_system.configure_faults("down")
    assert create_customer(parse_customer_request(sample("german-account")), services).outcome is Outcome.QUEUED
    sap_system.configure_faults("down=false")
    message = through_the_queue(storage_settings)
    before = table_requests.count

    assert message.written_entry is None
    assert retry_create_customer(message, services) is RetryOutcome.CREATED

    assert table_requests.count - before == 4  # read, claim, number held, result: as every retry did before
