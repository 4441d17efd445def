"""Published facts of SAP's OData V2 service API_BUSINESS_PARTNER, as far as the product uses them.

S/4HANA keeps a customer as a Business Partner (CVI). The Business Partner gateway (shared/sap/) and
the local S/4 double (s4_simulator/) both read this module, so what the gateway sends and what the
double accepts are one set of facts. Pure data, no I/O.

Sources, read as evidence and never copied into this repository (their REUSE notices exclude API
specifications from the open-source licence; names, keys, lengths and flags are facts):

  [R] SAP-samples/cloud-cap-risk-management, templates/ext-service-add-consumption/srv/external/
      API_BUSINESS_PARTNER.edmx (commit c32ad0554712, 2024-02): an older release of the metadata.
  [I] cap-js/incidents-app, xmpls/remote-service/srv/external/API_BUSINESS_PARTNER.edmx
      (commit ecc1edd0b144, 2025-10): a newer release (more properties, explicit Insertable flags).
  [V] npm @sap/cloud-sdk-vdm-business-partner-service 2.1.0, SAP's generated client for the service:
      business-partner-service-csn.json (keys, lengths, associations), <Entity>Api.js (Edm types),
      <Entity>.d.ts ("Maximum length: N"), <Entity>.js (_entityName, _defaultServicePath).

Every property below has the same name, Edm type, MaxLength and key membership in [R], [I] and [V]
unless its comment says otherwise ([R] also marks Booleans sap:display-format="UpperCase", which
means nothing for a Boolean and is left out). The referee test (tests/contract/test_business_partner_facts.py,
package installed by devtools/s4_referee.py) holds entity set names, keys, property names, Edm types,
MaxLength, navigation names and targets and the service path against [V] on every test run.

What the referee cannot check, and where it comes from instead:
* sap:creatable, sap:updatable and sap:filterable (properties), sap:creatable/updatable/deletable
  (entity sets), sap:display-format="UpperCase" and Nullable: [V] does not carry them; read from [R]
  and [I]. Every such flag below was compared with both copies by parsing them (2026-12-07): no
  difference from [I]; from [R] only the release differences marked in the comments.
* deep insert through a navigation (Capabilities.NavigationRestrictions/InsertRestrictions): only
  [I] states Insertable true/false; [R] describes an insert for the same navigations except
  to_Customer, which it leaves unstated. Release differences are marked where they matter.
* the value codes (category 2, roles FLCU00/FLCU01): SAP documentation, see their comments.
* ETags: neither copy declares a ConcurrencyMode; which entity sets answer an ETag at run time is not
  in the metadata (A_BusinessPartner has an ETag property, 26). Callers fail closed: always If-Match.
Unverified for any customer's system: number ranges, groupings, roles and field control customising.
"""

from __future__ import annotations

from dataclasses import dataclass

# [V] BusinessPartner.js _defaultServicePath; the same path in cap-js/incidents-app
# xmpls/remote-service/package.json (cds.requires.API_BUSINESS_PARTNER.credentials.path).
SERVICE_PATH = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
# [R], [I]: <Schema Namespace="API_BUSINESS_PARTNER">, <EntityContainer Name="API_BUSINESS_PARTNER_Entities">.
SCHEMA_NAMESPACE = "API_BUSINESS_PARTNER"
ENTITY_CONTAINER = "API_BUSINESS_PARTNER_Entities"

# BusinessPartnerCategory (domain BU_TYPE): 1 person, 2 organization, 3 group. The EDMX documents the
# three categories in words only ([R] LongDescription of BusinessPartnerCategory); the codes are SAP's
# domain values as the issue states them. Unverified by the referee.
CATEGORY_ORGANIZATION = "2"
# BP roles of customer/vendor integration: FLCU00 "FI Customer" (company code data), FLCU01 "Customer"
# (sales area data). Source: SAP Community blog "Business Partner with Company Code and Sales/
# Purchasing view" (blogs.sap.com, 2021-10-06); SAP Learning "Using Business Partner for Transportation
# Management". A customer's system may use its own roles: to be confirmed there.
ROLE_FI_CUSTOMER = "FLCU00"
ROLE_CUSTOMER = "FLCU01"


@dataclass(frozen=True)
class PropertyFact:
    """One property of an entity type as the metadata declares it."""

    name: str
    edm_type: str = "Edm.String"
    max_length: int | None = None
    # sap:creatable / sap:updatable / sap:filterable; a property without the attribute is true.
    creatable: bool = True
    updatable: bool = True
    filterable: bool = True
    # Nullable="false" (only the keys here)
    nullable: bool = True
    # sap:display-format="UpperCase": the back end stores the value upper-cased.
    upper_case: bool = False


@dataclass(frozen=True)
class NavigationFact:
    """A navigation property: its target entity set, whether it leads to many, whether deep insert works."""

    name: str
    target: str
    to_many: bool
    deep_insert: bool


