"""The go-live check's SAP area on S/4HANA's Business Partner service (`SAP_TRANSPORT=odata` in the app, issue 25),
read-only:

    logon               GET the service document: the URL and the communication user's logon
    interface           the gateway's metadata self-check ($metadata: every entity set, property, key, MaxLength)
    sales_area X        each configured sales area's reference customer has its sales area data
                        (A_CustomerSalesArea by key) and company code data (A_CustomerCompany by key)
    external_id_filter  $filter on BusinessPartnerIDByExtSystem for an id no account has: 200 with no rows
    region_keys         a listed manual step (as on ECC)

When the logon fails every later check is SKIPPED (one cause, one failure). The decisions are
shared/core/preflight_partner.py's; the probes shared/sap/business_partner_probes.py's port. Behind the relay
(an S/4HANA on premise, the agent on odata) the SAP area is the agent's, and the agent's probes are the RFC ones.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from shared.core.organization import SalesArea
from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.core.preflight_partner import (
    EXTERNAL_ID_FILTER,
    EXTERNAL_ID_FILTER_TITLE,
    external_id_filter_check,
    reference_data_check,
)
from shared.core.preflight_sap import region_keys_manual_step
from shared.sap.business_partner_probes import BusinessPartnerProbes
from shared.sap.errors import SapConfigurationError, SapError, SapInterfaceMismatch, SapTransientError

if TYPE_CHECKING:
    from shared.usecases.preflight.sap_parts import SapPreflightParts

_LOGON_TITLE = "logon to S/4HANA's API_BUSINESS_PARTNER through SAP_TRANSPORT=odata"
_INTERFACE_TITLE = "the metadata self-check of every entity set, property, key and MaxLength the gateway uses"
# An external id no account can have: a Salesforce Id holds letters and digits only, never '-'; 20 at most
# (BusinessPartnerIDByExtSystem's MaxLength, shared/core/business_partner_facts.py).
_PROBE_PREFIX = "PREFLIGHT-"


def check_business_partner_service(parts: SapPreflightParts, probes: BusinessPartnerProbes) -> list[CheckResult]:
    """Every SAP check on S/4HANA's Business Partner service, in order (area Area.SAP)."""
    logon = _logon(probes)
    if logon.failed:
        why = "no SAP logon (see the logon check)"
        later = [
            ("interface", _INTERFACE_TITLE),
            *((f"sales_area {area}", f"sales area {area}") for area in parts.organization.sales_areas),
            (EXTERNAL_ID_FILTER, EXTERNAL_ID_FILTER_TITLE),
            ("region_keys", "region keys (T005S) of the countries the mapping translates"),
        ]
        return [logon, *(skipped(Area.SAP, check, title, why) for check, title in later)]
    results = [logon, _interface(probes)]
    for area, setup in parts.organization.sales_areas.items():
        results.append(_reference(probes, area, setup.reference_customer, setup.company_code))
    results.append(_external_id_filter(probes))
    results.append(region_keys_manual_step(parts.region_countries))
    return results


def _logon(probes: BusinessPartnerProbes) -> CheckResult:
    started = time.monotonic()
    try:
        document = probes.service_document()
    except SapError as error:
        if isinstance(error, SapConfigurationError):
            fix = (
                "check SAP_ODATA_USER/SAP_ODATA_PASSWORD (or SAP_ODATA_CLIENT_ID, the secret and SAP_ODATA_TOKEN_URL "
                "with oauth), and that the communication arrangement for SAP_COM_0008 (on premise: the user's "
                "authorization for OP_API_BUSINESS_PARTNER_SRV) grants it"
            )
        elif isinstance(error, SapTransientError):
            fix = "check SAP_ODATA_URL (the service root) and that it is reachable from the app"
        else:
            fix = "read the error above; SAP Gateway's error log (/IWFND/ERROR_LOG) may say more"
        return failed(Area.SAP, "logon", _LOGON_TITLE, f"{error.label}: {error.detail}", fix)
    elapsed = round((time.monotonic() - started) * 1000)
    return passed(
        Area.SAP,
        "logon",
        _LOGON_TITLE,
        f"the service document answered in {elapsed} ms ({len(document.entity_sets)} entity sets)",
    )


def _interface(probes: BusinessPartnerProbes) -> CheckResult:
    try:
        probes.check_interface()
    except SapInterfaceMismatch as error:
        return failed(
            Area.SAP,
            "interface",
            _INTERFACE_TITLE,
            error.detail,
            "this release's API_BUSINESS_PARTNER lacks what the gateway sends or reads: compare its $metadata with "
            "shared/core/business_partner_facts.py (docs/sap.md, S/4HANA)",
        )
    except SapError as error:
        return failed(
            Area.SAP,
            "interface",
            _INTERFACE_TITLE,
            f"{error.label}: {error.detail}",
            "the communication user must read the service's $metadata; read the error above",
        )
    return passed(Area.SAP, "interface", _INTERFACE_TITLE, "every entity set, property, key and MaxLength found")


def _reference(
    probes: BusinessPartnerProbes, area: SalesArea, reference: str | None, company_code: str | None
) -> CheckResult:
    if not reference or not company_code:
        return reference_data_check(area, reference, company_code, False, None)
    try:
        data = probes.reference_data(reference, area, company_code)
    except SapError as error:
        return failed(
            Area.SAP,
            f"sales_area {area}",
            f"sales area {area}: the reference customer's sales area and company code data",
            f"reading reference customer {reference} failed: {error.label}: {error.detail}",
            "the communication user must read A_CustomerSalesArea and A_CustomerCompany; read the error above",
        )
    return reference_data_check(area, reference, company_code, data.sales_area_found, data.company_code_found)


def _external_id_filter(probes: BusinessPartnerProbes) -> CheckResult:
    probe_id = f"{_PROBE_PREFIX}{secrets.token_hex(4).upper()}"
    try:
        rows = probes.external_id_rows(probe_id)
    except SapError as error:
        return external_id_filter_check(probe_id, None, f"{error.label}: {error.detail}")
    return external_id_filter_check(probe_id, rows)
