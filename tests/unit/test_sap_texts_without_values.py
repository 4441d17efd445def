"""SAP's rejection texts quote what was sent ("Postal code &1 must have length &2"); the product keeps,
answers and writes back field and rule, never the value (issue 22, item 8): the request's personal words
are masked in SAP's texts (shared.core.personal_data)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from functions.customers import create_sap_customer, get_sap_customer_sync_status
from shared.core.models import CustomerCreation
from shared.core.personal_data import without_personal_values
from shared.sap import SapBusinessRejection, SapCustomerCreated, SapGateway, SapInterface, SapMessage
from shared.usecases import Services
from tests.support.samples import sample

PAYLOAD = {
    "name": "Acme Inc",
    "street": "Lange Strasse mit sehr vielen Zeichen 123",
    "city": "Berlin",
    "postalCode": "10115",
    "phone": "+49 30 1234567",
}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Postal code 10115 must have length 5 (country DE)", "Postal code *** must have length 5 (country DE)"),
        # What the mapping sent, not the request: the street abbreviated and cut, the phone in E.164.
        ("Street Lange Str. mit sehr vielen Zeichen is not valid", "Street *** Str. *** *** *** *** is not valid"),
        ("Telephone +49301234567 is not allowed", "Telephone +*** is not allowed"),
        ("Name ACME INC already exists in Berlin", "Name *** *** already exists in ***"),
        # Whole words only, and SAP's own wording and the organization's keys stay.
        ("Incorrect entry in sales area 1000/10/00", "Incorrect entry in sales area 1000/10/00"),
    ],
)
def test_the_requests_personal_words_are_masked_in_a_text(text, masked):
    assert without_personal_values(text, PAYLOAD) == masked


def test_a_text_without_personal_fields_is_left_alone():
    assert without_personal_values("Enter a postal code for country DE", {"countryCode": "DE"}) == (
        "Enter a postal code for country DE"
    )


class QuotingRejection(SapGateway):
    """Rejects every create as SAP does, its texts filled with the values the mapping sent."""

    def __init__(self, inner: SapGateway) -> None:
        self.inner = inner

    def check_interface(self) -> SapInterface:
        return self.inner.check_interface()

    def ping(self) -> None:
        self.inner.ping()

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        sent = creation.parameters["PI_COMPANYDATA"]
        raise SapBusinessRejection(
            (
                SapMessage("E", "AM", "215", f"Postal code {sent['POSTL_COD1']} must have length 6 (country DE)"),
                SapMessage("E", "AM", "900", f"Street {sent['STREET']} in {sent['CITY']} not found for {sent['NAME']}"),
            )
        )


def test_a_rejection_quoting_the_values_keeps_none_in_the_answer_ledger_status_or_salesforce(fake_services: Services):
    fake_services.sap = QuotingRejection(fake_services.sap)
    payload = sample("german-account")
    response = create_sap_customer(
        func.HttpRequest(
            "POST",
            "http://localhost:7071/api/customers",
            headers={"Content-Type": "application/json"},
            body=json.dumps(payload).encode(),
        )
    )
    assert response.status_code == 422
    answer = response.get_body().decode()
    assert json.loads(answer)["sapMessage"]["text"] == "Postal code *** must have length 6 (country DE)"
    account_id = payload["accountId"]
    entry = fake_services.ledger.get(account_id)
    status = get_sap_customer_sync_status(
        func.HttpRequest(
            "GET", f"http://localhost:7071/api/customers/{account_id}", body=b"", route_params={"accountId": account_id}
        )
    )
    places = {
        "422 answer": answer,
        "lastError": entry.last_error,
        "status API": status.get_body().decode(),
        "SAP_Sync_Error__c": " ".join(fake_services.writeback.failed[account_id]),
    }
    values = [payload["postalCode"], payload["city"], *payload["street"].split(), *payload["name"].split()]
    for place, text in places.items():
        assert "AM 215" in text or "215" in text, place  # the rule is still there
        for value in (value for value in values if len(value) >= 3):
            assert value not in text, f"{place} repeats {value!r}: {text[:300]}"
