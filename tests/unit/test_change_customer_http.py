"""ChangeSAPCustomer over its HTTP function (issue 26): each answer's status code and body, bad input named
by field and reason (never a 500). SAP's change side: tests/support/change_gateway.py."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from functions.changes import change_sap_customer
from functions.customers import get_sap_customer_sync_status
from shared.core.change_rules import ConflictRule
from shared.core.validation import parse_customer_request
from shared.sap import SapBusinessRejection, SapMessage, SapTransientError
from shared.usecases import create_customer
from tests.support.change_gateway import InMemoryChangeSap
from tests.support.samples import sample

ACCOUNT = "001Dn00000AbCdEIAV"


@pytest.fixture
def services(fake_services):
    fake_services.sap = InMemoryChangeSap(fake_services.sap)
    return fake_services


def post_change(body: object, account: str = ACCOUNT, content_type: str = "application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest(
        "POST",
        f"https://sync.example/api/customers/{account}/changes",
        headers={"Content-Type": content_type},
        body=data,
        route_params={"accountId": account},
    )
    response = change_sap_customer(request)
    return response.status_code, json.loads(response.get_body()), response.headers


def body(seconds: int = 10, **changes: str) -> dict:
    payload = {**sample("german-account"), **changes, "systemModstamp": f"2026-12-07T14:00:{seconds:02d}.000Z"}
    payload.pop("accountId")
    return payload


def created(services) -> str:
    return create_customer(parse_customer_request(sample("german-account")), services).customer_number


def test_applied_answers_200_with_the_business_names_of_the_changed_fields(services):
    number = created(services)

    status, answer, _ = post_change(body(street="Neue Straße 5", city="Augsburg", postalCode="86150"))

    assert status == 200
    assert answer == {
        "accountId": ACCOUNT,
        "change": "applied",
        "customerNumber": number,
        "changedFields": ["street", "postalCode", "city"],
        "warnings": [],
    }
    sync = get_sap_customer_sync_status(
        func.HttpRequest("GET", f"https://x/api/customers/{ACCOUNT}", body=b"", route_params={"accountId": ACCOUNT})
    )
    state = json.loads(sync.get_body())
    assert state["lastChangeStatus"] == "applied" and state["lastChangeAt"]


def test_unchanged_and_stale_answer_200(services):
    created(services)
    assert post_change(body(10))[1]["change"] == "unchanged"
    assert post_change(body(20, city="Augsburg"))[1]["change"] == "applied"
    status, answer, _ = post_change(body(15, city="Bamberg"))
    assert (status, answer["change"]) == (200, "stale")


def test_an_unknown_account_is_404_not_synced(services):
    status, answer, _ = post_change(body())
    assert (status, answer["error"]) == (404, "not_synced")


def test_sap_unavailable_is_202_queued_with_retry_after(services):
    created(services)
    services.sap.fail_before.append(SapTransientError("down (scripted)"))

    status, answer, headers = post_change(body(city="Augsburg"))

    assert (status, answer["change"]) == (202, "queued")
    assert headers["Retry-After"] == str(answer["retryAfterSeconds"])


def test_a_rejection_is_422_with_sap_message(services):
    created(services)
    services.sap.fail_before.append(SapBusinessRejection((SapMessage("E", "AM", "215", "Street is not valid"),)))

    status, answer, _ = post_change(body(street="Neue Straße 5"))

    assert status == 422 and answer["error"] == "sap_rejected"
    assert answer["sapMessage"] == {"type": "E", "id": "AM", "number": "215", "text": "Street is not valid"}


def test_a_conflict_under_review_is_409_naming_the_field(services):
    number = created(services)
    services.change_conflict = ConflictRule.REVIEW
    services.sap.edit_in_sap(number, CITY="Dachau")

    status, answer, _ = post_change(body(city="Augsburg"))

    assert (status, answer["error"], answer["conflictingFields"]) == (409, "needs_review", ["city"])


@pytest.mark.parametrize(
    ("request_body", "account", "content_type", "field"),
    [
        (body() | {"systemModstamp": None}, ACCOUNT, "application/json", "systemModstamp"),
        (body() | {"systemModstamp": "07.12.2026"}, ACCOUNT, "application/json", "systemModstamp"),
        (body() | {"countryCode": "XX", "country": None}, ACCOUNT, "application/json", "countryCode"),
        (body() | {"accountId": "001Dn00000ZzZzZIAV"}, ACCOUNT, "application/json", "accountId"),
        (body(), "not-an-id", "application/json", "accountId"),
        (b"{", ACCOUNT, "application/json", "body"),
        (b"[]", ACCOUNT, "application/json", "body"),
        (body(), ACCOUNT, "text/plain", "Content-Type"),
    ],
    ids=[
        "no stamp",
        "stamp not ISO 8601",
        "bad country",
        "body names another account",
        "id malformed",
        "broken JSON",
        "not an object",
        "wrong content type",
    ],
)
def test_bad_input_is_400_naming_the_field(services, request_body, account, content_type, field):
    created(services)
    status, answer, _ = post_change(request_body, account, content_type)

    assert status == 400 and answer["error"] == "invalid_request"
    assert field in [error["field"] for error in answer["errors"]]


def test_the_15_character_id_names_the_same_account(services):
    created(services)
    status, answer, _ = post_change(body(city="Augsburg"), "001Dn00000AbCdE")
    assert (status, answer["accountId"], answer["change"]) == (200, ACCOUNT, "applied")


def test_a_street_too_long_for_sap_is_shortened_with_a_warning_naming_the_rule_not_the_value(services):
    number = created(services)
    long_street = "Sehr lange Industriestraße mit vielen Zusätzen und Nummer 12"

    status, answer, _ = post_change(body(street=long_street))

    assert (status, answer["change"], answer["changedFields"]) == (200, "applied", ["street"])
    [warning] = answer["warnings"]
    assert warning["field"] == "street" and "shortened to 35 characters" in warning["message"]
    assert "Zusätzen" not in warning["message"]
    assert len(services.sap.records[number]["STREET"]) <= 35
