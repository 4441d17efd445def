"""A change claim whose answer is lost (issue 27, the change path of issue 26), on the real table adapter, the
real azure-core pipeline and Azurite, through the transport of tests/integration/test_claim_answer_lost.py
(every request sent to Azurite for real; the answer to one thrown away as requests' read timeout).

The change claim is an If-Match PUT of the created entry: azure-core's RetryPolicy sends it again and the
retry meets the ETag the first try made (412, LedgerConflict). The change then reads the entry, finds its own
claim (shared.core.change_rules.own_change_claim) and applies at once, instead of answering 202 queued behind
itself and leaving a change message that waits a claim window.
"""

from __future__ import annotations

import pytest

from shared.core.change_request import parse_change_request
from shared.core.ledger import ChangeStatus, LedgerStatus
from shared.core.validation import parse_customer_request
from shared.settings import Settings
from shared.storage.clients import table_service_client
from shared.storage.table_ledger import TableLedger
from shared.usecases import Services, create_customer
from shared.usecases.change import ChangeOutcome, change_customer
from tests.integration.test_claim_answer_lost import AnswerLostOnce
from tests.support.change_gateway import InMemoryChangeSap
from tests.support.samples import sample

pytestmark = pytest.mark.azurite

NEW_STREET = "Neue Straße 5"


@pytest.fixture
def transport() -> AnswerLostOnce:
    return AnswerLostOnce()


@pytest.fixture
def services(storage_settings: Settings, transport: AnswerLostOnce, fake_services: Services) -> Services:
    client = table_service_client(storage_settings, transport=transport)
    fake_services.ledger = TableLedger(client, storage_settings.ledger_table_name)
    fake_services.sap = InMemoryChangeSap(fake_services.sap)
    return fake_services


def test_a_change_whose_claim_answer_is_lost_applies_at_once(services, transport):
    created = create_customer(parse_customer_request(sample("german-account")), services)
    assert created.customer_number
    modstamp = services.clock().isoformat()  # made in Salesforce after the create
    change = parse_change_request({**sample("german-account"), "street": NEW_STREET, "systemModstamp": modstamp})
    transport.lose, transport.sent = "PUT", []

    result = change_customer(change, services)

    assert result.outcome is ChangeOutcome.APPLIED  # not 202 queued behind its own claim
    # The read, the claim (stored, its answer lost), the SDK's retry of it refused, the read that finds it ours.
    assert transport.sent[:4] == [("GET", 200), ("PUT", 204), ("PUT", 412), ("GET", 200)]
    assert [sent.company_data for sent in services.sap.changes] == [{"STREET": NEW_STREET}]
    entry = services.ledger.get(change.account_id)
    assert entry.status is LedgerStatus.CREATED and entry.change_status is ChangeStatus.APPLIED
    assert entry.change_claimed_at is None and services.retry_queue.take_all() == []
