"""The change path on S/4HANA (issue 26): a CustomerChange (PI_COMPANYDATA's names, as the RFC path) as PATCHes of
API_BUSINESS_PARTNER, and what the Business Partner holds read back into the same names.

What is sent where (the create's own mapping, shared/core/business_partner_mapping.py, read the other way):
* A_BusinessPartner: NAME..NAME_4 -> OrganizationBPName1..4, LANGU_ISO -> CorrespondenceLanguage (LANGU, the
  one-letter key, travels with it and is not sent again; LANGU alone is refused: OData takes the ISO code);
* A_BusinessPartnerAddress (keyed by BusinessPartner + AddressID, so the address is read first): STREET ->
  StreetName and HouseNumber split as the create splits it (both are sent: a street line without a number
  clears the old number), HOUSE_NO -> HouseNumber (then STREET goes whole into StreetName), CITY -> CityName,
  POSTL_COD1 -> PostalCode, COUNTRY -> Country (COUNTRYISO travels with it), REGION -> Region;
* A_AddressPhoneNumber: TEL1_NUMBR, TEL1_EXT -> PhoneNumber, PhoneNumberExtension of the address's default
  phone (a POST under the address when it has none); A_AddressEmailAddress: E_MAIL -> EmailAddress likewise.
Any other field is refused (SapPermanentError naming it) before anything is sent: nothing is dropped silently.

Every PATCH carries `If-Match` with the ETag of a read made just before it (the ETag header of the GET by key,
else the entity's __metadata.etag; `*` only when the service answers neither, as SAP KBA 2962502 resolves a
428). SAP answers 428 without If-Match (SAP KBA 3514624) and 412 when the entity changed since the read
(shared/core/business_partner_facts.py): the gateway reads again and sends once more, then gives up as transient.
The PATCHes are not one transaction (no $batch here): a change cut half way is sent again whole, which is
harmless (the same values). The customer's partner is found by `$filter=Customer eq '<number>'` (the property
is filterable in both published copies; the number as OData shows it, without the zeros: its ALPHA conversion).

Read back: the same names; STREET is StreetName and HouseNumber joined as the create's split reads them
(`street_line`): the one form of a street line whose split gives them back, number last first. A street line
written number first ("1600 Amphitheatre Pkwy.") therefore reads back number last when both forms split alike
(known limit: the change path's conflict check may see it as changed in SAP). HOUSE_NO is not read back: the
create sends the number inside STREET (as the RFC path's customers hold it), so STREET carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.core.business_partner_mapping import (
    ADDRESS,
    BUSINESS_PARTNER,
    NAME_PROPERTIES,
    PHONE,
    Lengths,
    split_house_number,
)
from shared.core.change_models import SapCustomerSnapshot
from shared.core.guard import customer_key
from shared.core.reference import sap_language_key
from shared.core.sap_lengths import utf16_units
from shared.sap.business_partner_customer import Unit, entity_path
from shared.sap.business_partner_metadata import EMAIL
from shared.sap.errors import SapBusinessRejection, SapError, SapPermanentError, SapTransientError
from shared.sap.port import SapMessage

_NAME_FIELDS = ("NAME", "NAME_2", "NAME_3", "NAME_4")
# PI_COMPANYDATA fields that travel with another one and are not sent on their own.
_CARRIED = {"LANGU": "LANGU_ISO", "COUNTRYISO": "COUNTRY"}
_ADDRESS_PROPERTIES = {"CITY": "CityName", "POSTL_COD1": "PostalCode", "COUNTRY": "Country", "REGION": "Region"}
CHANGEABLE = frozenset(
    {
        *_NAME_FIELDS,
        "LANGU_ISO",
        "STREET",
        "HOUSE_NO",
        *_ADDRESS_PROPERTIES,
        "TEL1_NUMBR",
        "TEL1_EXT",
        "E_MAIL",
        *_CARRIED,
    }
)


@dataclass(frozen=True)
class BusinessPartnerPatches:
    """The PATCH bodies of one change, by entity set; `too_long` ("set.property") and `refused` (PI_COMPANYDATA
    fields the service has no place for here) stop the change before anything is sent."""

    partner: dict[str, str] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    phone: dict[str, str] = field(default_factory=dict)
    email: dict[str, str] = field(default_factory=dict)
    too_long: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()


def business_partner_patches(company_data: Mapping[str, str], lengths: Lengths) -> BusinessPartnerPatches:
    """The PATCH bodies naming exactly the properties the change's fields map to (the module's docstring)."""
    data = {name: (value or "").strip() for name, value in company_data.items()}
    refused = [name for name in data if name not in CHANGEABLE]
    refused += [name for name, carrier in _CARRIED.items() if name in data and carrier not in data]
    partner = {prop: data[name] for name, prop in zip(_NAME_FIELDS, NAME_PROPERTIES, strict=True) if name in data}
    if "LANGU_ISO" in data:
        partner["CorrespondenceLanguage"] = data["LANGU_ISO"]
    address = {prop: data[name] for name, prop in _ADDRESS_PROPERTIES.items() if name in data}
    if "HOUSE_NO" in data:
        address["HouseNumber"] = data["HOUSE_NO"]
        if "STREET" in data:
            address["StreetName"] = data["STREET"]
    elif "STREET" in data:
        width = lengths.get(ADDRESS, {}).get("HouseNumber", 10)
        address["StreetName"], address["HouseNumber"] = split_house_number(data["STREET"], width)
    phone = {
        prop: data[name]
        for name, prop in (("TEL1_NUMBR", "PhoneNumber"), ("TEL1_EXT", "PhoneNumberExtension"))
        if name in data
    }
    email = {"EmailAddress": data["E_MAIL"]} if "E_MAIL" in data else {}
    too_long = [
        f"{entity}.{prop}"
        for entity, body in ((BUSINESS_PARTNER, partner), (ADDRESS, address), (PHONE, phone), (EMAIL, email))
        for prop, value in body.items()
        if (limit := lengths.get(entity, {}).get(prop)) is not None and utf16_units(value) > limit
    ]
    return BusinessPartnerPatches(partner, address, phone, email, tuple(too_long), tuple(sorted(set(refused))))


def street_line(street: str, house_number: str) -> str:
    """The one-line street the create split into (StreetName, HouseNumber): the first of "street number",
    "number street", "number, street" that splits back into them; the street alone without a number."""
    street, house_number = street.strip(), house_number.strip()
    if not house_number:
        return street
    forms = (f"{street} {house_number}", f"{house_number} {street}", f"{house_number}, {street}")
    return next((form for form in forms if split_house_number(form) == (street, house_number)), forms[0])


# --------------------------------------------------------------------------- inside one unit of work


def partner_of_customer(unit: Unit, customer_number: str) -> str:
    """The Business Partner whose customer is `customer_number`; a rejection when there is none (the GET
    fetches the CSRF token for the PATCHes too)."""
    shown = customer_number.strip().lstrip("0") if customer_number.strip().isdigit() else customer_number.strip()
    answer = unit.session.get(
        BUSINESS_PARTNER,
        deadline=unit.deadline,
        fetch_token=True,
        params={
            "$filter": f"Customer eq '{shown.replace(chr(39), chr(39) * 2)}'",
            "$select": "BusinessPartner,Customer",
            "$top": "2",
        },
    )
    assert answer is not None
    partners = [str(row.get("BusinessPartner") or "").strip() for row in answer.entities]
    if not partners:
        raise SapBusinessRejection(
            (
                SapMessage(
                    "E",
                    "",
                    "",
                    f"No Business Partner has customer {customer_key(shown)} in this SAP system: nothing was changed",
                ),
            )
        )
    if len(partners) > 1:
        raise SapPermanentError(f"more than one Business Partner has customer {customer_key(shown)}")
    return partners[0]


def first_row(unit: Unit, path: str, *, default_flag: str | None = None) -> dict[str, Any] | None:
    """The first entity of a collection (the one flagged `default_flag` when there is one), None when empty."""
    answer = unit.session.get(path, deadline=unit.deadline)
    assert answer is not None
    rows = answer.entities
    flagged = [row for row in rows if default_flag and row.get(default_flag) is True]
    return (flagged or rows or [None])[0]


def patched(unit: Unit, path: str, body: Mapping[str, str]) -> None:
    """PATCH `path` with If-Match from a fresh read; on 412/428 read again and send once more."""
    for attempt in (1, 2):
        answer = unit.session.get(path, deadline=unit.deadline, missing_ok=True)
        if answer is None:
            raise SapBusinessRejection((SapMessage("E", "", "", f"{path.split('(')[0]} is gone: nothing was changed"),))
        metadata = answer.entity.get("__metadata")
        etag = answer.headers.get("ETag") or (metadata.get("etag") if isinstance(metadata, dict) else None) or "*"
        unit.create_sent = True  # from here a cut line leaves the change's outcome unknown
        try:
            unit.session.patch(path, body, str(etag), deadline=unit.deadline)
            # SAP holds part of the change now: whatever fails after this leaves it partly applied, so every
            # later error says the outcome is unknown (the change is sent again whole; the same values).
            unit.partner_exists = True
            return
        except SapTransientError as error:
            if attempt == 2 or not getattr(error, "precondition_failed", False):
                raise


def apply_patches(unit: Unit, partner: str, patches: BusinessPartnerPatches, country: str) -> None:
    """Send `patches` for `partner` (the module's docstring); `country` for a phone created under the address."""
    if patches.partner:
        patched(unit, entity_path(BUSINESS_PARTNER, {"BusinessPartner": partner}), patches.partner)
    if not (patches.address or patches.phone or patches.email):
        return
    address = first_row(
        unit, f"{entity_path(BUSINESS_PARTNER, {'BusinessPartner': partner})}/to_BusinessPartnerAddress"
    )
    if address is None:
        raise SapBusinessRejection(
            (SapMessage("E", "", "", f"Business Partner {partner} has no address: nothing was changed"),)
        )
    address_id = str(address.get("AddressID") or "")
    address_path = entity_path(ADDRESS, {"BusinessPartner": partner, "AddressID": address_id})
    if patches.address:
        patched(unit, address_path, patches.address)
    country = patches.address.get("Country") or str(address.get("Country") or "") or country
    for body, navigation, entity_set, flag, extra in (
        (patches.phone, "to_PhoneNumber", PHONE, "IsDefaultPhoneNumber", {"DestinationLocationCountry": country}),
        (patches.email, "to_EmailAddress", EMAIL, "IsDefaultEmailAddress", {}),
    ):
        if not body:
            continue
        row = first_row(unit, f"{address_path}/{navigation}", default_flag=flag)
        if row is not None:
            keys = {name: str(row.get(name) or "") for name in ("AddressID", "Person", "OrdinalNumber")}
            patched(unit, entity_path(entity_set, keys), body)
        elif any(body.values()):
            unit.create_sent = True
            unit.session.post(f"{address_path}/{navigation}", {**body, **extra, flag: True}, deadline=unit.deadline)


def read_snapshot(unit: Unit, customer_number: str) -> SapCustomerSnapshot:
    """What the customer's Business Partner holds, in PI_COMPANYDATA's names."""
    partner = partner_of_customer(unit, customer_number)
    partner_path = entity_path(BUSINESS_PARTNER, {"BusinessPartner": partner})
    answer = unit.session.get(partner_path, deadline=unit.deadline)
    assert answer is not None
    entity = answer.entity
    values = {name: str(entity.get(prop) or "") for name, prop in zip(_NAME_FIELDS, NAME_PROPERTIES, strict=True)}
    values["LANGU_ISO"] = str(entity.get("CorrespondenceLanguage") or "")
    try:  # the one-letter key too, as GETDETAIL1 answers both
        values["LANGU"] = sap_language_key(values["LANGU_ISO"]) if values["LANGU_ISO"] else ""
    except KeyError:
        values["LANGU"] = ""
    address = first_row(unit, f"{partner_path}/to_BusinessPartnerAddress") or {}
    values.update({name: str(address.get(prop) or "") for name, prop in _ADDRESS_PROPERTIES.items()})
    values["STREET"] = street_line(str(address.get("StreetName") or ""), str(address.get("HouseNumber") or ""))
    if address:
        address_path = entity_path(ADDRESS, {"BusinessPartner": partner, "AddressID": str(address.get("AddressID"))})
        phone = first_row(unit, f"{address_path}/to_PhoneNumber", default_flag="IsDefaultPhoneNumber") or {}
        email = first_row(unit, f"{address_path}/to_EmailAddress", default_flag="IsDefaultEmailAddress") or {}
        values["TEL1_NUMBR"] = str(phone.get("PhoneNumber") or "")
        values["TEL1_EXT"] = str(phone.get("PhoneNumberExtension") or "")
        values["E_MAIL"] = str(email.get("EmailAddress") or "")
    return SapCustomerSnapshot(customer_key(customer_number), {name: value.strip() for name, value in values.items()})


def refusal(patches: BusinessPartnerPatches) -> SapError | None:
    """What stops a change before anything is sent: fields with no place in the service (our bug), or values
    longer than it holds (mapped before the live lengths were known: mapped again on retry, as for the create)."""
    if patches.refused:
        return SapPermanentError(f"the Business Partner gateway cannot change {', '.join(patches.refused)}")
    if patches.too_long:
        return SapTransientError(
            f"{', '.join(patches.too_long)} longer than this SAP system holds; the change is mapped again on retry"
        )
    return None
