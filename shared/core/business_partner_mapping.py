"""The one create command (CustomerCreation) -> the Business Partner documents of API_BUSINESS_PARTNER.

Pure functions, no I/O. The use cases map every request once (shared/core/mapping.py, the request in SAP's
customer-master vocabulary: PI_COMPANYDATA, PI_COPYREFERENCE) whatever the back end, so the same command
crosses the wire to the on-premise agent unchanged (shared/sap/wire.py) and the ledger, queue and retry
need not know which SAP stands behind the port. This module reads that command as S/4HANA's Business
Partner service takes it:

* the name lines stay the lines the one mapping split at word boundaries: the Business Partner gateway
  reports the service's MaxLength (OrganizationBPName1..4, 40) as the live lengths, and the one mapping
  takes the smaller of those and KNA1's 35 (mapping.py, `effective_lengths`). 35 is deliberate here too:
  customer/vendor integration copies the organization's name into the customer master's KNA1-NAME1..4,
  which keep 35 characters (NAME1_GP) on ECC; that S/4HANA keeps them at 35 is unverified, and a 40
  character line would then be cut by CVI without a word, so the narrower width is the safe one;
* the street line (STREET) is split into StreetName and HouseNumber by `split_house_number`;
* the region, country, postal code, city, phone and language keys are the one mapping's (SAP's keys);
  the language travels as its ISO code (LANGU_ISO), as OData represents a language (MaxLength 2);
* the sales area and the reference customer come from PI_COPYREFERENCE; the company code from the same
  organizational settings (SAP_SALES_AREAS' companyCode), since A_CustomerCompany needs it explicitly
  where the BAPI derived it from the sales organization;
* BusinessPartnerIDByExtSystem is the 18-character Salesforce Id upper-cased: the checksum suffix makes
  it unique without regard to case, and the property is `sap:display-format="UpperCase"`.

A value longer than the service's MaxLength is never sent: `too_long` names it, and the gateway refuses
the command as the rfc adapter does (it was mapped before the live lengths were known; the retry maps it
again with them, shortening with a MappingWarning). Entity set and property names are the
service's, as the published facts give them (shared/core/business_partner_facts.py); the gateway holds
each against the live `$metadata` before use (shared/sap/business_partner_metadata.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.core import business_partner_facts as facts
from shared.core.models import CustomerCreation
from shared.core.organization import SalesArea, SapOrganization
from shared.core.sap_lengths import longest_prefix_within, utf16_units

# The entity sets the create writes, the category and the roles: the published facts (shared/core/
# business_partner_facts.py, each with its source there).
BUSINESS_PARTNER = facts.BUSINESS_PARTNER.name
ADDRESS = facts.BUSINESS_PARTNER_ADDRESS.name
PHONE = facts.ADDRESS_PHONE_NUMBER.name
ROLE = facts.BUSINESS_PARTNER_ROLE.name
SALES_AREA = facts.CUSTOMER_SALES_AREA.name
COMPANY = facts.CUSTOMER_COMPANY.name
ORGANIZATION_CATEGORY = facts.CATEGORY_ORGANIZATION
# FLCU00: the customer's company code view; FLCU01: its sales view. Both make CVI create the customer.
CUSTOMER_ROLES = (facts.ROLE_FI_CUSTOMER, facts.ROLE_CUSTOMER)
NAME_PROPERTIES = ("OrganizationBPName1", "OrganizationBPName2", "OrganizationBPName3", "OrganizationBPName4")
_NAME_FIELDS = ("NAME", "NAME_2", "NAME_3", "NAME_4")

# PI_COMPANYDATA field -> (entity set, property) that carries it in the Business Partner service. The
# gateway reports each property's MaxLength under the BAPI field's name, so the one mapping shortens to it.
COMPANY_DATA_PROPERTIES: dict[str, tuple[str, str]] = {
    **{name: (BUSINESS_PARTNER, prop) for name, prop in zip(_NAME_FIELDS, NAME_PROPERTIES, strict=True)},
    "STREET": (ADDRESS, "StreetName"),
    "CITY": (ADDRESS, "CityName"),
    "POSTL_COD1": (ADDRESS, "PostalCode"),
    "COUNTRY": (ADDRESS, "Country"),
    "REGION": (ADDRESS, "Region"),
    "LANGU_ISO": (BUSINESS_PARTNER, "CorrespondenceLanguage"),
    "TEL1_NUMBR": (PHONE, "PhoneNumber"),
    "TEL1_EXT": (PHONE, "PhoneNumberExtension"),
    "CURRENCY_ISO": (SALES_AREA, "Currency"),
}

# Entity set -> property -> MaxLength (the live $metadata's, read by the gateway).
Lengths = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class BusinessPartnerDraft:
    """What the gateway sends for one create: the deep insert of A_BusinessPartner (address with phone,
    the two customer roles), then A_CustomerSalesArea and A_CustomerCompany under the customer number CVI
    gives (`sales_area` and `company` without the Customer key), completed from `reference_customer`."""

    external_id: str
    business_partner: dict[str, Any]
    sales_area: SalesArea
    sales_area_data: dict[str, str]
    company_code: str | None
    reference_customer: str
    # "entity set.property" of every value longer than the live MaxLength (nothing is sent then).
    too_long: tuple[str, ...] = field(default=())


def external_id(account_id: str) -> str:
    """BusinessPartnerIDByExtSystem for an account: its 18-character Id upper-cased (case-insensitively
    unique thanks to the checksum suffix: shared/core/salesforce_id.py)."""
    return account_id.strip().upper()


def company_data_lengths(lengths: Lengths) -> dict[str, int]:
    """The live MaxLengths under the PI_COMPANYDATA names the one mapping shortens to."""
    return {
        name: lengths[entity][prop]
        for name, (entity, prop) in COMPANY_DATA_PROPERTIES.items()
        if prop in lengths.get(entity, {})
    }


def business_partner_draft(
    creation: CustomerCreation, organization: SapOrganization, grouping: str, lengths: Lengths
) -> BusinessPartnerDraft:
    """The Business Partner documents for one create command (see the module docstring)."""
    company = creation.parameters.get("PI_COMPANYDATA", {})
    copy = creation.parameters.get("PI_COPYREFERENCE", {})
    too_long: list[str] = []

    def fitted(entity: str, prop: str, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        limit = lengths.get(entity, {}).get(prop)
        if limit is not None and utf16_units(value) > limit:
            too_long.append(f"{entity}.{prop}")
        return value

    def put(document: dict[str, Any], entity: str, prop: str, value: str | None) -> None:
        if (checked := fitted(entity, prop, value)) is not None:
            document[prop] = checked

    language = company.get("LANGU_ISO")
    country = company.get("COUNTRY")
    partner: dict[str, Any] = {"BusinessPartnerCategory": ORGANIZATION_CATEGORY}
    put(partner, BUSINESS_PARTNER, "BusinessPartnerGrouping", grouping)
    for name_field, prop in zip(_NAME_FIELDS, NAME_PROPERTIES, strict=True):
        put(partner, BUSINESS_PARTNER, prop, company.get(name_field))
    search_width = lengths.get(BUSINESS_PARTNER, {}).get("SearchTerm1", SEARCH_TERM_WIDTH)
    put(partner, BUSINESS_PARTNER, "SearchTerm1", search_term(company.get("NAME", ""), search_width))
    put(partner, BUSINESS_PARTNER, "CorrespondenceLanguage", language)
    put(partner, BUSINESS_PARTNER, "BusinessPartnerIDByExtSystem", external_id(creation.account_id))

    address: dict[str, Any] = {}
    house_width = lengths.get(ADDRESS, {}).get("HouseNumber", HOUSE_NUMBER_WIDTH)
    street, house_number = split_house_number(company.get("STREET", ""), house_width)
    put(address, ADDRESS, "StreetName", street)
    put(address, ADDRESS, "HouseNumber", house_number)
    put(address, ADDRESS, "PostalCode", company.get("POSTL_COD1"))
    put(address, ADDRESS, "CityName", company.get("CITY"))
    put(address, ADDRESS, "Country", country)
    put(address, ADDRESS, "Region", company.get("REGION"))
    put(address, ADDRESS, "Language", language)
    phone: dict[str, Any] = {}
    put(phone, PHONE, "PhoneNumber", company.get("TEL1_NUMBR"))
    if phone:
        put(phone, PHONE, "PhoneNumberExtension", company.get("TEL1_EXT"))
        put(phone, PHONE, "DestinationLocationCountry", country)
        phone["IsDefaultPhoneNumber"] = True
        address["to_PhoneNumber"] = {"results": [phone]}
    # Nested collections as OData V2 JSON writes a to-many navigation ({"results": [...]}), the form of SAP API
    # Business Hub's sample payloads for this service; the double takes it (s4_simulator/documents.py). Whether
    # every release also takes a bare array is unverified, so this one form is sent.
    partner["to_BusinessPartnerAddress"] = {"results": [address]}
    partner["to_BusinessPartnerRole"] = {"results": [{"BusinessPartnerRole": role} for role in CUSTOMER_ROLES]}

    area = SalesArea(*(str(copy.get(key, "")).strip().upper() for key in ("SALESORG", "DISTR_CHAN", "DIVISION")))
    sales_area_data: dict[str, str] = {}
    put(sales_area_data, SALES_AREA, "Currency", company.get("CURRENCY_ISO"))
    setup = organization.sales_areas.get(area)
    company_code = (setup.company_code or "").strip().upper() or None if setup else None
    return BusinessPartnerDraft(
        external_id=external_id(creation.account_id),
        business_partner=partner,
        sales_area=area,
        sales_area_data=sales_area_data,
        company_code=company_code,
        reference_customer=str(copy.get("REF_CUSTMR", "")).strip(),
        too_long=tuple(too_long),
    )


# --------------------------------------------------------------------------- the street's house number

# The published MaxLengths, used when the live metadata's are not given (tests; the gateway always gives them).
HOUSE_NUMBER_WIDTH = facts.BUSINESS_PARTNER_ADDRESS.property("HouseNumber").max_length or 10
SEARCH_TERM_WIDTH = facts.BUSINESS_PARTNER.property("SearchTerm1").max_length or 20
# A house number: digits with an optional letter ("12a"), optionally a range or a second part ("12-14",
# "3/1"). Trailing as in most of Europe ("Hauptstr. 5"), leading as in North America, the UK or France
# ("1600 Amphitheatre Pkwy.", "12, rue de la Paix").
_NUMBER = r"\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?"
_TRAILING = re.compile(rf"^(?P<street>.*[^\d\s,])\s+(?P<number>{_NUMBER})$")
_LEADING = re.compile(rf"^(?P<number>{_NUMBER}),?\s+(?P<street>[^\d\s].*)$")


def split_house_number(street: str, width: int = HOUSE_NUMBER_WIDTH) -> tuple[str, str]:
    """The street line as (StreetName, HouseNumber); (line, "") when no house number can be told apart.

    Rule: a first word that is a house number (`_NUMBER`, optionally followed by a comma) is the house
    number; else a last word that is one, when the line has one part only (the one mapping joins a
    multi-line street with ", ", and which part then holds the number is a guess). A number longer than
    `width` stays in the street. Anything else stays whole in StreetName: nothing is lost, SAP shows the
    number inside the street. Known limit: a street named by a number ("Route 66") gives 66 as the house
    number; the address still reads the same."""
    line = " ".join(street.split())
    matches = (_LEADING.match(line), None if ", " in line else _TRAILING.match(line))
    for match in matches:
        if match and utf16_units(match.group("number")) <= width:
            return match.group("street").strip(), match.group("number")
    return line, ""


def search_term(name: str, width: int = SEARCH_TERM_WIDTH) -> str:
    """SearchTerm1 from the name's first line: upper case (the property's display format), cut after the
    last whole word that fits `width` (a first word longer than that is cut)."""
    text = " ".join(name.split()).upper()
    if utf16_units(text) <= width:
        return text
    fitting = longest_prefix_within(text, width)
    ends_on_a_word = text[len(fitting) : len(fitting) + 1] == " " or " " not in fitting
    cut = fitting if ends_on_a_word else fitting.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;-/&")
