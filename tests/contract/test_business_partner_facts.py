"""shared/core/business_partner_facts.py held to SAP's generated client for API_BUSINESS_PARTNER.

The referee (npm @sap/cloud-sdk-vdm-business-partner-service, pinned in devtools/s4_referee.py and
installed by scripts/test) is read three ways: its CSN (keys, lengths, associations), its Api.js
(Edm types, nullability) and its doc comments ("Maximum length: N"). Every entity set, key, property,
Edm type, MaxLength and navigation of the facts must agree with all three; a failure names each
difference. Flags the package does not carry (creatable, updatable, filterable, deep insert) are not
checked here: the facts module's docstring says where they come from.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from devtools.s4_referee import (
    PublishedEntitySet,
    RefereeError,
    differences,
    ensure_referee,
    read_published_model,
)
from shared.core import business_partner_facts as facts


@pytest.fixture(scope="module")
def published() -> dict[str, PublishedEntitySet]:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the referee is an npm package (Node.js 20 with npm)")
    try:
        package: Path = ensure_referee()
    except RefereeError as error:
        pytest.fail(f"the S/4 facts referee could not be installed: {error}")
    return read_published_model(package)


@pytest.mark.parametrize("entity_set", sorted(facts.ENTITY_SETS))
def test_the_entity_set_agrees_with_sap_generated_client(published, entity_set):
    found = differences([facts.ENTITY_SETS[entity_set]], published)
    assert not found, "business_partner_facts differs from the published client:\n" + "\n".join(found)


def test_the_referee_reads_lengths_from_both_the_csn_and_the_doc_comments(published):
    # Guards against a parser that silently reads nothing (then every comparison would be vacuous).
    partner = published["A_BusinessPartner"].properties["BusinessPartnerIDByExtSystem"]
    assert (partner.csn_length, partner.documented_length, partner.edm_type) == (20, 20, "Edm.String")
    assert published["A_BusinessPartner"].navigations["to_Customer"].target == "A_Customer"


def test_a_wrong_max_length_is_named_with_entity_and_property(published):
    partner = facts.BUSINESS_PARTNER
    wrong = dataclasses.replace(partner.property("OrganizationBPName1"), max_length=35)
    altered = dataclasses.replace(
        partner, properties=tuple(wrong if p.name == wrong.name else p for p in partner.properties)
    )
    found = differences([altered], published)
    assert found == [
        "A_BusinessPartner.OrganizationBPName1: MaxLength 35 in the facts, 40 in the CSN",
        "A_BusinessPartner.OrganizationBPName1: MaxLength 35 in the facts, 40 in the doc comment",
    ]


def test_an_unpublished_property_key_or_navigation_is_named(published):
    role = facts.BUSINESS_PARTNER_ROLE
    altered = dataclasses.replace(
        role,
        keys=("BusinessPartner",),
        properties=(*role.properties, facts.PropertyFact("RoleIsInvented", max_length=1)),
        navigations=(facts.NavigationFact("to_Nowhere", "A_Customer", to_many=False, deep_insert=False),),
    )
    found = differences([altered], published)
    assert "A_BusinessPartnerRole.RoleIsInvented: no such property published" in found
    assert "A_BusinessPartnerRole.to_Nowhere: no such navigation published" in found
    assert any(line.startswith("A_BusinessPartnerRole: keys ('BusinessPartner',) in the facts") for line in found)
    assert any(line.startswith("A_BusinessPartnerRole.BusinessPartnerRole: key False in the facts") for line in found)
