"""The S/4 double's protocol over real HTTP: logon, CSRF, deep insert with CVI numbers, $filter, If-Match,
and bodies refused as SAP refuses them (SAP's error shape). The double is in this process, served on a
thread; every request goes through a socket."""

from __future__ import annotations

import pytest
import requests

from s4_simulator import Numbering, S4Simulator
from tests.integration.s4_simulator_support import JSON, S4Client, error_of, partner_body


@pytest.fixture
def client(s4: S4Simulator) -> S4Client:
    return S4Client(s4)


# ------------------------------------------------------------------ logon and CSRF


def test_a_request_without_or_with_a_wrong_password_is_answered_401(s4):
    assert requests.get(f"{s4.service_url}/A_BusinessPartner", headers=JSON, timeout=10).status_code == 401
    wrong = requests.get(
        f"{s4.service_url}/A_BusinessPartner", headers=JSON, auth=(s4.credentials[0], "nope"), timeout=10
    )
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")


def test_a_write_without_a_csrf_token_is_answered_403_required_and_creates_nothing(s4, client):
    response = client.session.post(f"{s4.service_url}/A_BusinessPartner", json=partner_body(), headers=JSON, timeout=10)
    assert response.status_code == 403
    assert response.headers["X-CSRF-Token"] == "Required"
    assert response.text == "CSRF token validation failed"
    assert client.partners_with_external_id("001AB00000ABCDEFGH") == []


def test_the_csrf_token_is_bound_to_the_session_cookie_that_fetched_it(s4, client):
    token = client.fetch_token()
    stranger = S4Client(s4)  # another session: the token alone is not enough
    response = stranger.session.post(
        f"{s4.service_url}/A_BusinessPartner", json=partner_body(), headers={**JSON, "X-CSRF-Token": token}, timeout=10
    )
    assert response.status_code == 403 and response.headers["X-CSRF-Token"] == "Required"
    assert client.post("/A_BusinessPartner", partner_body()).status_code == 201


def test_after_the_sessions_end_the_old_token_is_refused_and_a_fresh_fetch_works(s4, client):
    client.fetch_token()
    s4.expire_sessions()
    assert client.post("/A_BusinessPartner", partner_body()).status_code == 403
    client.fetch_token()
    assert client.post("/A_BusinessPartner", partner_body()).status_code == 201


def test_a_request_that_does_not_ask_for_json_is_answered_406(s4, client):
    response = client.session.get(
        f"{s4.service_url}/A_BusinessPartner", headers={"Accept": "application/atom+xml"}, timeout=10
    )
    assert response.status_code == 406


# ------------------------------------------------------------------ deep insert and CVI


def test_a_deep_insert_answers_the_partner_with_its_address_phone_email_roles_and_cvi_customer(client):
    response = client.post("/A_BusinessPartner", partner_body())
    assert response.status_code == 201, response.text
    partner = response.json()["d"]
    number, customer = partner["BusinessPartner"], partner["Customer"]
    assert number.isdigit() and customer.isdigit() and number != customer  # separate number ranges
    assert response.headers["Location"].endswith(f"/A_BusinessPartner('{number}')")
    address = partner["to_BusinessPartnerAddress"]["results"][0]
    assert (address["BusinessPartner"], address["CityName"]) == (number, "Berlin") and address["AddressID"]
    assert address["to_PhoneNumber"]["results"][0]["PhoneNumber"] == "030 1234567"
    assert address["to_EmailAddress"]["results"][0]["EmailAddress"] == "orders@acme.example"
    roles = {role["BusinessPartnerRole"] for role in partner["to_BusinessPartnerRole"]["results"]}
    assert roles == {"FLCU00", "FLCU01"}
    read = client.get(f"/A_BusinessPartner('{number}')", **{"$expand": "to_Customer"}).json()["d"]
    assert read["Customer"] == customer and read["to_Customer"]["Customer"] == customer


