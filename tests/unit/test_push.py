"""The push path end to end in process: ReceiveSalesforceOutboundMessage over the real simulator, the
in-memory ledger, queue and write-back, and the queue trigger's use case draining the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import azure.functions as func
import pytest

from functions.push import receive_salesforce_outbound_message
from shared import bootstrap, log
from shared.core.ledger import LedgerStatus
from shared.core.mapping import split_name
from shared.core.outbound_message import OUTBOUND_NS, parse_outbound_message
from shared.settings import load_settings
from shared.usecases import Services
from shared.usecases.push import ForeignOrganization, PushNotConfigured, PushOutcome, receive_outbound_message
from tests.support.outbound_messages import (
    ORGANIZATION_ID,
    OTHER_ORGANIZATION_ID,
    account_fields_of,
    notification_id,
    outbound_message,
    soap_headers,
)
from tests.support.samples import sample
from tests.unit.test_service import drain

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
URL = "http://localhost:7071/api/salesforce/outbound-messages"


@pytest.fixture
def push(fake_services: Services) -> Services:
    """The fake services with the push path configured for ORGANIZATION_ID."""
    bootstrap.override(
        fake_services, load_settings({"SAP_TRANSPORT": "simulator", "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID[:15]})
    )
    return fake_services


def account(number: int, **fields: str | None) -> dict[str, str | None]:
    from devtools.fake_salesforce import salesforce_id18

    payload = dict(
        sample("german-account"), accountId=salesforce_id18(f"001Dn{number:010d}"), name=f"Push Kunde {number} GmbH"
    )
    return account_fields_of(payload, **fields)


def send(body: bytes) -> func.HttpResponse:
    return receive_salesforce_outbound_message(func.HttpRequest("POST", URL, headers=soap_headers(), body=body))


def acknowledged(response: func.HttpResponse) -> bool:
    root = ElementTree.fromstring(response.get_body())
    return (
        response.status_code == 200
        and root.findtext(f"{SOAP}Body/{{{OUTBOUND_NS}}}notificationsResponse/{{{OUTBOUND_NS}}}Ack") == "true"
    )


def fault_text(response: func.HttpResponse) -> str:
    return ElementTree.fromstring(response.get_body()).findtext(f"{SOAP}Body/{SOAP}Fault/faultstring") or ""


def customers_named(sap_system, name: str) -> list:
    return sap_system.customers_where("NAME", split_name(name)[0])


def test_a_message_of_100_accounts_is_acknowledged_at_once_and_creates_100_customers(push, sap_system):
    accounts = [account(n) for n in range(100)]
    response = send(outbound_message(accounts))
    assert acknowledged(response)
    assert response.mimetype == "text/xml"
    assert sap_system.created_customers() == []  # nothing was done in the call: it was queued
    assert all(push.ledger.get(a["Id"]).status is LedgerStatus.QUEUED for a in accounts)
    drain(push)
    for fields in accounts:
        [customer] = customers_named(sap_system, fields["Name"])
        entry = push.ledger.get(fields["Id"])
        assert entry.status is LedgerStatus.CREATED and entry.customer_number == customer.number
        assert push.writeback.created[fields["Id"]] == [customer.number]


def test_a_replayed_message_creates_no_second_customer(push, sap_system):
    body = outbound_message([account(1), account(2)])
    assert acknowledged(send(body))
    assert acknowledged(send(body))  # Salesforce did not see the first ack: the same message again
    assert len(push.retry_queue.queued) == 2  # the copy was ignored at the door
    drain(push)
    assert acknowledged(send(body))  # and once more after the customers exist
    assert push.retry_queue.queued == []
    assert [len(customers_named(sap_system, f"Push Kunde {n} GmbH")) for n in (1, 2)] == [1, 1]


def test_a_copy_delivered_while_the_first_is_queued_and_one_after_still_make_one_customer(push, sap_system):
    fields = account(3)
    first = outbound_message([fields])
    copy = outbound_message([fields])  # the same change in another message (new notification id)
    assert acknowledged(send(first))
    drain(push)
    assert acknowledged(send(copy))
    drain(push)
    assert len(customers_named(sap_system, fields["Name"])) == 1


def test_an_older_notification_arriving_after_a_newer_one_changes_nothing(push, sap_system):
    now = datetime.now(UTC)
    newer = account(4, Name="Push Kunde 4 Neu GmbH", **{"LastModifiedDate": _at(now)})
    # A save five minutes earlier: both system fields of that version are older (a record's SystemModstamp
    # only grows, and it orders the changes of a synced account since issue 26).
    before = _at(now - timedelta(minutes=5))
    older = account(4, **{"LastModifiedDate": before, "SystemModstamp": before})
    assert acknowledged(send(outbound_message([newer])))
    drain(push)
    assert acknowledged(send(outbound_message([older])))
    drain(push)
    assert len(customers_named(sap_system, "Push Kunde 4 Neu GmbH")) == 1
    assert customers_named(sap_system, "Push Kunde 4 GmbH") == []
    assert push.ledger.get(newer["Id"]).status is LedgerStatus.CREATED


def test_an_older_and_a_newer_notification_in_one_message_make_one_customer(push, sap_system):
    now = datetime.now(UTC)
    before = _at(now - timedelta(minutes=5))
    older = account(5, **{"LastModifiedDate": before, "SystemModstamp": before})
    newer = account(5, Name="Push Kunde 5 Neu GmbH", **{"LastModifiedDate": _at(now), "SystemModstamp": _at(now)})
    assert acknowledged(send(outbound_message([newer, older])))
    drain(push)
    created = customers_named(sap_system, "Push Kunde 5 Neu GmbH") + customers_named(sap_system, "Push Kunde 5 GmbH")
    assert len(created) == 1


def _at(moment: datetime) -> str:
    from tests.support.outbound_messages import salesforce_datetime

    return salesforce_datetime(moment)


def test_a_message_from_another_organization_is_refused_and_nothing_is_recorded(push, sap_system):
    fields = account(6)
    response = send(outbound_message([fields], organization_id=OTHER_ORGANIZATION_ID))
    assert response.status_code == 403 and "OrganizationId" in fault_text(response)
    assert push.ledger.get(fields["Id"]) is None and push.retry_queue.queued == []


def test_without_a_configured_organization_every_message_is_refused_for_salesforce_to_send_again(fake_services):
    response = send(outbound_message([account(7)]))
    assert response.status_code == 503 and response.headers["Retry-After"]
    with pytest.raises(PushNotConfigured):
        receive_outbound_message(parse_outbound_message(outbound_message([account(7)])), None, fake_services)
    with pytest.raises(ForeignOrganization):
        receive_outbound_message(
            parse_outbound_message(outbound_message([account(7)])), OTHER_ORGANIZATION_ID, fake_services
        )
    assert fake_services.retry_queue.queued == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<not-closed",
        b'{"accountId": "001Dn00000AbCdEIAV"}',
        outbound_message([account(8)])[:-30],
        b'<?xml version="1.0" encoding="x-nonsense"?>' + outbound_message([account(8)]).partition(b"?>")[2],
    ],
    ids=["empty", "broken-xml", "json", "truncated", "unknown-encoding"],
)
def test_a_malformed_body_is_a_400_soap_fault_naming_the_problem_and_nothing_is_recorded(push, body):
    response = send(body)
    assert response.status_code == 400
    assert fault_text(response).startswith("Not a Salesforce outbound message: body is")
    assert push.retry_queue.queued == [] and push.ledger.find(list(LedgerStatus)) == []


def test_invalid_account_data_is_acknowledged_and_made_visible_not_retried(push, sap_system, caplog):
    caplog.handler.addFilter(log.CorrelationFilter())
    bad = account(9, BillingPostalCode="ABC", BillingCity=None)
    good = account(10)
    assert acknowledged(send(outbound_message([bad, good])))
    entry = push.ledger.get(bad["Id"])
    assert entry.status is LedgerStatus.FAILED
    assert "postalCode" in entry.last_error and "city" in entry.last_error
    [written] = push.writeback.failed[bad["Id"]]
    assert written.startswith("invalid account data: ")
    assert any(
        record.levelname == "ERROR" and getattr(record, "account_id", "") == bad["Id"] for record in caplog.records
    )
    drain(push)
    assert push.ledger.get(good["Id"]).status is LedgerStatus.CREATED
    assert sap_system.created_customers() and customers_named(sap_system, bad["Name"]) == []
    # Salesforce delivering the same notification again changes nothing (no second write-back).
    assert acknowledged(send(outbound_message([bad])))
    assert len(push.writeback.failed[bad["Id"]]) == 1


def test_a_fixed_account_sent_again_after_a_rejection_is_created(push, sap_system):
    failed_at = datetime.now(UTC)
    bad = account(11, BillingPostalCode="ABC", **{"LastModifiedDate": _at(failed_at - timedelta(seconds=1))})
    assert acknowledged(send(outbound_message([bad])))
    fixed = account(11, **{"LastModifiedDate": _at(datetime.now(UTC) + timedelta(seconds=1))})
    assert acknowledged(send(outbound_message([fixed])))
    drain(push)
    assert push.ledger.get(fixed["Id"]).status is LedgerStatus.CREATED
    assert len(customers_named(sap_system, fixed["Name"])) == 1


def test_accounts_that_are_no_new_customers_are_acknowledged_and_ignored(push, sap_system):
    message = parse_outbound_message(
        outbound_message(
            [
                account(12, Type="Prospect"),
                account(13, SAP_Customer_Number__c="0000100042"),
                account(14, SAP_Sync_Status__c="Failed"),
            ]
        )
    )
    results = receive_outbound_message(message, ORGANIZATION_ID, push)
    assert [r.outcome for r in results] == [PushOutcome.IGNORED] * 3
    assert push.retry_queue.queued == [] and push.ledger.find(list(LedgerStatus)) == []


def test_storage_down_answers_503_and_the_resend_queues_what_was_not_queued(push, sap_system):
    accounts = [account(20), account(21)]
    push.retry_queue.available = False
    response = send(outbound_message(accounts, notification_ids=[notification_id(), notification_id()]))
    assert response.status_code == 503 and response.headers["Retry-After"] == str(push.retry.retry_after_seconds)
    assert push.ledger.get(accounts[0]["Id"]) is None  # the queued entry was taken back
    push.retry_queue.available = True
    assert acknowledged(send(outbound_message(accounts)))
    drain(push)
    assert all(len(customers_named(sap_system, a["Name"])) == 1 for a in accounts)


def test_the_ledger_down_answers_503_before_anything_is_queued(push):
    push.ledger.available = False
    response = send(outbound_message([account(22)]))
    assert response.status_code == 503 and "Storage is unavailable" in fault_text(response)
    assert push.retry_queue.queued == []


def test_the_organization_setting_is_normalised_and_a_wrong_one_stops_the_start():
    from shared.settings import SettingsError

    assert (
        load_settings(
            {"SAP_TRANSPORT": "simulator", "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID[:15]}
        ).salesforce.organization_id
        == ORGANIZATION_ID
    )
    assert load_settings({"SAP_TRANSPORT": "simulator"}).salesforce.organization_id is None
    with pytest.raises(SettingsError, match=r"SALESFORCE_ORGANIZATION_ID: .*00D"):
        load_settings({"SAP_TRANSPORT": "simulator", "SALESFORCE_ORGANIZATION_ID": "001Dn00000AbCdEIAV"})
