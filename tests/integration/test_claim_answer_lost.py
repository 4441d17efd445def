"""A claim write whose answer is lost, on the real table adapter, the real azure-core pipeline and Azurite.

The transport below sends each request to Azurite for real and, once, throws its answer away and raises the
error the requests transport raises for a read timeout (azure-core 1.41,
azure/core/pipeline/transport/_requests_basic.py: requests' ReadTimeout -> ServiceResponseTimeoutError).
Everything above it is the SDK's own: TablesRetryPolicy (azure-data-tables 12.7) on azure-core's RetryPolicy,
whose method allow-list (HEAD, GET, PUT, DELETE, OPTIONS, TRACE) decides whether the request is sent again.
What it shows: the claim of a known entry (an If-Match PUT) is sent again and refused with 412, which the
adapter reports as LedgerConflict; the claim of a new one (a POST) is not sent again and the adapter reports
LedgerUnavailable; in both the write was stored; and the retry and the HTTP create go on with that claim,
their own (shared.core.claims.own_claim), instead of waiting a claim window for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseTimeoutError
from azure.core.pipeline.transport import RequestsTransport

from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.validation import parse_customer_request
from shared.settings import Settings
from shared.storage.clients import table_service_client
from shared.storage.port import LedgerConflict, LedgerUnavailable
from shared.storage.table_ledger import TableLedger
from shared.usecases import Outcome, RetryOutcome, Services, create_customer, retry_create_customer
from shared.usecases.reconcile import _claim_and_queue
from tests.support.samples import sample

pytestmark = pytest.mark.azurite


class AnswerLostOnce(RequestsTransport):
    """Sends every request; the answer to the first one with `method` is thrown away as a read timeout."""

    def __init__(self) -> None:
        super().__init__(connection_timeout=5, read_timeout=20)
        self.lose: str | None = None
        self.sent: list[tuple[str, int]] = []  # (method, status) of every request Azurite answered

    def send(self, request: Any, **kwargs: Any) -> Any:
        response = super().send(request, **kwargs)
        self.sent.append((request.method, response.status_code))
        if request.method == self.lose:
            self.lose = None
            raise ServiceResponseTimeoutError("Read timed out. (the answer thrown away by the test)")
        return response


@pytest.fixture
def transport() -> AnswerLostOnce:
    return AnswerLostOnce()


@pytest.fixture
def ledger(storage_settings: Settings, transport: AnswerLostOnce) -> TableLedger:
    client = table_service_client(storage_settings, transport=transport)
    table = TableLedger(client, storage_settings.ledger_table_name)
    assert table.get(_request().account_id) is None  # the table made now (a POST of its own), before any loss
    return table


def _request():
    return parse_customer_request(sample("german-account"))


def _entry(status: LedgerStatus, services_now) -> LedgerEntry:
    return LedgerEntry(
        account_id=_request().account_id,
        status=status,
        tracking_id="t-before",
        created_at=services_now - timedelta(hours=1),
        updated_at=services_now - timedelta(hours=1),
        claim_id="c-1",
    )


def test_an_update_whose_answer_is_lost_is_sent_again_refused_412_and_reported_as_a_conflict(
    ledger, transport, fake_services
):
    stored = ledger.claim(_entry(LedgerStatus.FAILED, fake_services.clock()))
    transport.lose, transport.sent = "PUT", []

    with pytest.raises(LedgerConflict):
        ledger.update(stored.evolve(status=LedgerStatus.PENDING, claim_id="c-2"))

    assert transport.sent == [("PUT", 204), ("PUT", 412)]  # stored, then the SDK's retry refused
    after = ledger.get(stored.account_id)
    assert after.status is LedgerStatus.PENDING and after.claim_id == "c-2"  # the claim id round-trips


def test_an_insert_whose_answer_is_lost_is_not_sent_again_and_reported_unavailable(ledger, transport, fake_services):
    transport.lose, transport.sent = "POST", []

    with pytest.raises(LedgerUnavailable):
        ledger.claim(_entry(LedgerStatus.PENDING, fake_services.clock()))

    assert transport.sent == [("POST", 201)]  # stored, and the SDK did not send it again
    assert ledger.get(_request().account_id).claim_id == "c-1"  # and it was stored


def test_a_retry_whose_claim_answer_is_lost_creates_at_once(ledger, transport, fake_services: Services, sap_system):
    fake_services.ledger = ledger
    assert _claim_and_queue(_request().account_id, _request().to_payload(), fake_services)
    [message] = fake_services.retry_queue.take_all()
    transport.lose, transport.sent = "PUT", []

    assert retry_create_customer(message, fake_services) is RetryOutcome.CREATED  # not deferred on its own claim

    assert transport.sent[:2] == [("PUT", 204), ("PUT", 412)]
    entry = ledger.get(message.account_id)
    assert entry.status is LedgerStatus.CREATED and not entry.outcome_unknown
    assert len(sap_system.created_customers()) == 1 and fake_services.retry_queue.take_all() == []


@pytest.mark.parametrize("known", [False, True], ids=["new account (POST)", "failed account resent (PUT)"])
def test_a_request_whose_claim_answer_is_lost_creates_at_once(ledger, transport, fake_services, sap_system, known):
    fake_services.ledger = ledger
    if known:
        ledger.claim(_entry(LedgerStatus.FAILED, fake_services.clock()))
    transport.lose, transport.sent = ("PUT" if known else "POST"), []

    result = create_customer(_request(), fake_services)

    assert result.outcome is Outcome.CREATED  # not 503 (POST) nor 202 in_progress (PUT) for its own request
    # The blind insert; for a known account refused, a read, the takeover (stored, its answer lost) and the SDK's
    # retry of it; then the read that finds the claim its own.
    lost = [("POST", 409), ("GET", 200), ("PUT", 204), ("PUT", 412)] if known else [("POST", 201)]
    assert transport.sent[: len(lost) + 1] == [*lost, ("GET", 200)]
    entry = ledger.get(_request().account_id)
    assert entry.status is LedgerStatus.CREATED and not entry.outcome_unknown
    assert len(sap_system.created_customers()) == 1 and fake_services.retry_queue.take_all() == []