def test_two_partners_draw_two_partner_numbers_and_two_customer_numbers(client):
    first = client.post("/A_BusinessPartner", partner_body("001AB00000ABCDEFG1")).json()["d"]
    second = client.post("/A_BusinessPartner", partner_body("001AB00000ABCDEFG2")).json()["d"]
    assert int(second["BusinessPartner"]) == int(first["BusinessPartner"]) + 1
    assert int(second["Customer"]) == int(first["Customer"]) + 1


def test_with_same_numbering_the_customer_takes_the_partner_number():
    with S4Simulator(numbering=Numbering(same_numbers=True)) as simulator:
        partner = S4Client(simulator).post("/A_BusinessPartner", partner_body()).json()["d"]
    assert partner["Customer"] == partner["BusinessPartner"]


def test_a_partner_without_a_customer_role_gets_no_customer(client):
    body = {**partner_body(), "to_BusinessPartnerRole": {"results": [{"BusinessPartnerRole": "000000"}]}}
    partner = client.post("/A_BusinessPartner", body).json()["d"]
    assert partner["Customer"] == ""


def test_a_customer_is_not_creatable_and_to_customer_is_no_deep_insert(client):
    created = client.post("/A_Customer", {"Customer": "1234"})
    assert created.status_code == 405
    deep = client.post("/A_BusinessPartner", {**partner_body(), "to_Customer": {"CustomerAccountGroup": "CUST"}})
    assert deep.status_code == 400 and error_of(deep)["code"] == "S4SIM/DEEP_INSERT"
    assert client.partners_with_external_id("001AB00000ABCDEFGH") == []  # all or nothing


def test_sales_area_and_company_code_data_are_created_under_the_new_customer(client):
    customer = client.post("/A_BusinessPartner", partner_body()).json()["d"]["Customer"]
    area = {
        "SalesOrganization": "1000",
        "DistributionChannel": "10",
        "Division": "00",
        "Currency": "EUR",
        "CustomerPaymentTerms": "ZB01",
        "ShippingCondition": "01",
    }
    assert client.post(f"/A_Customer('{customer}')/to_CustomerSalesArea", area).status_code == 201
    company = {"Customer": customer, "CompanyCode": "1000", "ReconciliationAccount": "140000"}
    assert client.post("/A_CustomerCompany", company).status_code == 201
    again = client.post("/A_CustomerCompany", company)
    assert again.status_code == 400 and error_of(again)["code"] == "S4SIM/DUPLICATE"
    areas = client.get(f"/A_Customer('{customer}')/to_CustomerSalesArea").json()["d"]["results"]
    assert [(a["SalesOrganization"], a["Currency"]) for a in areas] == [("1000", "EUR")]


def test_sales_area_data_is_refused_for_an_unknown_sales_area_or_a_customer_without_the_sales_role(client):
    customer = client.post(
        "/A_BusinessPartner",
        {**partner_body(), "to_BusinessPartnerRole": {"results": [{"BusinessPartnerRole": "FLCU00"}]}},
    ).json()["d"]["Customer"]
    area = {"Customer": customer, "SalesOrganization": "1000", "DistributionChannel": "10", "Division": "00"}
    no_role = client.post("/A_CustomerSalesArea", area)
    assert no_role.status_code == 400 and error_of(no_role)["code"] == "S4SIM/ROLE_MISSING"
    unknown = client.post("/A_CustomerSalesArea", {**area, "SalesOrganization": "9999"})
    assert unknown.status_code == 400 and error_of(unknown)["code"] == "S4SIM/NOT_DEFINED"


def test_the_reference_customer_reads_padded_or_unpadded(client):
    padded = client.get(
        "/A_CustomerSalesArea(Customer='0000001000',SalesOrganization='1000',DistributionChannel='10',Division='00')",
        **{"$select": "Currency,CustomerPaymentTerms"},
    )
    assert padded.status_code == 200
    assert padded.json()["d"]["Currency"] == "EUR" and "ShippingCondition" not in padded.json()["d"]
    assert (
        client.get("/A_CustomerCompany(Customer='1000',CompanyCode='1000')").json()["d"]["ReconciliationAccount"]
        == "140000"
    )