@dataclass(frozen=True)
class EntitySetFact:
    """An entity set, its entity type (set name + "Type" in both copies), keys, properties and navigations."""

    name: str
    keys: tuple[str, ...]
    properties: tuple[PropertyFact, ...]
    navigations: tuple[NavigationFact, ...] = ()
    # sap:creatable / sap:updatable / sap:deletable on the EntitySet.
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True

    @property
    def entity_type(self) -> str:
        return f"{self.name}Type"

    def property(self, name: str) -> PropertyFact:
        for candidate in self.properties:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no property {name} in business_partner_facts")

    def has_property(self, name: str) -> bool:
        return any(candidate.name == name for candidate in self.properties)

    def navigation(self, name: str) -> NavigationFact:
        for candidate in self.navigations:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no navigation {name} in business_partner_facts")


def _key(name: str, length: int) -> PropertyFact:
    # Every key here is Edm.String, Nullable="false", sap:display-format="UpperCase" or "NonNegative".
    return PropertyFact(name, max_length=length, nullable=False, upper_case=True)


def _text(name: str, length: int, *, upper: bool = False) -> PropertyFact:
    return PropertyFact(name, max_length=length, upper_case=upper)


def _read_only(
    name: str, length: int | None = None, edm_type: str = "Edm.String", *, upper: bool = False
) -> PropertyFact:
    # sap:creatable="false" sap:updatable="false": filled by the back end.
    return PropertyFact(name, edm_type, length, creatable=False, updatable=False, upper_case=upper)


def _flag(name: str) -> PropertyFact:
    return PropertyFact(name, "Edm.Boolean")


BUSINESS_PARTNER = EntitySetFact(
    "A_BusinessPartner",
    keys=("BusinessPartner",),
    properties=(
        # Not read-only: with external numbering a caller may give it; the product leaves it out.
        _key("BusinessPartner", 10),
        # Filled by CVI when the customer is created; may or may not equal BusinessPartner.
        _read_only("Customer", 10, upper=True),
        _text("BusinessPartnerCategory", 1, upper=True),
        _text("BusinessPartnerGrouping", 4, upper=True),
        _read_only("BusinessPartnerFullName", 81),
        _read_only("BusinessPartnerName", 81),
        _text("CorrespondenceLanguage", 2),
        _text("Language", 2),
        _text("OrganizationBPName1", 40),
        _text("OrganizationBPName2", 40),
        _text("OrganizationBPName3", 40),
        _text("OrganizationBPName4", 40),
        _text("SearchTerm1", 20, upper=True),
        _text("SearchTerm2", 20, upper=True),
        # The account's 18-character Salesforce Id, upper-cased; filterable (not sap:filterable="false").
        _text("BusinessPartnerIDByExtSystem", 20, upper=True),
        _flag("BusinessPartnerIsBlocked"),
        _read_only("ETag", 26),
    ),
    navigations=(
        # [I] Insertable true; [R] InsertRestrictions described ("Adds a new address data ...").
        NavigationFact("to_BusinessPartnerAddress", "A_BusinessPartnerAddress", to_many=True, deep_insert=True),
        # [I] Insertable true; [R] InsertRestrictions described.
        NavigationFact("to_BusinessPartnerRole", "A_BusinessPartnerRole", to_many=True, deep_insert=True),
        # [I] Insertable false; [R] states no insert restriction for it (release difference: older
        # releases are said to accept it; fail closed and create the customer's data under A_Customer).
        NavigationFact("to_Customer", "A_Customer", to_many=False, deep_insert=False),
    ),
    # [R], [I]: sap:deletable="false" on the set; its InsertRestrictions: "Creates a business partner
    # including Customer, Supplier, Address, Role, Tax, Bank, Identification, Contact, and Industry data."
    deletable=False,
)

BUSINESS_PARTNER_ADDRESS = EntitySetFact(
    "A_BusinessPartnerAddress",
    keys=("BusinessPartner", "AddressID"),
    properties=(
        _key("BusinessPartner", 10),
        # "Address ID is automatically generated" ([R], [I] InsertRestrictions LongDescription).
        _key("AddressID", 10),
        _text("StreetName", 60),
        _text("HouseNumber", 10),
        _text("PostalCode", 10, upper=True),
        _text("CityName", 40),
        _text("Country", 3, upper=True),
        _text("Region", 3, upper=True),
        _text("Language", 2),
    ),
    navigations=(
        # [I] Insertable true on both; [R] InsertRestrictions described on both.
        NavigationFact("to_PhoneNumber", "A_AddressPhoneNumber", to_many=True, deep_insert=True),
        NavigationFact("to_EmailAddress", "A_AddressEmailAddress", to_many=True, deep_insert=True),
    ),
)

BUSINESS_PARTNER_ROLE = EntitySetFact(
    "A_BusinessPartnerRole",
    keys=("BusinessPartner", "BusinessPartnerRole"),
    properties=(
        _key("BusinessPartner", 10),
        _key("BusinessPartnerRole", 6),
        PropertyFact("ValidFrom", "Edm.DateTimeOffset"),
        PropertyFact("ValidTo", "Edm.DateTimeOffset"),
    ),
    deletable=False,
)

