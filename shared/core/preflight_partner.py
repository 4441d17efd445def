"""The go-live check's decisions about S/4HANA's Business Partner service (`SAP_TRANSPORT=odata`, issues 24 and 25):
what a probe's answer means, as pure functions from what came back to a CheckResult (found, and for a failure the
fix). The use case (shared/usecases/preflight/sap_odata.py) runs the probes and hands their answers here; the
table tests are tests/unit/test_preflight_partner_rules.py.

The create copies the reference customer's sales area data (A_CustomerSalesArea) and company code data
(A_CustomerCompany) and is refused when either is missing (shared/sap/business_partner_customer.py); the duplicate
guard asks SAP for the account's partner by `$filter` on BusinessPartnerIDByExtSystem, and fails closed when the
service refuses it. Both are found out here before go-live, never assumed.
"""

from __future__ import annotations

from shared.core.organization import SalesArea
from shared.core.preflight import Area, CheckResult, failed, passed, skipped

EXTERNAL_ID_FILTER = "external_id_filter"
EXTERNAL_ID_FILTER_TITLE = "the duplicate guard's $filter on BusinessPartnerIDByExtSystem works on this system"


def reference_data_check(
    area: SalesArea,
    reference_customer: str | None,
    company_code: str | None,
    sales_area_found: bool,
    company_code_found: bool | None,
) -> CheckResult:
    """A configured sales area (SAP_SALES_AREAS) on S/4HANA: its reference customer has sales area data in it
    and company code data in its companyCode, the two things the create copies."""
    check = f"sales_area {area}"
    title = f"sales area {area}: the reference customer's sales area and company code data"
    if not reference_customer:
        return skipped(
            Area.SAP,
            check,
            title,
            f"SAP_SALES_AREAS names no referenceCustomer for {area}: each request must name its own",
        )
    if not company_code:
        return failed(
            Area.SAP,
            check,
            title,
            f"SAP_SALES_AREAS names no companyCode for {area}",
            f"SAP_SALES_AREAS: add the companyCode of {area}: S/4HANA's create needs it for the customer's company "
            "code data (A_CustomerCompany), where the BAPI derived it",
        )
    missing = []
    if not sales_area_found:
        missing.append(f"sales area data in {area} (A_CustomerSalesArea)")
    if not company_code_found:
        missing.append(f"company code data in {company_code} (A_CustomerCompany)")
    if missing:
        return failed(
            Area.SAP,
            check,
            title,
            f"reference customer {reference_customer} has no {' and no '.join(missing)}: every create in this "
            "sales area would be refused",
            f"SAP_SALES_AREAS: set the referenceCustomer of {area} to a customer with both (Fiori 'Manage Business "
            f"Partner Master Data' shows its roles FLCU01 and FLCU00), or extend customer {reference_customer} to "
            "them",
        )
    return passed(
        Area.SAP,
        check,
        title,
        f"reference customer {reference_customer} has sales area data in {area} and company code data in "
        f"{company_code}",
    )


def external_id_filter_check(probe_id: str, rows: int | None, refused: str | None = None) -> CheckResult:
    """The guard's query for an external id no account can have: 200 with no rows is the only pass. A refusal
    means the guard cannot ask (the gateway then refuses every create as misconfigured); rows mean the service
    ignores the filter, and a guard reading them would adopt another account's partner."""
    asked = f"$filter=BusinessPartnerIDByExtSystem eq '{probe_id}'"
    if refused is not None:
        return failed(
            Area.SAP,
            EXTERNAL_ID_FILTER,
            EXTERNAL_ID_FILTER_TITLE,
            f"the service refused {asked}: {refused}",
            "the duplicate guard asks SAP for the account's partner by this field, so until it is filterable here "
            "every create is refused as misconfigured: check the field control of the Business Partner's "
            "BusinessPartnerIDByExtSystem with SAP Basis, or keep ECC's rfc path (docs/sap.md, S/4HANA)",
        )
    if rows:
        return failed(
            Area.SAP,
            EXTERNAL_ID_FILTER,
            EXTERNAL_ID_FILTER_TITLE,
            f"{asked} answered {rows} partner(s) for an id no account has: the service does not apply the filter",
            "the duplicate guard would adopt another account's partner: do not go live on odata until SAP applies "
            "this filter (a proxy or an extension rewriting the query?); docs/sap.md, S/4HANA",
        )
    return passed(Area.SAP, EXTERNAL_ID_FILTER, EXTERNAL_ID_FILTER_TITLE, f"{asked} answered no partner, as it must")
