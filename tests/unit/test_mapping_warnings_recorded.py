"""A value shortened to fit SAP is recorded with the attempt whatever the path (issue 22, item 4): in the
ledger, in the status API, in the log (field and rule, never the value) and on the Salesforce account
with the number. The push path as it runs (Azurite, the local host, the fake Salesforce's REST API):
tests/e2e/test_push_e2e.py."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest

import sap_simulator as simulator
from functions.customers import get_sap_customer_create_outcome, get_sap_customer_sync_status
from shared.core.ledger import LedgerStatus
from shared.usecases import Outcome, RetryOutcome, Services, create_customer
from tests.unit.test_service import _request, drain

LONG_STREET = "Lange Strasse mit sehr vielen Zeichen 123"  # 41 characters: SAP's STREET holds 35
RULE = (
    "street shortened to 35 characters for SAP (STREET): street types abbreviated and, if still too long, "
    "cut after the last whole word that fits"
)


def status_json(account_id: str) -> dict:
    response = get_sap_customer_sync_status(
        func.HttpRequest(
            "GET", f"http://localhost:7071/api/customers/{account_id}", body=b"", route_params={"accountId": account_id}
        )
    )
    assert response.status_code == 200
    return json.loads(response.get_body())


def assert_warned_everywhere(services: Services, account_id: str, caplog: pytest.LogCaptureFixture) -> None:
    entry = services.ledger.get(account_id)
    assert entry.status is LedgerStatus.CREATED
    assert [(warning.field, warning.message) for warning in entry.warnings] == [("street", RULE)]
    assert status_json(account_id)["warnings"] == [{"field": "street", "message": RULE}]
    assert [(warning.field, warning.message) for warning in services.writeback.warnings[account_id]] == [
        ("street", RULE)
    ]
    logged = [record for record in caplog.records if record.getMessage().startswith("value changed to fit SAP")]
    assert logged and all(getattr(record, "field", None) == "street" for record in logged)
    everything = "\n".join(record.getMessage() + " " + str(record.__dict__) for record in caplog.records)
    assert "Lange" not in everything and "Zeichen" not in everything


def test_a_direct_create_records_its_shortening(fake_services: Services, caplog):
    caplog.set_level(logging.DEBUG)
    request = _request(street=LONG_STREET)

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.CREATED and [w.message for w in result.warnings] == [RULE]
    assert_warned_everywhere(fake_services, request.account_id, caplog)


def test_a_queued_and_retried_create_records_its_shortening(
    fake_services: Services, sap_system: simulator.SimulatedSap, caplog
):
    caplog.set_level(logging.DEBUG)
    sap_system.faults.arm("communication_before")  # the first attempt is queued
    request = _request(street=LONG_STREET)
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    # Recorded with the queued attempt too: the status shows it while the account waits.
    assert status_json(request.account_id)["warnings"] == [{"field": "street", "message": RULE}]

    assert drain(fake_services) == [RetryOutcome.CREATED]

    assert_warned_everywhere(fake_services, request.account_id, caplog)
    # The flow's poll of the 202's Location gets them with the number, as a direct 201 would.
    polled = get_sap_customer_create_outcome(
        func.HttpRequest(
            "GET",
            f"http://localhost:7071/api/customers/{request.account_id}/outcome",
            body=b"",
            route_params={"accountId": request.account_id},
        )
    )
    assert polled.status_code == 201
    assert json.loads(polled.get_body())["warnings"] == [{"field": "street", "message": RULE}]


def test_a_write_back_retried_from_its_own_message_still_carries_the_warnings(fake_services: Services, caplog):
    caplog.set_level(logging.DEBUG)
    fake_services.writeback.unavailable = True  # Salesforce down as the customer is created
    request = _request(street=LONG_STREET)
    assert create_customer(request, fake_services).outcome is Outcome.CREATED
    assert fake_services.writeback.warnings == {}

    fake_services.writeback.unavailable = False
    assert drain(fake_services) == [RetryOutcome.WRITTEN_BACK]

    assert_warned_everywhere(fake_services, request.account_id, caplog)


def test_an_account_created_without_changes_has_no_warnings(fake_services: Services):
    request = _request()
    create_customer(request, fake_services)
    assert status_json(request.account_id)["warnings"] == []
    assert request.account_id not in fake_services.writeback.warnings