# ------------------------------------------------------------------ $filter on the external id


def test_the_external_id_is_stored_upper_cased_and_found_by_its_upper_cased_value(client):
    number = client.post("/A_BusinessPartner", partner_body("001ab00000abcdefgh")).json()["d"]["BusinessPartner"]
    found = client.partners_with_external_id("001AB00000ABCDEFGH")
    assert [row["BusinessPartner"] for row in found] == [number]
    assert found[0]["BusinessPartnerIDByExtSystem"] == "001AB00000ABCDEFGH"
    assert client.partners_with_external_id("001ab00000abcdefgh") == []  # the literal is not upper-cased


def test_two_partners_with_one_external_id_are_both_found(client):
    client.post("/A_BusinessPartner", partner_body())
    client.post("/A_BusinessPartner", partner_body())
    assert len(client.partners_with_external_id("001AB00000ABCDEFGH")) == 2


def test_a_filter_the_double_does_not_understand_is_refused_not_ignored(client):
    response = client.get("/A_BusinessPartner", **{"$filter": "substringof('ACME', SearchTerm1)"})
    assert response.status_code == 400 and error_of(response)["code"] == "S4SIM/FILTER"
    unknown = client.get("/A_BusinessPartner", **{"$filter": "Nickname eq 'x'"})
    assert unknown.status_code == 400


def test_select_and_top_shape_the_answer(client):
    for index in range(3):
        client.post("/A_BusinessPartner", partner_body(f"001AB00000ABCDEF{index:02d}"))
    rows = client.get(
        "/A_BusinessPartner", **{"$select": "BusinessPartner,Customer", "$top": "2", "$inlinecount": "allpages"}
    ).json()["d"]
    assert len(rows["results"]) == 2 and rows["__count"] == "5"  # 3 new and the 2 reference partners
    assert set(rows["results"][0]) == {"__metadata", "BusinessPartner", "Customer"}


# ------------------------------------------------------------------ If-Match


def test_an_update_without_if_match_is_answered_428(client):
    number = client.post("/A_BusinessPartner", partner_body()).json()["d"]["BusinessPartner"]
    response = client.patch(f"/A_BusinessPartner('{number}')", {"SearchTerm2": "NEW"})
    assert response.status_code == 428
    assert error_of(response)["code"] == "SADL_ENTITY_RUNTIME/004"


def test_an_update_with_a_stale_etag_is_answered_412_and_a_fresh_one_applies(client):
    number = client.post("/A_BusinessPartner", partner_body()).json()["d"]["BusinessPartner"]
    first = client.get(f"/A_BusinessPartner('{number}')").headers["ETag"]
    assert client.patch(f"/A_BusinessPartner('{number}')", {"SearchTerm2": "ONE"}, if_match=first).status_code == 204
    stale = client.patch(f"/A_BusinessPartner('{number}')", {"SearchTerm2": "TWO"}, if_match=first)
    assert stale.status_code == 412
    fresh = client.get(f"/A_BusinessPartner('{number}')")
    assert fresh.json()["d"]["SearchTerm2"] == "ONE" and fresh.headers["ETag"] != first
    assert (
        client.patch(
            f"/A_BusinessPartner('{number}')", {"SearchTerm2": "TWO"}, if_match=fresh.headers["ETag"]
        ).status_code
        == 204
    )


def test_an_update_of_a_read_only_property_is_refused(client):
    number = client.post("/A_BusinessPartner", partner_body()).json()["d"]["BusinessPartner"]
    response = client.patch(f"/A_BusinessPartner('{number}')", {"Customer": "42"}, if_match="*")
    assert response.status_code == 400 and error_of(response)["code"] == "S4SIM/NOT_UPDATABLE"


# ------------------------------------------------------------------ refused bodies


