"""The custom connector's ChangeSAPCustomer (issue 26) and the function ChangeSAPCustomer (functions/changes.py) are
one contract: the request schema is the create's plus systemModstamp, with the validator's lengths and required
fields; the responses are the status codes the function answers, each `change` enum the outcomes with that code;
the owned-field enums are shared/core/ownership.py's names; and the function's real answers, played through the
use case with the SAP simulator, validate against the response schemas (strictly: no undeclared property)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest

from functions import changes
from functions.changes import change_sap_customer
from shared.core.change_request import parse_change_request
from shared.core.ledger import ChangeStatus
from shared.core.models import InvalidRequest
from shared.core.ownership import OWNED_FIELD_NAMES
from shared.core.validation import CONTRACT_FIELDS
from tests.support.samples import sample
from tests.unit.test_connector_contract import SWAGGER, assert_documented, operation, post, resolve

CHANGE = "ChangeSAPCustomer"
PATH, METHOD, OPERATION = operation(CHANGE)
[BODY] = [parameter for parameter in OPERATION["parameters"] if parameter["in"] == "body"]
REQUEST = resolve(BODY["schema"])
CREATE_REQUEST = resolve(operation("CreateSAPCustomer")[2]["parameters"][0]["schema"])
URL = "http://localhost:7071/api/customers"
NOW = datetime.now(UTC)


def stamp(seconds: int) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def change(payload: dict, **extra: str) -> func.HttpResponse:
    account_id = payload["accountId"]
    body = {key: value for key, value in payload.items() if key != "accountId"} | extra
    return change_sap_customer(
        func.HttpRequest(
            "POST",
            f"{URL}/{account_id}/changes",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            route_params={"accountId": account_id},
        )
    )


def _codes() -> set[int]:
    return {int(code) for code in OPERATION["responses"]}


# --- the operation and its request ---------------------------------------------------------------------------


def test_the_change_is_a_post_on_the_accounts_changes_path_with_the_account_id_in_it():
    assert (PATH, METHOD) == ("/customers/{accountId}/changes", "post")
    [path_parameter] = [parameter for parameter in OPERATION["parameters"] if parameter["in"] == "path"]
    assert path_parameter["name"] == "accountId" and path_parameter["required"]


def test_the_request_is_the_creates_properties_plus_system_modstamp():
    assert list(REQUEST["properties"]) == [*CONTRACT_FIELDS, "systemModstamp"]
    for name, prop in CREATE_REQUEST["properties"].items():
        assert REQUEST["properties"][name].get("maxLength") == prop.get("maxLength"), name
    assert REQUEST["properties"]["systemModstamp"]["format"] == "date-time"


def test_the_required_fields_are_what_the_change_validator_requires():
    minimal = {"name": "Acme", "city": "Dublin", "countryCode": "IE", "systemModstamp": stamp(0)}
    assert set(REQUEST["required"]) == set(minimal) - {"countryCode"}
    parse_change_request(minimal, "001Dn00000AbCdEIAV")  # the account id comes from the path
    for field in REQUEST["required"]:
        with pytest.raises(InvalidRequest) as refused:
            parse_change_request({key: value for key, value in minimal.items() if key != field}, "001Dn00000AbCdEIAV")
        assert field in {error.field for error in refused.value.errors}


# --- its answers -------------------------------------------------------------------------------------------------


def test_the_responses_are_the_codes_the_function_answers():
    assert _codes() == set(changes._STATUS.values()) | {400, 503}


@pytest.mark.parametrize("code", sorted(set(changes._STATUS.values())))
def test_the_change_enum_of_each_answer_is_the_outcomes_with_that_code(code):
    schema = resolve(OPERATION["responses"][str(code)]["schema"])
    assert set(schema["properties"]["change"]["enum"]) == {
        outcome for outcome, answer in changes._STATUS.items() if answer == code
    }


def test_the_field_names_are_the_owned_fields_business_names():
    for code, prop in ((200, "changedFields"), (200, "overwrittenInSap"), (409, "conflictingFields")):
        schema = resolve(OPERATION["responses"][str(code)]["schema"])
        assert schema["properties"][prop]["items"]["enum"] == list(OWNED_FIELD_NAMES), prop


def test_the_status_operation_tells_the_last_change_in_the_ledgers_terms():
    status = resolve(operation("GetSAPCustomerSyncStatus")[2]["responses"]["200"]["schema"])["properties"]
    assert set(status["lastChangeStatus"]["enum"]) == {value.value for value in ChangeStatus} - {"none"}
    assert status["lastChangeAt"]["format"] == "date-time"


def test_a_202_carries_no_location_so_the_flow_does_not_poll():
    accepted = OPERATION["responses"]["202"]
    assert "Location" not in accepted.get("headers", {}) and "Retry-After" in accepted["headers"]


def test_applied_unchanged_and_stale_answers_match_the_swagger(fake_services, sap_system):
    payload = sample("german-account")
    assert post(payload).status_code == 201
    moved = dict(payload, street="Karlsplatz 2")
    applied = change(moved, systemModstamp=stamp(10))
    assert applied.status_code == 200
    body = assert_documented(CHANGE, applied)
    assert body["change"] == "applied" and body["changedFields"] == ["street"]
    unchanged = change(moved, systemModstamp=stamp(20))
    assert assert_documented(CHANGE, unchanged)["change"] == "unchanged"
    stale = change(payload, systemModstamp=stamp(5))
    assert assert_documented(CHANGE, stale)["change"] == "stale"


def test_not_synced_and_invalid_answers_match_the_swagger(fake_services):
    payload = sample("german-account")
    missing = change(payload, systemModstamp=stamp(1))
    assert missing.status_code == 404 and assert_documented(CHANGE, missing)["error"] == "not_synced"
    invalid = change(payload)
    assert invalid.status_code == 400
    assert "systemModstamp" in {error["field"] for error in assert_documented(CHANGE, invalid)["errors"]}


def test_queued_answers_match_the_swagger(fake_services, sap_system):
    payload = sample("german-account")
    assert post(payload).status_code == 201
    sap_system.faults.down = True
    queued = change(dict(payload, street="Karlsplatz 2"), systemModstamp=stamp(10))
    assert queued.status_code == 202 and assert_documented(CHANGE, queued)["change"] == "queued"


def test_rejected_answers_match_the_swagger(fake_services, sap_system):
    payload = sample("german-account")
    assert post(payload).status_code == 201
    del sap_system.customizing.regions["DE"]["09"]  # Bavaria no longer a region key: SAP rejects the address
    rejected = change(dict(payload, street="Karlsplatz 2"), systemModstamp=stamp(10))
    assert rejected.status_code == 422
    assert assert_documented(CHANGE, rejected)["reason"].startswith("SAP rejected: ")


def test_unavailable_answers_match_the_swagger(fake_services):
    fake_services.ledger.available = False
    down = change(sample("german-account"), systemModstamp=stamp(1))
    assert down.status_code == 503 and assert_documented(CHANGE, down)


def test_the_swagger_declares_every_definition_it_uses():
    text = json.dumps(SWAGGER)
    for name in (
        "ChangeRequest",
        "CustomerChanged",
        "ChangeAccepted",
        "ChangeNotSynced",
        "ChangeHeld",
        "ChangeRejected",
        "ChangeFailed",
    ):
        assert f"#/definitions/{name}" in text and name in SWAGGER["definitions"], name


def test_held_for_review_answers_match_the_swagger(fake_services, sap_system):
    from shared.core.change_rules import ConflictRule

    fake_services.change_conflict = ConflictRule.REVIEW
    payload = sample("german-account")
    created = post(payload)
    assert created.status_code == 201
    record = sap_system.customer(json.loads(created.get_body())["customerNumber"])
    record.address["STREET"] = "Im SAP geaendert 9"  # someone changed the street in SAP since our last change
    held = change(dict(payload, street="Karlsplatz 2"), systemModstamp=stamp(10))
    assert held.status_code == 409
    assert assert_documented(CHANGE, held)["conflictingFields"] == ["street"]


def test_the_change_responses_are_the_changes_pages_answers_table():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "changes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d{3})(?: / (\d{3}))? \|", page, flags=re.MULTILINE)
    documented = {int(code) for row in rows for code in row if code}
    assert documented == _codes()
