"""Every validation message names the field and the rule, never the value (issue 22, item 8).

A message reaches the 400 answer, the ledger's lastError, the status and list APIs, `admin list`, the
account's SAP_Sync_Error__c (through the write-back) and the logs; a value may be personal data (a phone, a
street, a name). Each message form of shared.core.validation is produced below with a value of its own
that is easy to find, and none of those values may appear anywhere the message goes.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest

from functions.customers import create_sap_customer, get_sap_customer_sync_status, list_sap_customer_syncs
from shared import bootstrap
from shared.core.models import InvalidRequest
from shared.core.validation import parse_customer_request
from shared.settings import load_settings
from shared.usecases import Services
from tests.support.outbound_messages import ORGANIZATION_ID, outbound_message, soap_headers
from tests.support.samples import sample

GERMAN = {
    "accountId": "001Dn00000AbCdEIAV",
    "name": "Acme GmbH",
    "street": "Hauptstr. 5",
    "city": "Berlin",
    "postalCode": "10115",
    "countryCode": "DE",
}

# (the request's changes, the field whose message is checked, the values that must not appear in it).
# One row per message form of shared.core.validation (and of the mapping's request checks).
FORMS: list[tuple[dict[str, object], str, tuple[str, ...]]] = [
    ({"accountId": "001Zorglub"}, "accountId", ("001Zorglub",)),  # length
    ({"accountId": "001Zorglub-QX-77777"[:18].replace("7", "!")}, "accountId", ("Zorglub",)),  # characters
    ({"accountId": "002Dn00000AbCdE"}, "accountId", ("002Dn00000AbCdE",)),  # not an Account Id
    ({"accountId": "001Dn00000AbCdEQQQ"}, "accountId", ("001Dn00000AbCdEQQQ", "QQQ")),  # checksum
    ({"city": 4711}, "city", ("4711",)),  # not a string
    ({"name": "Zorglubname " * 12}, "name", ("Zorglubname",)),  # too long
    ({"street": "Zorglubweg\x07 1"}, "street", ("Zorglubweg",)),  # control character
    ({"name": "Zorglub\u202eGmbH"}, "name", ("Zorglub", "GmbH")),  # bidirectional control
    ({"name": "Zorglub\ud800GmbH"}, "name", ("Zorglub",)),  # lone surrogate
    ({"currencyIsoCode": "ZQXW"}, "currencyIsoCode", ("ZQXW",)),
    ({"language": "zorglub tongue"}, "language", ("zorglub",)),  # not a language tag
    ({"language": "xq"}, "language", ('"xq"', "'xq'")),  # not ISO 639-1
    ({"language": "sw"}, "language", ('"sw"', "'sw'")),  # no SAP language key
    ({"companyCode": "ZQ-X9"}, "companyCode", ("ZQ-X9",)),
    ({"referenceCustomer": "ZORGLUB-1234"}, "referenceCustomer", ("ZORGLUB",)),
    ({"countryCode": "Zorglubia"}, "countryCode", ("Zorglubia",)),
    ({"countryCode": None, "country": "Zorglubia"}, "country", ("Zorglubia",)),
    ({"country": "France"}, "country", ("France", '"DE"')),  # does not match countryCode
    ({"postalCode": "Zörglub"}, "postalCode", ("Zörglub", "rglub")),  # not Latin
    ({"postalCode": "ZQ-99999"}, "postalCode", ("ZQ-99999", "99999")),  # wrong format
    ({"state": "Zorglubland"}, "state", ("Zorglubland",)),
    ({"state": "Bayern", "stateCode": "BE"}, "stateCode", ("Bayern", '"BE"', "DE-BY")),  # do not match
    (
        {"countryCode": "IN", "city": "Leh", "postalCode": "194101", "state": "Ladakh"},
        "state",
        ("Ladakh", "IN-LA"),
    ),  # SAP has no region key
    ({"phone": "+49 30 12"}, "phone", ("+49 30 12", "4930", "30 12")),
    ({"phone": "Zorglub anrufen"}, "phone", ("Zorglub",)),
]


def _payload(changes: dict[str, object]) -> dict[str, object]:
    payload = {**GERMAN, **changes}
    return {key: value for key, value in payload.items() if value is not None}


def _message(changes: dict[str, object], field: str) -> str:
    with pytest.raises(InvalidRequest) as raised:
        parse_customer_request(_payload(changes))
    messages = {error.field: error.message for error in raised.value.errors}
    assert field in messages, messages
    return messages[field]


@pytest.mark.parametrize(("changes", "field", "values"), FORMS, ids=[f"{row[1]}-{i}" for i, row in enumerate(FORMS)])
def test_each_validation_message_states_the_rule_without_the_value(changes, field, values):
    message = _message(changes, field)
    assert message  # a rule is stated
    for value in values:
        assert value not in message, f"{field}: {message!r} repeats {value!r}"


@pytest.mark.parametrize(
    ("changes", "field", "values"),
    [row for row in FORMS if row[1] != "accountId"],
    ids=[row[1] for row in FORMS if row[1] != "accountId"],
)
def test_the_400_answer_and_its_log_carry_field_and_rule_never_the_value(fake_services, changes, field, values, caplog):
    caplog.set_level(logging.DEBUG)
    response = create_sap_customer(
        func.HttpRequest(
            "POST",
            "http://localhost:7071/api/customers",
            headers={"Content-Type": "application/json"},
            body=json.dumps(_payload(changes)).encode(),
        )
    )
    assert response.status_code == 400
    body = response.get_body().decode()
    assert field in {error["field"] for error in json.loads(body)["errors"]}
    logged = "\n".join(record.getMessage() + " " + str(record.__dict__) for record in caplog.records)
    for value in values:
        assert value not in body
        assert value not in logged


# What a push notification can carry wrongly (Account fields only: the outbound message has no codes).
PUSHED: list[tuple[dict[str, str | None], tuple[str, ...]]] = [
    # "493012", the digits alone: a four-digit fragment turns up by chance in timestamps' microseconds.
    ({"Phone": "+49 30 12"}, ("+49 30 12", "493012", "30 12")),
    ({"BillingPostalCode": "ZQ-99999"}, ("ZQ-99999", "99999")),
    ({"BillingState": "Zorglubland"}, ("Zorglubland",)),
    ({"BillingCountry": "Zorglubia"}, ("Zorglubia",)),
    ({"BillingStreet": "Zorglubweg\u202e 1"}, ("Zorglubweg",)),
    ({"Name": "Zorglubname " * 12}, ("Zorglubname",)),
    ({"SAP_Company_Code__c": "ZQ-X9"}, ("ZQ-X9",)),
    ({"SAP_Reference_Customer__c": "ZORGLUB-1234"}, ("ZORGLUB",)),
]


@pytest.mark.parametrize(("fields", "values"), PUSHED, ids=[next(iter(row[0])) for row in PUSHED])
def test_a_push_rejection_keeps_no_value_in_last_error_the_apis_salesforce_or_the_logs(
    fake_services: Services, fields, values, caplog
):
    from devtools.fake_salesforce import salesforce_id18
    from functions.push import receive_salesforce_outbound_message
    from tests.support.outbound_messages import account_fields_of

    bootstrap.override(
        fake_services, load_settings({"SAP_TRANSPORT": "simulator", "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID[:15]})
    )
    account_id = salesforce_id18("001Dn0000Zorgl1")
    account = account_fields_of(dict(sample("german-account"), accountId=account_id), **fields)
    caplog.set_level(logging.DEBUG)

    response = receive_salesforce_outbound_message(
        func.HttpRequest(
            "POST",
            "http://localhost:7071/api/salesforce/outbound-messages",
            headers=soap_headers(),
            body=outbound_message([account]),
        )
    )

    assert response.status_code == 200  # acknowledged: a permanent rejection, recorded and written back
    entry = fake_services.ledger.get(account_id)
    assert entry is not None and entry.status.value == "failed" and entry.last_error
    status = get_sap_customer_sync_status(
        func.HttpRequest(
            "GET", f"http://localhost:7071/api/customers/{account_id}", body=b"", route_params={"accountId": account_id}
        )
    )
    listed = list_sap_customer_syncs(
        func.HttpRequest("GET", "http://localhost:7071/api/customers", body=b"", params={"status": "failed"})
    )
    written = fake_services.writeback.failed[account_id]
    places = {
        "lastError": entry.last_error,
        "status API": status.get_body().decode(),
        "list API": listed.get_body().decode(),
        "SAP_Sync_Error__c": " ".join(written),
        "logs": "\n".join(record.getMessage() + " " + str(record.__dict__) for record in caplog.records),
    }
    assert json.loads(status.get_body())["lastError"] == entry.last_error
    for place, text in places.items():
        for value in values:
            assert value not in text, f"{place} repeats {value!r}: {text[:300]}"