ADDRESS_PHONE_NUMBER = EntitySetFact(
    "A_AddressPhoneNumber",
    keys=("AddressID", "Person", "OrdinalNumber"),
    properties=(
        _key("AddressID", 10),
        _key("Person", 10),
        # sap:display-format="NonNegative" (digits), not UpperCase.
        PropertyFact("OrdinalNumber", max_length=3, nullable=False),
        _text("DestinationLocationCountry", 3, upper=True),
        _flag("IsDefaultPhoneNumber"),
        _text("PhoneNumber", 30, upper=True),
        _text("PhoneNumberExtension", 10, upper=True),
        # [I] read-only; [R] does not mark it (release difference): never sent.
        _read_only("InternationalPhoneNumber", 30, upper=True),
        # "1" landline, "2"/"3" mobile (SAP domain AD_FLGMOB); the product sends none. Unverified.
        _text("PhoneNumberType", 1, upper=True),
    ),
)

ADDRESS_EMAIL_ADDRESS = EntitySetFact(
    "A_AddressEmailAddress",
    keys=("AddressID", "Person", "OrdinalNumber"),
    properties=(
        _key("AddressID", 10),
        _key("Person", 10),
        PropertyFact("OrdinalNumber", max_length=3, nullable=False),
        _flag("IsDefaultEmailAddress"),
        _text("EmailAddress", 241),
        # [I] read-only ("cannot be maintained by the user or from an interface" in both); [R] not marked.
        _read_only("SearchEmailAddress", 20, upper=True),
    ),
)

CUSTOMER_SALES_AREA = EntitySetFact(
    "A_CustomerSalesArea",
    keys=("Customer", "SalesOrganization", "DistributionChannel", "Division"),
    properties=(
        _key("Customer", 10),
        _key("SalesOrganization", 4),
        _key("DistributionChannel", 2),
        _key("Division", 2),
        # sap:semantics="currency-code"; [I] also UpperCase, [R] not.
        _text("Currency", 5, upper=True),
        _text("CustomerPaymentTerms", 4, upper=True),
        _text("ShippingCondition", 2, upper=True),
        _text("CustomerPricingProcedure", 2, upper=True),
        _text("CustomerGroup", 2, upper=True),
        _text("CustomerAccountAssignmentGroup", 2, upper=True),
        _text("SalesDistrict", 6, upper=True),
        _text("SalesOffice", 4, upper=True),
        _text("IncotermsClassification", 3, upper=True),
        _text("IncotermsLocation1", 70),
    ),
    # [R], [I]: sap:deletable="false"; InsertRestrictions "Creates customer sales data."
    deletable=False,
)

CUSTOMER_COMPANY = EntitySetFact(
    "A_CustomerCompany",
    keys=("Customer", "CompanyCode"),
    properties=(
        _key("Customer", 10),
        _key("CompanyCode", 4),
        _text("ReconciliationAccount", 10, upper=True),
        _text("PaymentTerms", 4, upper=True),
    ),
    # [R], [I]: sap:deletable="false"; InsertRestrictions "Creates new company code data linked to the customer."
    deletable=False,
)

CUSTOMER = EntitySetFact(
    "A_Customer",
    keys=("Customer",),
    properties=(
        _key("Customer", 10),
        _text("CustomerAccountGroup", 4, upper=True),
        _read_only("CustomerName", 80),
        _read_only("CustomerFullName", 220, upper=True),
        _text("OrderIsBlockedForCustomer", 2, upper=True),
        _flag("DeletionIndicator"),
    ),
    navigations=(
        # [I] Insertable true on both; [R] InsertRestrictions described on both.
        NavigationFact("to_CustomerSalesArea", "A_CustomerSalesArea", to_many=True, deep_insert=True),
        NavigationFact("to_CustomerCompany", "A_CustomerCompany", to_many=True, deep_insert=True),
    ),
    # [R], [I]: sap:creatable="false" sap:deletable="false" on the set: CVI creates the customer.
    creatable=False,
    deletable=False,
)

ENTITY_SETS: dict[str, EntitySetFact] = {
    fact.name: fact
    for fact in (
        BUSINESS_PARTNER,
        BUSINESS_PARTNER_ADDRESS,
        BUSINESS_PARTNER_ROLE,
        ADDRESS_PHONE_NUMBER,
        ADDRESS_EMAIL_ADDRESS,
        CUSTOMER_SALES_AREA,
        CUSTOMER_COMPANY,
        CUSTOMER,
    )
}

# The protocol around the entity sets (SAP Gateway, not the metadata): a modifying request needs a
# token fetched with `X-CSRF-Token: Fetch` in the same session (cookies); without one SAP answers 403
# with `X-CSRF-Token: Required` (SAP Community blog "How does CSRF token work? SAP Gateway", 2021; SAP KBA
# 3048103: the token is checked against the session's cookie). A PATCH without If-Match is answered 428
# on S/4HANA Cloud (SAP KBA 3514624), a stale one 412 (SAP Community blog "Handling 412 Precondition
# Failed and 428 Precondition Required Errors in SAP APIs Using ETag", 2023).
CSRF_HEADER = "X-CSRF-Token"
CSRF_FETCH = "Fetch"
CSRF_REQUIRED = "Required"
