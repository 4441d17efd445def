"""The Business Partner gateway's interface self-check (shared/sap/business_partner_metadata.py): what it uses is
the published facts' (shared/core/business_partner_facts.py), a metadata that agrees passes with its lengths,
and any difference is one SapInterfaceMismatch naming entity set and property. The documents are the S/4
double's `$metadata`, generated from the facts (s4_simulator/metadata.py), changed as each test says."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from s4_simulator.metadata import SAP, metadata_document
from shared.core import business_partner_facts as facts
from shared.sap.business_partner_metadata import REQUIRED_SERVICE, parse_metadata, read_lengths
from shared.sap.errors import SapInterfaceMismatch


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def changed_metadata(change) -> bytes:
    """The double's metadata with `change(root)` applied."""
    root = ElementTree.fromstring(metadata_document())
    change(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def entity_type(root: ElementTree.Element, set_name: str) -> ElementTree.Element:
    return next(e for e in root.iter() if _tag(e) == "EntityType" and e.get("Name") == f"{set_name}Type")


def without_property(set_name: str, name: str):
    def change(root: ElementTree.Element) -> None:
        owner = entity_type(root, set_name)
        owner.remove(next(p for p in owner if _tag(p) == "Property" and p.get("Name") == name))

    return change


def test_every_entity_set_key_property_and_navigation_used_is_a_published_fact():
    for set_name, needed in REQUIRED_SERVICE.items():
        fact = facts.ENTITY_SETS[set_name]
        assert needed.keys == fact.keys, set_name
        assert all(fact.has_property(name) for name in needed.properties), set_name
        assert all(fact.property(name).creatable or name in fact.keys for name in needed.sent), set_name
        assert all(fact.property(name).filterable for name in needed.filtered), set_name
        assert all(fact.navigation(name).deep_insert for name in needed.navigations), set_name
        assert fact.creatable or not needed.created, set_name


def test_a_metadata_that_agrees_gives_the_max_length_of_every_property_used():
    lengths = read_lengths(metadata_document())

    for set_name, needed in REQUIRED_SERVICE.items():
        for name in needed.properties:
            assert lengths[set_name].get(name) == facts.ENTITY_SETS[set_name].property(name).max_length


@pytest.mark.parametrize(
    ("set_name", "name"),
    [
        ("A_BusinessPartner", "BusinessPartnerIDByExtSystem"),
        ("A_BusinessPartner", "Customer"),
        ("A_BusinessPartnerAddress", "HouseNumber"),
        ("A_AddressPhoneNumber", "PhoneNumberExtension"),
        ("A_CustomerSalesArea", "ShippingCondition"),
        ("A_CustomerCompany", "ReconciliationAccount"),
    ],
)
def test_a_property_missing_from_the_metadata_stops_with_one_error_naming_it(set_name, name):
    with pytest.raises(SapInterfaceMismatch) as raised:
        read_lengths(changed_metadata(without_property(set_name, name)))

    assert f"{set_name} has no property {name}" in raised.value.detail


def test_an_external_id_that_cannot_be_filtered_stops_the_gateway():
    def unfilterable(root: ElementTree.Element) -> None:
        owner = entity_type(root, "A_BusinessPartner")
        prop = next(p for p in owner if p.get("Name") == "BusinessPartnerIDByExtSystem")
        prop.set(f"{{{SAP}}}filterable", "false")

    with pytest.raises(SapInterfaceMismatch) as raised:
        read_lengths(changed_metadata(unfilterable))

    assert "A_BusinessPartner.BusinessPartnerIDByExtSystem cannot be filtered" in raised.value.detail


def test_a_property_the_gateway_sends_that_is_not_creatable_stops_the_gateway():
    def read_only(root: ElementTree.Element) -> None:
        owner = entity_type(root, "A_BusinessPartnerAddress")
        next(p for p in owner if p.get("Name") == "StreetName").set(f"{{{SAP}}}creatable", "false")

    with pytest.raises(SapInterfaceMismatch, match=r"A_BusinessPartnerAddress\.StreetName is not creatable"):
        read_lengths(changed_metadata(read_only))


def test_another_key_stops_the_gateway_naming_both():
    def rekeyed(root: ElementTree.Element) -> None:
        key = next(k for k in entity_type(root, "A_CustomerCompany") if _tag(k) == "Key")
        key.remove(next(ref for ref in key if ref.get("Name") == "CompanyCode"))

    with pytest.raises(SapInterfaceMismatch, match="A_CustomerCompany is keyed by Customer, not Customer, CompanyCode"):
        read_lengths(changed_metadata(rekeyed))


def test_a_navigation_whose_deep_insert_the_metadata_refuses_stops_the_gateway():
    def refused(root: ElementTree.Element) -> None:
        for value in root.iter():
            if _tag(value) == "PropertyValue" and value.get("NavigationPropertyPath") == "to_BusinessPartnerRole":
                record = next(r for r in root.iter() if value in list(r))
                insert = next(v for v in record if v.get("Property") == "InsertRestrictions")
                next(f for f in insert.iter() if f.get("Property") == "Insertable").set("Bool", "false")

    with pytest.raises(SapInterfaceMismatch, match=r"A_BusinessPartner\.to_BusinessPartnerRole takes no deep insert"):
        read_lengths(changed_metadata(refused))


def test_the_metadata_says_which_navigations_take_no_deep_insert():
    assert parse_metadata(metadata_document())["A_BusinessPartner"].not_insertable == {"to_Customer"}


@pytest.mark.parametrize(
    "document",
    [
        b"<html><body>Logon</body></html>",
        b"not xml at all",
        # An entity declaration: refused (the metadata comes from another system), never expanded.
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    ],
)
def test_what_is_not_an_edmx_document_is_a_mismatch_not_a_crash(document):
    with pytest.raises(SapInterfaceMismatch):
        read_lengths(document)
