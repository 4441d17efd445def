"""The S/4 double's $metadata and JSON held to SAP's own Python OData V2 client, pyodata (SAP/python-pyodata):
the document the double serves over HTTP parses into exactly the facts of shared/core/business_partner_facts.py
(every entity set, key, property with Edm type, MaxLength and sap: flags, navigation with its target), and
pyodata reads, creates (deep insert), filters and navigates through the double's JSON answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pyodata
import pytest
import requests
from pyodata.v2.model import MetadataBuilder

from s4_simulator import S4Simulator
from shared.core import business_partner_facts as facts
from tests.integration.s4_simulator_support import JSON, partner_body


@pytest.fixture(scope="module")
def s4() -> Iterator[S4Simulator]:
    with S4Simulator() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def session(s4: S4Simulator) -> requests.Session:
    session = requests.Session()
    session.auth = s4.credentials
    return session


@pytest.fixture(scope="module")
def schema(s4: S4Simulator, session: requests.Session) -> Any:
    response = session.get(f"{s4.service_url}/$metadata", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
    logging.getLogger("pyodata").setLevel(logging.ERROR)  # it notes the Capabilities annotation it does not model
    return MetadataBuilder(response.content).build()


@pytest.mark.parametrize("name", sorted(facts.ENTITY_SETS))
def test_pyodata_reads_the_entity_set_as_the_facts_declare_it(schema, name):
    fact = facts.ENTITY_SETS[name]
    entity_set = schema.entity_set(name)
    entity_type = entity_set.entity_type
    assert entity_type.name == fact.entity_type
    assert tuple(prop.name for prop in entity_type.key_proprties) == fact.keys
    assert (entity_set.creatable, entity_set.updatable, entity_set.deletable) == (
        fact.creatable,
        fact.updatable,
        fact.deletable,
    )
    seen = {prop.name: prop for prop in entity_type.proprties()}
    assert set(seen) == {prop.name for prop in fact.properties}
    for prop in fact.properties:
        parsed = seen[prop.name]
        assert parsed.typ.name == prop.edm_type, prop.name
        assert (parsed.max_length or None) == prop.max_length, prop.name
        assert (parsed.creatable, parsed.updatable, parsed.filterable) == (
            prop.creatable,
            prop.updatable,
            prop.filterable,
        ), prop.name
        assert parsed.upper_case == prop.upper_case and parsed.nullable == prop.nullable, prop.name
    navigations = {navigation.name: navigation for navigation in entity_type.nav_proprties}
    assert set(navigations) == {navigation.name for navigation in fact.navigations}
    for navigation in fact.navigations:
        target = navigations[navigation.name].to_role
        assert target.entity_type_name == facts.ENTITY_SETS[navigation.target].entity_type
        assert (target.multiplicity == "*") == navigation.to_many


def test_the_document_states_for_every_navigation_whether_it_takes_a_deep_insert(s4, session):
    """As the newer published copy does: Capabilities.NavigationRestrictions, Insertable true or false."""
    edm4 = "{http://docs.oasis-open.org/odata/ns/edm}"
    root = ElementTree.fromstring(session.get(f"{s4.service_url}/$metadata", timeout=10).content)
    stated: dict[tuple[str, str], bool] = {}
    for target in root.iter(f"{edm4}Annotations"):
        entity_set = target.get("Target", "").rsplit("/", 1)[-1]
        for record in target.iter(f"{edm4}Record"):
            values = {value.get("Property"): value for value in record.iter(f"{edm4}PropertyValue")}
            if "NavigationProperty" in values and "Insertable" in values:
                navigation = values["NavigationProperty"].get("NavigationPropertyPath", "")
                stated[(entity_set, navigation)] = values["Insertable"].get("Bool") == "true"
    expected = {
        (fact.name, navigation.name): navigation.deep_insert
        for fact in facts.ENTITY_SETS.values()
        for navigation in fact.navigations
    }
    assert stated == expected
    assert stated[("A_BusinessPartner", "to_Customer")] is False


def _lists(value: Any) -> Any:
    """pyodata sends a to-many deep insert as a JSON array (the double takes both it and {"results": [...]})."""
    if isinstance(value, dict):
        if set(value) == {"results"}:
            return [_lists(item) for item in value["results"]]
        return {key: _lists(item) for key, item in value.items()}
    return [_lists(item) for item in value] if isinstance(value, list) else value


def test_pyodata_creates_filters_and_navigates_through_the_double(s4):
    session = requests.Session()
    session.auth = s4.credentials
    logging.getLogger("pyodata").setLevel(logging.ERROR)
    client = pyodata.Client(s4.service_url, session)
    token = session.get(f"{s4.service_url}/", headers={**JSON, "X-CSRF-Token": "Fetch"}, timeout=10)
    session.headers["X-CSRF-Token"] = token.headers["X-CSRF-Token"]  # CSRF is the caller's with pyodata

    request = client.entity_sets.A_BusinessPartner.create_entity()
    request.set(**_lists(partner_body("001PY00000PYODATA1")))
    created = request.execute()
    assert created.BusinessPartner and created.Customer and created.Customer != created.BusinessPartner

    found = (
        client.entity_sets.A_BusinessPartner.get_entities()
        .filter("BusinessPartnerIDByExtSystem eq '001PY00000PYODATA1'")
        .select("BusinessPartner,Customer")
        .execute()
    )
    assert [(row.BusinessPartner, row.Customer) for row in found] == [(created.BusinessPartner, created.Customer)]

    addresses = created.nav("to_BusinessPartnerAddress").get_entities().execute()
    assert [address.CityName for address in addresses] == ["Berlin"]
    reference = client.entity_sets.A_CustomerSalesArea.get_entity(
        Customer="1000", SalesOrganization="1000", DistributionChannel="10", Division="00"
    ).execute()
    assert reference.Currency == "EUR"
