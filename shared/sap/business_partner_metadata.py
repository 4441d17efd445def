"""The Business Partner gateway's interface self-check: the service's `$metadata` (EDMX, OData V2) is read
at first use and every entity set, key, property and navigation the gateway sends or reads
(`REQUIRED_SERVICE`) is held against it, with the flags it relies on (the set and each property it sends
creatable, the external id filterable). A mismatch is one SapInterfaceMismatch naming the entity set and
the property; the MaxLengths read here bound every value sent (shared/core/business_partner_mapping.py)
and feed the one mapping's shortening, as the rfc adapter's CHAR lengths do (shared/sap/rfc_metadata.py).

The names and keys are the published facts (shared/core/business_partner_facts.py, each with its
source; tests/unit/test_business_partner_metadata.py holds REQUIRED_SERVICE against them); the EDMX
itself is parsed with defusedxml (a DTD, entity or external reference is refused: the metadata comes
from another system).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree

from shared.core import business_partner_facts as facts
from shared.core.business_partner_mapping import (
    ADDRESS,
    BUSINESS_PARTNER,
    COMPANY,
    NAME_PROPERTIES,
    PHONE,
    ROLE,
    SALES_AREA,
    Lengths,
)
from shared.sap.errors import SapInterfaceMismatch

logger = logging.getLogger(__name__)

_SAP = "{http://www.sap.com/Protocols/SAPData}"

# Copied from the reference customer's sales area and company code data (the BAPI copied everything it was
# not given from it; the Business Partner service copies nothing, so the gateway reads the reference and
# sends these). Never a block (OrderIsBlockedForCustomer): a reference may well be blocked itself; nor
# Incoterms (a classification needs its location). Each is a published property (business_partner_facts).
REFERENCE_SALES_AREA_PROPERTIES = (
    "Currency",
    "CustomerPaymentTerms",
    "ShippingCondition",
    "CustomerPricingProcedure",
    "CustomerGroup",
    "CustomerAccountAssignmentGroup",
    "SalesDistrict",
)
REFERENCE_COMPANY_PROPERTIES = ("ReconciliationAccount", "PaymentTerms")
EMAIL = facts.ADDRESS_EMAIL_ADDRESS.name
SALES_AREA_KEYS = facts.CUSTOMER_SALES_AREA.keys
COMPANY_KEYS = facts.CUSTOMER_COMPANY.keys


@dataclass(frozen=True)
class Needed:
    """What the gateway needs of one entity set: its type's exact key, the properties it reads, those it
    sends (creatable), those it filters by (filterable), the navigations of a deep insert, whether it POSTs
    to the set itself (the set creatable), and the properties a change PATCHes (updatable; issue 26)."""

    keys: tuple[str, ...]
    read: tuple[str, ...] = ()
    sent: tuple[str, ...] = ()
    filtered: tuple[str, ...] = ()
    navigations: tuple[str, ...] = ()
    created: bool = False
    updated: tuple[str, ...] = ()

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.keys, *self.read, *self.sent, *self.filtered, *self.updated)))


# Everything the gateway sends or reads. Nothing else is ever sent.
REQUIRED_SERVICE: dict[str, Needed] = {
    BUSINESS_PARTNER: Needed(
        keys=facts.BUSINESS_PARTNER.keys,
        read=("BusinessPartner", "Customer"),
        sent=(
            "BusinessPartnerCategory",
            "BusinessPartnerGrouping",
            *NAME_PROPERTIES,
            "SearchTerm1",
            "CorrespondenceLanguage",
            "BusinessPartnerIDByExtSystem",
        ),
        # The change path finds the partner of a customer by its Customer (shared/sap/business_partner_change.py).
        filtered=("BusinessPartnerIDByExtSystem", "Customer"),
        navigations=("to_BusinessPartnerAddress", "to_BusinessPartnerRole"),
        created=True,
        updated=(*NAME_PROPERTIES, "CorrespondenceLanguage"),
    ),
    ADDRESS: Needed(
        keys=facts.BUSINESS_PARTNER_ADDRESS.keys,
        sent=("StreetName", "HouseNumber", "PostalCode", "CityName", "Country", "Region", "Language"),
        navigations=("to_PhoneNumber", "to_EmailAddress"),
        updated=("StreetName", "HouseNumber", "PostalCode", "CityName", "Country", "Region"),
    ),
    PHONE: Needed(
        keys=facts.ADDRESS_PHONE_NUMBER.keys,
        sent=("PhoneNumber", "PhoneNumberExtension", "DestinationLocationCountry", "IsDefaultPhoneNumber"),
        updated=("PhoneNumber", "PhoneNumberExtension"),
    ),
    EMAIL: Needed(
        keys=facts.ADDRESS_EMAIL_ADDRESS.keys,
        sent=("EmailAddress", "IsDefaultEmailAddress"),
        updated=("EmailAddress",),
    ),
    ROLE: Needed(keys=facts.BUSINESS_PARTNER_ROLE.keys, sent=("BusinessPartnerRole",)),
    SALES_AREA: Needed(
        keys=SALES_AREA_KEYS,
        read=REFERENCE_SALES_AREA_PROPERTIES,
        sent=(*SALES_AREA_KEYS, *REFERENCE_SALES_AREA_PROPERTIES),
        created=True,
    ),
    COMPANY: Needed(
        keys=COMPANY_KEYS,
        read=REFERENCE_COMPANY_PROPERTIES,
        sent=(*COMPANY_KEYS, *REFERENCE_COMPANY_PROPERTIES),
        created=True,
    ),
}


@dataclass(frozen=True)
class PropertyFacts:
    max_length: int | None
    creatable: bool = True
    filterable: bool = True
    updatable: bool = True


@dataclass(frozen=True)
class EntitySetFacts:
    """One entity set as the live `$metadata` declares it (with its entity type's key and properties)."""

    keys: tuple[str, ...]
    properties: Mapping[str, PropertyFacts] = field(default_factory=dict)
    navigations: frozenset[str] = frozenset()
    creatable: bool = True
    # Navigations the metadata says no deep insert goes through (Capabilities.NavigationRestrictions,
    # InsertRestrictions/Insertable false: stated by newer releases only; silence is taken as insertable).
    not_insertable: frozenset[str] = frozenset()


def parse_metadata(document: bytes | str) -> dict[str, EntitySetFacts]:
    """Every entity set of an OData V2 EDMX document, with its type's key, properties and navigations.
    SapInterfaceMismatch when it is not such a document (an HTML logon page, say)."""
    try:
        root = ElementTree.fromstring(document)
    except Exception as error:  # defusedxml's refusals and ParseError alike: not metadata we can read
        raise SapInterfaceMismatch(
            f"the service's $metadata is not an EDMX document we can read: {type(error).__name__}"
        ) from None
    types: dict[str, Any] = {}
    for schema in _children(root.iter(), "Schema"):
        for entity_type in _children(schema, "EntityType"):
            types[entity_type.get("Name", "")] = entity_type
    sets: dict[str, EntitySetFacts] = {}
    for entity_set in _children(root.iter(), "EntitySet"):
        # EntityType="API_BUSINESS_PARTNER.A_BusinessPartnerType": qualified by the schema's namespace.
        type_name = entity_set.get("EntityType", "").rsplit(".", 1)[-1]
        entity_type = types.get(type_name)
        if entity_type is None:
            continue
        keys = tuple(
            ref.get("Name", "") for key in _children(entity_type, "Key") for ref in _children(key, "PropertyRef")
        )
        properties = {
            prop.get("Name", ""): PropertyFacts(
                max_length=int(text) if (text := prop.get("MaxLength", "")).isdigit() else None,
                creatable=prop.get(f"{_SAP}creatable") != "false",
                filterable=prop.get(f"{_SAP}filterable") != "false",
                updatable=prop.get(f"{_SAP}updatable") != "false",
            )
            for prop in _children(entity_type, "Property")
        }
        navigations = frozenset(nav.get("Name", "") for nav in _children(entity_type, "NavigationProperty"))
        set_name = entity_set.get("Name", "")
        sets[set_name] = EntitySetFacts(
            keys,
            properties,
            navigations,
            creatable=entity_set.get(f"{_SAP}creatable") != "false",
            not_insertable=_not_insertable(root, set_name),
        )
    if not sets:
        raise SapInterfaceMismatch(
            "the service's $metadata declares no entity set: is SAP_ODATA_URL the root of API_BUSINESS_PARTNER?"
        )
    return sets


def check_service(
    sets: Mapping[str, EntitySetFacts], required: Mapping[str, Needed] = REQUIRED_SERVICE
) -> dict[str, dict[str, int]]:
    """Hold `required` against the live entity sets: SapInterfaceMismatch naming the first entity set and
    property (or key, navigation, flag) that differs; else the MaxLength of every property used."""
    lengths: dict[str, dict[str, int]] = {}
    for set_name, needed in required.items():
        facts = sets.get(set_name)
        if facts is None:
            raise _mismatch(f"entity set {set_name} is not in this service")
        if tuple(facts.keys) != needed.keys:
            raise _mismatch(
                f"{set_name} is keyed by {', '.join(facts.keys) or 'nothing'}, not {', '.join(needed.keys)}"
            )
        if needed.created and not facts.creatable:
            raise _mismatch(f"{set_name} is not creatable in this service (sap:creatable=false)")
        for prop in needed.properties:
            if prop not in facts.properties:
                raise _mismatch(f"{set_name} has no property {prop} in this service")
        for prop in needed.sent:
            if not facts.properties[prop].creatable and prop not in needed.keys:
                raise _mismatch(f"{set_name}.{prop} is not creatable in this service (sap:creatable=false)")
        for prop in needed.updated:
            if not facts.properties[prop].updatable:
                raise _mismatch(f"{set_name}.{prop} cannot be changed in this service (sap:updatable=false)")
        for prop in needed.filtered:
            if not facts.properties[prop].filterable:
                raise _mismatch(
                    f"{set_name}.{prop} cannot be filtered in this service (sap:filterable=false): "
                    "the duplicate guard looks the account up by it"
                )
        for navigation in needed.navigations:
            if navigation not in facts.navigations:
                raise _mismatch(f"{set_name} has no navigation {navigation} in this service")
            if navigation in facts.not_insertable:
                raise _mismatch(f"{set_name}.{navigation} takes no deep insert in this service (Insertable false)")
        lengths[set_name] = {
            prop: length for prop in needed.properties if (length := facts.properties[prop].max_length) is not None
        }
    logger.info("SAP Business Partner service checked against its live $metadata", extra={"entity_sets": len(required)})
    return lengths


def read_lengths(document: bytes | str) -> Lengths:
    """The check of one `$metadata` document: the MaxLengths, or SapInterfaceMismatch."""
    return check_service(parse_metadata(document))


def _not_insertable(root: Any, set_name: str) -> frozenset[str]:
    """The navigations of `set_name` whose InsertRestrictions say Insertable false, from the annotations that
    target it ("<namespace>.<container>/<set>"), as the published metadata of newer releases states them."""
    found: set[str] = set()
    for group in _children(root.iter(), "Annotations"):
        target = group.get("Target", "")
        if "/" not in target or target.rsplit("/", 1)[-1] != set_name:
            continue
        for annotation in _children(group, "Annotation"):
            if annotation.get("Term", "").rsplit(".", 1)[-1] != "NavigationRestrictions":
                continue
            for record in _children(annotation.iter(), "Record"):
                values = {value.get("Property"): value for value in _children(record, "PropertyValue")}
                navigation = values.get("NavigationProperty")
                insert = values.get("InsertRestrictions")
                if navigation is None or insert is None:
                    continue
                flags = [
                    flag.get("Bool")
                    for flag in _children(insert.iter(), "PropertyValue")
                    if flag.get("Property") == "Insertable"
                ]
                if "false" in flags:
                    found.add(navigation.get("NavigationPropertyPath", ""))
    return frozenset(found)


def _children(parent: Any, local_name: str) -> Iterable[Any]:
    """Elements named `local_name` in any namespace (EDM's namespace differs between CSDL versions)."""
    return (child for child in parent if str(child.tag).rsplit("}", 1)[-1] == local_name)


def _mismatch(what: str) -> SapInterfaceMismatch:
    return SapInterfaceMismatch(
        f"API_BUSINESS_PARTNER: {what}; nothing is sent until the gateway and the service agree"
    )
