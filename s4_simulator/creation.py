"""The create rules of the S/4 double: what each entity set needs, the numbers it draws, and CVI.

Called by service.py inside the request's one transaction: a rule that refuses raises ODataError (400) and
the whole request, deep parts and drawn numbers included, is rolled back.

The business checks are the closed side of what SAP checks (its field control and customising vary by
system and are not published): a partner is an organization (category 2) with OrganizationBPName1, keeps
the internal number range (no BusinessPartner given), an address has a Country, a phone a PhoneNumber, an
e-mail an EmailAddress with an @, a role is one the double knows and not there twice, sales area and
company code data need the customer's role (FLCU01 / FLCU00), a known sales area or company code, and
must not exist yet. Messages and codes are the double's own (S4SIM/...).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from s4_simulator.documents import Document
from s4_simulator.model import PARENTS, Customizing, Numbering, new_etag, partner_names
from s4_simulator.odata import ODataError, bad_request
from s4_simulator.store import Row, Transaction
from shared.core.business_partner_facts import (
    ADDRESS_EMAIL_ADDRESS,
    ADDRESS_PHONE_NUMBER,
    BUSINESS_PARTNER,
    BUSINESS_PARTNER_ADDRESS,
    BUSINESS_PARTNER_ROLE,
    CATEGORY_ORGANIZATION,
    CUSTOMER,
    CUSTOMER_COMPANY,
    CUSTOMER_SALES_AREA,
    ROLE_CUSTOMER,
    ROLE_FI_CUSTOMER,
    EntitySetFact,
)


class S4Service(Protocol):
    """What creating needs of the service (service.py's S4Service, which calls this module): its numbering
    and customizing; a protocol, so this module does not import the one that imports it."""

    numbering: Numbering
    customizing: Customizing


# BP roles the double knows: general (000000), customer (FLCU00, FLCU01), supplier (FLVN00, FLVN01), credit
# management (UKM000) (SAP Learning "Using Business Partner for Transportation Management"; SAP Community
# blog "Business Partner in SAP S/4 HANA - Part I").
KNOWN_ROLES = frozenset({"000000", ROLE_FI_CUSTOMER, ROLE_CUSTOMER, "FLVN00", "FLVN01", "UKM000"})
CUSTOMER_ROLES = (ROLE_FI_CUSTOMER, ROLE_CUSTOMER)
# The customer's account group CVI assigns (the grouping's assignment in a real system; the double's own).
CUSTOMER_ACCOUNT_GROUP = "CUST"
PARTNER_OF_CUSTOMER = "_BusinessPartner"  # kept in the customer's record, never answered (not a property)


def _refuse(entity_set: EntitySetFact, name: str, code: str, message: str) -> ODataError:
    return bad_request(code, message, [(f"S4SIM/{code}", message, f"{entity_set.entity_type}/{name}" if name else "")])


def _today() -> str:
    return f"/Date({int(time.time() // 86400 * 86400 * 1000)})/"


def create_entity(service: S4Service, tx: Transaction, document: Document, parent: Row | None) -> Row:
    """Create the document's entity (and what it nests) under `parent`, or under the parent its body names."""
    entity_set = document.entity_set
    properties = dict(document.properties)
    if entity_set.name in PARENTS:
        parent = _parent(tx, entity_set, properties, parent)
    creators = {
        BUSINESS_PARTNER.name: _partner,
        BUSINESS_PARTNER_ADDRESS.name: _address,
        BUSINESS_PARTNER_ROLE.name: _role,
        ADDRESS_PHONE_NUMBER.name: _communication,
        ADDRESS_EMAIL_ADDRESS.name: _communication,
        CUSTOMER_SALES_AREA.name: _customer_part,
        CUSTOMER_COMPANY.name: _customer_part,
    }
    if entity_set.name not in creators:
        raise ODataError(405, "S4SIM/NOT_CREATABLE", f"Entity set {entity_set.name} is not creatable")
    return creators[entity_set.name](service, tx, document, properties, parent)


def _parent(tx: Transaction, entity_set: EntitySetFact, properties: dict[str, Any], parent: Row | None) -> Row:
    parent_set, carried = PARENTS[entity_set.name]
    if parent is not None:
        for name in carried:
            given = properties.get(name)
            if given and given != parent.record.get(name):
                raise _refuse(entity_set, name, "PARENT_MISMATCH", f"{name} '{given}' is not the parent's")
            properties[name] = parent.record.get(name)
        return parent
    missing = [name for name in carried if not properties.get(name)]
    if missing:
        raise _refuse(entity_set, missing[0], "REQUIRED", f"{missing[0]} is required to create {entity_set.name}")
    if parent_set is BUSINESS_PARTNER_ADDRESS:
        found = next(
            (row for row in tx.all(parent_set.name) if row.record.get("AddressID") == properties["AddressID"]), None
        )
    else:
        found = tx.get(parent_set.name, tuple(properties[name] for name in carried))
    if found is None:
        name = carried[0]
        raise _refuse(entity_set, name, "PARENT_MISSING", f"{parent_set.name} {properties[name]} does not exist")
    return found


def _put(tx: Transaction, entity_set: EntitySetFact, record: dict[str, Any], parent: Row | None) -> Row:
    key = tuple(record.get(name, "") for name in entity_set.keys)
    etag = new_etag()
    external = record.get("BusinessPartnerIDByExtSystem") if entity_set is BUSINESS_PARTNER else None
    tx.put(entity_set.name, key, record, etag, parent=None if parent is None else parent.key, external_id=external)
    return Row(entity_set.name, key, record, etag)


def _partner(
    service: S4Service, tx: Transaction, document: Document, properties: dict[str, Any], parent: Row | None
) -> Row:
    if properties.get("BusinessPartner"):
        raise _refuse(
            BUSINESS_PARTNER,
            "BusinessPartner",
            "EXTERNAL_NUMBER",
            "The grouping's number range is internal: leave BusinessPartner out",
        )
    if properties.get("BusinessPartnerCategory") != CATEGORY_ORGANIZATION:
        raise _refuse(
            BUSINESS_PARTNER,
            "BusinessPartnerCategory",
            "CATEGORY",
            f"BusinessPartnerCategory '{properties.get('BusinessPartnerCategory', '')}': the double "
            f"creates organizations only ({CATEGORY_ORGANIZATION})",
        )
    if not str(properties.get("OrganizationBPName1") or "").strip():
        raise _refuse(BUSINESS_PARTNER, "OrganizationBPName1", "NAME", "An organization needs OrganizationBPName1")
    number = str(tx.draw_number("partner", service.numbering.first_partner)).zfill(10)
    record = {**properties, "BusinessPartner": number, "Customer": ""}
    record.update(partner_names(record))
    row = _put(tx, BUSINESS_PARTNER, record, None)
    for nested in document.nested.get("to_BusinessPartnerAddress", []):
        create_entity(service, tx, nested, row)
    for nested in document.nested.get("to_BusinessPartnerRole", []):
        create_entity(service, tx, nested, tx.get(BUSINESS_PARTNER.name, row.key))
    created = tx.get(BUSINESS_PARTNER.name, row.key)
    assert created is not None
    return created


def _address(
    service: S4Service, tx: Transaction, document: Document, properties: dict[str, Any], parent: Row | None
) -> Row:
    assert parent is not None
    if properties.get("AddressID"):
        raise _refuse(BUSINESS_PARTNER_ADDRESS, "AddressID", "ADDRESS_ID", "AddressID is generated: leave it out")
    if not str(properties.get("Country") or "").strip():
        raise _refuse(BUSINESS_PARTNER_ADDRESS, "Country", "REQUIRED", "An address needs a Country")
    address_id = str(tx.draw_number("address", service.numbering.first_address))
    record = {**properties, "AddressID": address_id}
    row = _put(tx, BUSINESS_PARTNER_ADDRESS, record, parent)
    for navigation in ("to_PhoneNumber", "to_EmailAddress"):
        for nested in document.nested.get(navigation, []):
            create_entity(service, tx, nested, row)
    return row


def _communication(
    service: S4Service, tx: Transaction, document: Document, properties: dict[str, Any], parent: Row | None
) -> Row:
    assert parent is not None
    entity_set = document.entity_set
    if properties.get("Person"):
        raise _refuse(entity_set, "Person", "PERSON", "An organization's address has no person: leave Person out")
    if entity_set is ADDRESS_PHONE_NUMBER:
        if not str(properties.get("PhoneNumber") or "").strip():
            raise _refuse(entity_set, "PhoneNumber", "REQUIRED", "A phone number needs PhoneNumber")
        properties.setdefault("DestinationLocationCountry", parent.record.get("Country", ""))
    elif "@" not in str(properties.get("EmailAddress") or "").strip(" @"):
        raise _refuse(entity_set, "EmailAddress", "EMAIL", "EmailAddress is not an e-mail address")
    ordinal = str(len(tx.children(entity_set.name, parent.key)) + 1)
    record = {**properties, "AddressID": parent.record["AddressID"], "Person": "", "OrdinalNumber": ordinal}
    return _put(tx, entity_set, record, parent)


def _role(
    service: S4Service, tx: Transaction, document: Document, properties: dict[str, Any], parent: Row | None
) -> Row:
    assert parent is not None
    role = str(properties.get("BusinessPartnerRole") or "")
    if role not in KNOWN_ROLES:
        raise _refuse(
            BUSINESS_PARTNER_ROLE,
            "BusinessPartnerRole",
            "ROLE",
            f"BusinessPartnerRole '{role}' is not a role the double knows ({', '.join(sorted(KNOWN_ROLES))})",
        )
    if tx.get(BUSINESS_PARTNER_ROLE.name, (parent.key[0], role)) is not None:
        raise _refuse(
            BUSINESS_PARTNER_ROLE,
            "BusinessPartnerRole",
            "DUPLICATE",
            f"Business Partner {parent.key[0].lstrip('0')} already has role {role}",
        )
    record = {"ValidFrom": _today(), "ValidTo": "/Date(253402214400000)/", **properties}
    row = _put(tx, BUSINESS_PARTNER_ROLE, record, parent)
    if role in CUSTOMER_ROLES:
        partner = tx.get(BUSINESS_PARTNER.name, parent.key)
        if partner is not None and not partner.record.get("Customer"):
            _cvi_customer(service, tx, partner)
    return row


def _cvi_customer(service: S4Service, tx: Transaction, partner: Row) -> None:
    """CVI: the customer for a partner that got a customer role; its number into the partner's Customer."""
    if service.numbering.same_numbers:
        number = partner.key[0]
    else:
        number = str(tx.draw_number("customer", service.numbering.first_customer)).zfill(10)
    if tx.get(CUSTOMER.name, (number,)) is not None:
        raise _refuse(CUSTOMER, "Customer", "CUSTOMER_EXISTS", f"Customer {number.lstrip('0')} exists already")
    name = str(partner.record.get("BusinessPartnerFullName") or "")
    customer = {
        "Customer": number,
        "CustomerAccountGroup": CUSTOMER_ACCOUNT_GROUP,
        "CustomerName": name[:80],
        "CustomerFullName": name.upper()[:220],
        PARTNER_OF_CUSTOMER: partner.key[0],
    }
    _put(tx, CUSTOMER, customer, partner)
    _put(tx, BUSINESS_PARTNER, {**partner.record, "Customer": number}, None)


def _customer_part(
    service: S4Service, tx: Transaction, document: Document, properties: dict[str, Any], parent: Row | None
) -> Row:
    """A_CustomerSalesArea or A_CustomerCompany data under an existing customer."""
    assert parent is not None
    entity_set = document.entity_set
    missing = [name for name in entity_set.keys if not str(properties.get(name) or "").strip()]
    if missing:
        raise _refuse(entity_set, missing[0], "REQUIRED", f"{missing[0]} is required to create {entity_set.name}")
    if entity_set is CUSTOMER_SALES_AREA:
        area = (properties["SalesOrganization"], properties["DistributionChannel"], properties["Division"])
        known, role, what = area in service.customizing.sales_areas, ROLE_CUSTOMER, "Sales area " + "/".join(area)
    else:
        known, role = properties["CompanyCode"] in service.customizing.company_codes, ROLE_FI_CUSTOMER
        what = f"Company code {properties['CompanyCode']}"
    if not known:
        raise _refuse(
            entity_set, entity_set.keys[1], "NOT_DEFINED", f"{what} is not defined in the double's customising"
        )
    partner = str(parent.record.get(PARTNER_OF_CUSTOMER) or "")
    if tx.get(BUSINESS_PARTNER_ROLE.name, (partner, role)) is None:
        raise _refuse(
            entity_set,
            "",
            "ROLE_MISSING",
            f"{what}: Business Partner {partner.lstrip('0')} has no role {role} for this data",
        )
    key = tuple(properties[name] for name in entity_set.keys)
    if tx.get(entity_set.name, key) is not None:
        raise _refuse(entity_set, "", "DUPLICATE", f"{what} data exists already for customer {key[0].lstrip('0')}")
    return _put(tx, entity_set, properties, parent)
