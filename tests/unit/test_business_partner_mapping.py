"""The one create command -> the Business Partner documents (shared/core/business_partner_mapping.py): examples
for each rule, and the live MaxLengths feeding the one mapping's shortening."""

from __future__ import annotations

import pytest

from shared.core import business_partner_facts as facts
from shared.core.business_partner_mapping import (
    business_partner_draft,
    company_data_lengths,
    external_id,
    search_term,
    split_house_number,
)
from shared.core.mapping import map_customer_request
from shared.core.models import CustomerCreation
from shared.core.organization import SalesArea, SalesAreaSetup, SapOrganization
from shared.core.sap_lengths import utf16_units
from shared.core.validation import parse_customer_request
from tests.support.samples import sample

AREA = SalesArea("1000", "10", "00")
ORGANIZATION = SapOrganization(
    default_sales_area=AREA,
    sales_areas={AREA: SalesAreaSetup(company_code="1000", reference_customer="0000001000")},
)
# The published MaxLengths (what the gateway reads from a live $metadata that agrees with the facts).
PUBLISHED = {
    fact.name: {p.name: p.max_length for p in fact.properties if p.max_length} for fact in facts.ENTITY_SETS.values()
}


def command(sample_name: str = "german-account", lengths=PUBLISHED, **changes: str) -> CustomerCreation:
    request = parse_customer_request({**sample(sample_name), **changes})
    return map_customer_request(request, ORGANIZATION, company_data_lengths(lengths))


@pytest.mark.parametrize(
    ("street", "expected"),
    [
        ("Industriestraße 12", ("Industriestraße", "12")),
        ("Hauptstr. 12a", ("Hauptstr.", "12a")),
        ("Rue de Rivoli 12-14", ("Rue de Rivoli", "12-14")),
        ("1600 Amphitheatre Pkwy.", ("Amphitheatre Pkwy.", "1600")),
        ("12, rue de la Paix", ("rue de la Paix", "12")),
        ("221B Baker Street", ("Baker Street", "221B")),
        # Two parts: which one holds the number is a guess, so the line stays whole.
        ("Main St. 1, Building 5", ("Main St. 1, Building 5", "")),
        ("Postfach", ("Postfach", "")),
        ("Am Markt", ("Am Markt", "")),
        # A "number" longer than HouseNumber holds stays in the street.
        ("Long Road 12345678901", ("Long Road 12345678901", "")),
    ],
)
def test_the_house_number_is_told_apart_only_where_the_street_line_shows_it(street, expected):
    assert split_house_number(street) == expected


@pytest.mark.parametrize(
    ("name", "width", "expected"),
    [
        ("Acme GmbH", 20, "ACME GMBH"),
        ("Müller Maschinenbau GmbH & Co. KG", 20, "MÜLLER MASCHINENBAU"),
        ("Supercalifragilisticexpialidocious Ltd", 20, "SUPERCALIFRAGILISTIC"),
        ("Acme  Industrial   Holdings", 15, "ACME INDUSTRIAL"),
    ],
)
def test_the_search_term_is_the_names_start_upper_cased_cut_after_a_whole_word(name, width, expected):
    assert search_term(name, width) == expected


def test_a_create_becomes_an_organization_with_address_roles_and_the_upper_cased_salesforce_id():
    creation = command()
    draft = business_partner_draft(creation, ORGANIZATION, "BP02", PUBLISHED)

    partner = draft.business_partner
    assert partner["BusinessPartnerCategory"] == "2" and partner["BusinessPartnerGrouping"] == "BP02"
    assert partner["BusinessPartnerIDByExtSystem"] == "001DN00000ABCDEIAV" == draft.external_id
    assert partner["OrganizationBPName1"] == creation.parameters["PI_COMPANYDATA"]["NAME"]
    assert partner["CorrespondenceLanguage"] == "DE"
    [address] = partner["to_BusinessPartnerAddress"]["results"]
    assert (address["StreetName"], address["HouseNumber"]) == ("Industriestraße", "12")
    assert (address["PostalCode"], address["CityName"], address["Country"]) == ("80331", "München", "DE")
    assert address["Region"] == creation.parameters["PI_COMPANYDATA"]["REGION"]
    [phone] = address["to_PhoneNumber"]["results"]
    assert phone["PhoneNumber"] == creation.parameters["PI_COMPANYDATA"]["TEL1_NUMBR"]
    assert phone["DestinationLocationCountry"] == "DE"
    roles = [role["BusinessPartnerRole"] for role in partner["to_BusinessPartnerRole"]["results"]]
    assert roles == ["FLCU00", "FLCU01"]
    assert (draft.sales_area, draft.company_code, draft.reference_customer) == (AREA, "1000", "0000001000")
    assert draft.sales_area_data == {"Currency": "EUR"} and draft.too_long == ()


def test_the_name_lines_are_the_one_mappings_word_boundary_split_each_within_the_service_length():
    long_name = "Müller Maschinenbau GmbH & Co. KG Werkzeugfertigung Süd und Nord Export Import Handel"
    draft = business_partner_draft(command(name=long_name), ORGANIZATION, "BP02", PUBLISHED)

    lines = [
        draft.business_partner.get(p)
        for p in ("OrganizationBPName1", "OrganizationBPName2", "OrganizationBPName3", "OrganizationBPName4")
    ]
    assert " ".join(line for line in lines if line) == long_name
    assert all(utf16_units(line) <= 35 for line in lines if line)  # KNA1's 35, which CVI writes to


def test_the_external_id_is_the_salesforce_id_upper_cased():
    assert external_id(" 001Dn00000AbCdEIAV ") == "001DN00000ABCDEIAV"


def test_a_value_over_the_live_max_length_is_named_and_never_put_in_the_documents_short():
    narrow = {
        **PUBLISHED,
        facts.BUSINESS_PARTNER_ADDRESS.name: {**PUBLISHED["A_BusinessPartnerAddress"], "CityName": 5},
    }
    draft = business_partner_draft(command(), ORGANIZATION, "BP02", narrow)  # mapped with the wider lengths

    assert draft.too_long == ("A_BusinessPartnerAddress.CityName",)


def test_the_live_lengths_feed_the_one_mappings_shortening_with_a_warning():
    narrow = {**PUBLISHED, "A_BusinessPartnerAddress": {**PUBLISHED["A_BusinessPartnerAddress"], "CityName": 12}}
    creation = command(lengths=narrow, city="Garching bei München")

    draft = business_partner_draft(creation, ORGANIZATION, "BP02", narrow)

    [address] = draft.business_partner["to_BusinessPartnerAddress"]["results"]
    assert address["CityName"] == "Garching bei" and draft.too_long == ()
    assert [w.field for w in creation.warnings] == ["city"] and "12 characters" in creation.warnings[0].message


def test_the_reported_lengths_are_the_service_lengths_under_the_bapi_names():
    lengths = company_data_lengths(PUBLISHED)
    assert lengths["NAME"] == 40 and lengths["STREET"] == 60 and lengths["CITY"] == 40
    assert lengths["POSTL_COD1"] == 10 and lengths["REGION"] == 3 and lengths["TEL1_NUMBR"] == 30
    assert "LANGU" not in lengths  # no counterpart: the one mapping keeps its own width


def test_a_sales_area_without_company_code_leaves_the_company_code_open():
    bare = SapOrganization(default_sales_area=AREA, sales_areas={AREA: SalesAreaSetup(reference_customer="0000001000")})
    assert business_partner_draft(command(), bare, "BP02", PUBLISHED).company_code is None
