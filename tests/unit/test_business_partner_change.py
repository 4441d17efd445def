"""The Business Partner change's PATCH bodies (shared/sap/business_partner_change.py) as a table: each
PI_COMPANYDATA field to the entity set and property it changes, and nothing else; what is refused; the street
line read back."""

from __future__ import annotations

import pytest

from shared.sap.business_partner_change import business_partner_patches, refusal, street_line
from shared.sap.errors import SapPermanentError, SapTransientError

LENGTHS = {
    "A_BusinessPartner": {"OrganizationBPName1": 40, "CorrespondenceLanguage": 2},
    "A_BusinessPartnerAddress": {"StreetName": 60, "HouseNumber": 10, "CityName": 40, "PostalCode": 10},
    "A_AddressPhoneNumber": {"PhoneNumber": 30},
    "A_AddressEmailAddress": {"EmailAddress": 241},
}


@pytest.mark.parametrize(
    ("company_data", "partner", "address", "phone", "email"),
    [
        ({"NAME": "Neu GmbH"}, {"OrganizationBPName1": "Neu GmbH"}, {}, {}, {}),
        ({"NAME_2": ""}, {"OrganizationBPName2": ""}, {}, {}, {}),  # a cleared second line
        ({"LANGU": "E", "LANGU_ISO": "EN"}, {"CorrespondenceLanguage": "EN"}, {}, {}, {}),
        # the street line split as the create splits it: both parts sent, the number cleared when there is none
        ({"STREET": "Neue Str. 7"}, {}, {"StreetName": "Neue Str.", "HouseNumber": "7"}, {}, {}),
        ({"STREET": "Am Markt"}, {}, {"StreetName": "Am Markt", "HouseNumber": ""}, {}, {}),
        ({"STREET": "Am Markt", "HOUSE_NO": "3a"}, {}, {"StreetName": "Am Markt", "HouseNumber": "3a"}, {}, {}),
        (
            {"CITY": "Berlin", "POSTL_COD1": "10115", "REGION": "11"},
            {},
            {"CityName": "Berlin", "PostalCode": "10115", "Region": "11"},
            {},
            {},
        ),
        ({"COUNTRY": "AT", "COUNTRYISO": "AT"}, {}, {"Country": "AT"}, {}, {}),
        ({"TEL1_NUMBR": "+43 1 234"}, {}, {}, {"PhoneNumber": "+43 1 234"}, {}),
        ({"TEL1_NUMBR": "", "TEL1_EXT": ""}, {}, {}, {"PhoneNumber": "", "PhoneNumberExtension": ""}, {}),
        ({"E_MAIL": "ap@example.com"}, {}, {}, {}, {"EmailAddress": "ap@example.com"}),
        ({}, {}, {}, {}, {}),
    ],
)
def test_each_field_changes_exactly_its_property(company_data, partner, address, phone, email):
    patches = business_partner_patches(company_data, LENGTHS)
    assert (patches.partner, patches.address, patches.phone, patches.email) == (partner, address, phone, email)
    assert patches.refused == () and patches.too_long == () and refusal(patches) is None


@pytest.mark.parametrize(
    ("company_data", "refused"),
    [
        ({"CURRENCY": "EUR"}, ("CURRENCY",)),  # not the customer's address: never changed here
        ({"LANGU": "E"}, ("LANGU",)),  # OData takes the ISO code; the key alone cannot be sent
        ({"COUNTRYISO": "AT"}, ("COUNTRYISO",)),
        ({"STREET": "x", "PO_BOX": "1"}, ("PO_BOX",)),
    ],
)
def test_a_field_with_no_place_in_the_service_is_refused_before_anything_is_sent(company_data, refused):
    patches = business_partner_patches(company_data, LENGTHS)
    assert patches.refused == refused
    assert isinstance(refusal(patches), SapPermanentError)


def test_a_value_longer_than_the_service_holds_is_never_sent():
    patches = business_partner_patches({"CITY": "x" * 41}, LENGTHS)
    assert patches.too_long == ("A_BusinessPartnerAddress.CityName",)
    assert type(refusal(patches)) is SapTransientError  # mapped again with the live lengths on retry


@pytest.mark.parametrize(
    ("street", "number", "line"),
    [
        ("Hauptstr.", "5", "Hauptstr. 5"),
        ("Am Markt", "", "Am Markt"),
        ("Industriestraße", "12", "Industriestraße 12"),
        ("Amphitheatre Pkwy.", "1600", "Amphitheatre Pkwy. 1600"),  # the known limit: number first reads back last
    ],
)
def test_the_street_line_reads_back_as_the_create_split_it(street, number, line):
    assert street_line(street, number) == line