def test_an_over_long_value_is_refused_in_sap_error_shape_naming_the_property(client):
    response = client.post("/A_BusinessPartner", {**partner_body(), "OrganizationBPName1": "A" * 41})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "S4SIM/MAX_LENGTH" and "OrganizationBPName1" in error["message"]["value"]
    detail = error["innererror"]["errordetails"][0]
    assert detail["propertyref"] == "A_BusinessPartnerType/OrganizationBPName1" and detail["severity"] == "error"
    assert client.partners_with_external_id("001AB00000ABCDEFGH") == []


def test_max_length_counts_utf16_units_as_a_unicode_sap_system_does(client):
    emoji_name = "\N{SLIGHTLY SMILING FACE}" * 20  # 20 characters, 40 UTF-16 units: fits exactly
    assert client.post("/A_BusinessPartner", {**partner_body(), "OrganizationBPName1": emoji_name}).status_code == 201
    too_long = client.post("/A_BusinessPartner", {**partner_body(), "OrganizationBPName1": emoji_name + "x"})
    assert too_long.status_code == 400


def test_an_over_long_value_deep_in_the_address_is_refused_with_its_entity_type(client):
    body = partner_body()
    body["to_BusinessPartnerAddress"]["results"][0]["CityName"] = "C" * 41
    error = error_of(client.post("/A_BusinessPartner", body))
    assert error["innererror"]["errordetails"][0]["propertyref"] == "A_BusinessPartnerAddressType/CityName"


def test_an_unknown_property_is_refused_and_every_problem_is_listed(client):
    response = client.post("/A_BusinessPartner", {**partner_body(), "Nickname": "Acme", "SearchTerm1": "X" * 21})
    assert response.status_code == 400
    details = error_of(response)["innererror"]["errordetails"]
    assert {detail["code"] for detail in details} == {"S4SIM/UNKNOWN_PROPERTY", "S4SIM/MAX_LENGTH"}


def test_a_read_only_property_on_create_and_a_wrong_json_type_are_refused(client):
    read_only = client.post("/A_BusinessPartner", {**partner_body(), "Customer": "4711"})
    assert read_only.status_code == 400 and error_of(read_only)["code"] == "S4SIM/NOT_CREATABLE"
    wrong_type = client.post("/A_BusinessPartner", {**partner_body(), "BusinessPartnerIsBlocked": "no"})
    assert wrong_type.status_code == 400 and error_of(wrong_type)["code"] == "S4SIM/INVALID_VALUE"


def test_a_body_that_is_not_json_is_refused_with_400(s4, client):
    client.fetch_token()
    response = client.session.post(
        f"{s4.service_url}/A_BusinessPartner",
        data=b"{not json",
        headers={**JSON, "X-CSRF-Token": client.token or ""},
        timeout=10,
    )
    assert response.status_code == 400 and error_of(response)["code"] == "S4SIM/MALFORMED"


def test_a_failure_inside_the_double_is_answered_500_not_taken_for_a_cut_line(s4, client, monkeypatch):
    def failing(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in the double")

    monkeypatch.setattr(s4.service, "handle", failing)
    response = client.get("/A_BusinessPartner")
    assert response.status_code == 500 and error_of(response)["code"] == "S4SIM/INTERNAL"


def test_an_updated_address_stays_under_its_partner_with_its_phone(client):
    partner = client.post("/A_BusinessPartner", partner_body()).json()["d"]
    address = partner["to_BusinessPartnerAddress"]["results"][0]
    path = (
        f"/A_BusinessPartnerAddress(BusinessPartner='{partner['BusinessPartner']}',AddressID='{address['AddressID']}')"
    )
    assert client.patch(path, {"CityName": "Potsdam"}, if_match=client.get(path).headers["ETag"]).status_code == 204
    read = client.get(
        f"/A_BusinessPartner('{partner['BusinessPartner']}')", **{"$expand": "to_BusinessPartnerAddress/to_PhoneNumber"}
    ).json()["d"]
    [moved] = read["to_BusinessPartnerAddress"]["results"]
    assert moved["CityName"] == "Potsdam" and moved["to_PhoneNumber"]["results"][0]["PhoneNumber"] == "030 1234567"
