"""Attempts that run out after an unknown outcome, over the real queue and ledger on Azurite (issue 22,
item 5): the account ends `needs_review`, never `failed` (SAP had created the customer), nothing is parked
in the poison queue, and the operator's `admin resolve --customer` finishes it with SAP's number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.storage.queue import QueueServiceClient

import sap_simulator as simulator
from admin import ExitCode
from admin.__main__ import main
from shared.core.ledger import LedgerStatus
from shared.core.validation import parse_customer_request
from shared.sap.rfc import RfcSapGateway
from shared.settings import RetrySettings, load_settings
from shared.storage.queue import StorageRetryQueue
from shared.usecases import Outcome, RetryOutcome, Services, create_customer
from tests.integration.test_poison_command import _ledger, admin_env, drain, raw_queues  # noqa: F401 (fixtures)
from tests.support.samples import sample

pytestmark = pytest.mark.azurite


@pytest.fixture
def services(admin_env, azurite, sap_gateway: RfcSapGateway) -> Services:  # noqa: F811
    """The production use cases over the simulator and the real queue and ledger on Azurite; a claim window
    of 0 s, so a retry after an unknown outcome is due at once (it waits the window otherwise)."""
    queues = QueueServiceClient.from_connection_string(azurite.connection_string)
    return Services(
        sap=sap_gateway,
        ledger=_ledger(azurite, admin_env["LEDGER_TABLE_NAME"]),
        retry_queue=StorageRetryQueue(queues, admin_env["RETRY_QUEUE_NAME"]),
        organization=load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization,
        retry=RetrySettings(
            queue_name=admin_env["RETRY_QUEUE_NAME"], max_attempts=3, base_delay_seconds=0, max_delay_seconds=0
        ),
        stale_claim_after=timedelta(0),
    )


def test_an_unknown_outcome_that_runs_out_of_attempts_is_held_for_review_and_resolved(
    services,
    sap_system: simulator.SimulatedSap,
    raw_queues,  # noqa: F811 - the fixture imported above
    capsys,
):
    request = parse_customer_request(sample("german-account"))
    account_id = request.account_id
    sap_system.faults.arm("communication_after_commit")  # SAP committed the customer; the answer was lost
    assert create_customer(request, services).outcome is Outcome.QUEUED
    [customer] = sap_system.created_customers()
    sap_system.faults.down = True  # then SAP is unreachable for every retry

    assert drain(services, raw_queues)[-1] is RetryOutcome.NEEDS_REVIEW

    entry = services.ledger.get(account_id)
    assert entry.status is LedgerStatus.NEEDS_REVIEW and entry.outcome_unknown
    assert entry.attempts == services.retry.max_attempts and entry.payload == request.to_payload()
    assert services.retry_queue.peek_poison() == []
    assert main(["status", account_id]) == ExitCode.DONE
    shown = capsys.readouterr().out
    assert "needs_review" in shown and "SAP may hold the customer" in shown

    sap_system.faults.down = False
    assert main(["resolve", account_id, "--customer", customer.number, "--yes"]) == ExitCode.DONE
    entry = services.ledger.get(account_id)
    assert entry.status is LedgerStatus.CREATED and entry.customer_number == customer.number
    assert len(sap_system.created_customers()) == 1
