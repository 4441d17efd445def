"""Issue 20 item 5: no language, no create. A request without a language, for a country the reference table
gives no usual language, is created with SAP_DEFAULT_LANGUAGE; without that setting it is refused with a
field error naming `language`, and nothing reaches SAP. Through the HTTP function, the use case and the
simulated SAP (which itself refuses a create without a language key: sap_simulator/functions.py)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from functions.customers import create_sap_customer
from sap_simulator import SimulatedSap
from sap_simulator.customizing import Country, PostalCodeRule
from shared.core.reference import default_language_for_country
from shared.settings import load_settings
from shared.usecases import Services

# Kenya: in the simulated SAP's countries for this test, absent from reference/country_languages.json.
KENYAN_ACCOUNT = {
    "accountId": "001Dn00000KeNya",
    "name": "Nairobi Traders Ltd",
    "street": "Moi Avenue 12",
    "city": "Nairobi",
    "postalCode": "00100",
    "countryCode": "KE",
}


@pytest.fixture
def sap_with_kenya(sap_system: SimulatedSap) -> SimulatedSap:
    # T005 as a real system has it: every ISO country exists in SAP; the simulator's defaults list fewer.
    sap_system.customizing.countries["KE"] = Country("KE", "KE", "KES", PostalCodeRule(10, 2))
    sap_system.customizing.currencies.setdefault("KES", "KES")
    return sap_system


def post(payload: dict) -> func.HttpResponse:
    request = func.HttpRequest(
        "POST",
        "http://localhost/api/customers",
        headers={"Content-Type": "application/json"},
        body=json.dumps(payload).encode(),
    )
    return create_sap_customer(request)


def with_settings(services: Services, **environment: str) -> None:
    settings = {"SAP_TRANSPORT": "simulator", "SAP_DEFAULT_SALES_AREA": "1000/10/00", **environment}
    services.organization = load_settings(settings).sap_organization


def test_the_country_has_no_usual_language_in_the_reference_table():
    assert default_language_for_country(KENYAN_ACCOUNT["countryCode"]) is None


@pytest.mark.parametrize(("setting", "key"), [("EN", "E"), ("E", "E"), ("fr", "F")])
def test_a_request_without_language_is_created_with_the_configured_default(fake_services, sap_with_kenya, setting, key):
    with_settings(fake_services, SAP_DEFAULT_LANGUAGE=setting)

    response = post(KENYAN_ACCOUNT)

    assert response.status_code == 201, response.get_body()
    [customer] = sap_with_kenya.created_customers()
    assert customer.address["LANGU"] == key


def test_a_sales_areas_language_is_used_before_the_default(fake_services, sap_with_kenya):
    areas = {"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000", "language": "D"}}
    with_settings(fake_services, SAP_DEFAULT_LANGUAGE="EN", SAP_SALES_AREAS=json.dumps(areas))

    assert post(KENYAN_ACCOUNT).status_code == 201
    [customer] = sap_with_kenya.created_customers()
    assert customer.address["LANGU"] == "D"


def test_without_the_setting_the_request_is_refused_naming_language_and_nothing_reaches_sap(
    fake_services, sap_with_kenya
):
    with_settings(fake_services)

    response = post(KENYAN_ACCOUNT)

    # The product answers a field it cannot resolve with 400 and the field (functions/_http.py bad_request).
    assert response.status_code == 400
    errors = json.loads(response.get_body())["errors"]
    assert [error["field"] for error in errors] == ["language"]
    assert "SAP_DEFAULT_LANGUAGE" in errors[0]["message"]
    assert sap_with_kenya.created_customers() == []
    assert fake_services.ledger.get(KENYAN_ACCOUNT["accountId"]) is None
