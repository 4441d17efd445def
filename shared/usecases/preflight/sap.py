"""The go-live check's SAP area (issue 24): through the configured transport (the relay included), read-only.

    logon           RFC_SYSTEM_INFO (or RFC_PING): who answered, how long it took
    interface       the gateway's metadata self-check of every function, parameter and field
    sales_area X    each configured sales area's reference customer exists in it (GETDETAIL2, GETSALESAREAS)
    find_no_match   FIND for a name no customer has: how "nothing found" is said; SAP_FIND_NO_MATCH_MESSAGE
    find_by_name    FIND by the reference customer's exact name finds it (the duplicate guard's own search)
    find_rows       FIND by that name AND a country it is not in: are the rows ANDed
    region_keys     a listed manual step (no released function reads T005S)

When the logon fails every later check is SKIPPED (not failed): one cause, one failure. The decisions are
shared/core/preflight_sap.py's; this module only runs the probes (shared/sap/inspector.py) and hands over.
"""

from __future__ import annotations

import secrets
import time

from shared.core.organization import SalesArea
from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.core.preflight_sap import (
    FindOutcome,
    SaidMessage,
    find_by_name_check,
    find_no_match_check,
    find_rows_check,
    region_keys_manual_step,
    sales_area_check,
)
from shared.sap.business_partner_probes import BusinessPartnerProbes
from shared.sap.errors import (
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapTransientError,
)
from shared.sap.inspector import CustomerProbe, FindAnswer, FindCriterion, SapInspector, SapSystemInfo
from shared.sap.wire_probe import MAX_PROBE_ROWS
from shared.usecases.preflight.sap_parts import SapPreflightParts as SapPreflightParts

# A page this long for the reference customer's name (the most a probe may ask the agent for): enough for any
# reference customer's name in practice.
_NAME_SEARCH_ROWS = MAX_PROBE_ROWS
# A country key the reference customer is not in, for the AND probe (both are T005 keys of every release).
_OTHER_COUNTRIES = ("DE", "US")
_INTERFACE_TITLE = "the metadata self-check of every function, parameter and field the gateway uses"
_NO_MATCH_TITLE = "BAPI_CUSTOMER_FIND: how this system says 'nothing found' (SAP_FIND_NO_MATCH_MESSAGE)"
_BY_NAME_TITLE = "BAPI_CUSTOMER_FIND finds a customer by its exact name (the duplicate guard's search)"
_ROWS_TITLE = "BAPI_CUSTOMER_FIND combines its selection rows with AND"


def check_sap(parts: SapPreflightParts) -> list[CheckResult]:
    """Every SAP check, in order (area Area.SAP)."""
    if isinstance(parts.inspector, BusinessPartnerProbes):  # S/4HANA's OData service: checks of its own
        from shared.usecases.preflight.sap_odata import check_business_partner_service

        return check_business_partner_service(parts, parts.inspector)
    logon, info = _logon(parts)
    if info is None or not info.probes:
        why = "no SAP logon (see the logon check)" if info is None else info.note
        later = [
            ("interface", _INTERFACE_TITLE),
            *(
                (f"sales_area {area}", f"sales area {area} and its reference customer exist")
                for area in parts.organization.sales_areas
            ),
            ("find_no_match", _NO_MATCH_TITLE),
            ("find_by_name", _BY_NAME_TITLE),
            ("find_rows", _ROWS_TITLE),
            ("region_keys", "region keys (T005S) of the countries the mapping translates"),
        ]
        if info is not None:  # no probes for this gateway: nothing was asked of SAP, not even the logon
            logon = skipped(Area.SAP, "logon", logon.title, why)
        return [logon, *(skipped(Area.SAP, check, title, why) for check, title in later)]
    results = [logon, _interface(parts.inspector)]
    references: list[CustomerProbe] = []
    for area, setup in parts.organization.sales_areas.items():
        result, probe = _sales_area(parts.inspector, area, setup.reference_customer)
        results.append(result)
        if probe is not None and probe.exists and probe.name and probe not in references:
            references.append(probe)
    # The guard that reads "nothing found" is the gateway's that runs the creates: the agent's behind the relay.
    configured = parts.no_match_messages if info.find_no_match_messages is None else info.find_no_match_messages
    results.append(_find_no_match(parts.inspector, configured, on_agent=parts.transport == "relay"))
    results.extend(_find_with_reference(parts.inspector, references))
    results.append(region_keys_manual_step(parts.region_countries))
    return results


def _logon(parts: SapPreflightParts) -> tuple[CheckResult, SapSystemInfo | None]:
    title = f"logon to SAP through SAP_TRANSPORT={parts.transport}"
    started = time.monotonic()
    try:
        info = parts.inspector.system_info()
    except SapError as error:
        return failed(
            Area.SAP, "logon", title, f"{error.label}: {error.detail}", _logon_fix(parts.transport, error)
        ), None
    elapsed = round((time.monotonic() - started) * 1000)
    system = " ".join(
        part
        for part in (
            f"system {info.system_id}" if info.system_id else "",
            f"release {info.release}" if info.release else "",
            f"database {info.database_system}" if info.database_system else "",
        )
        if part
    )
    note = f" ({info.note})" if info.note else ""
    found = f"logged on{' to ' + system if system else ''} in {elapsed} ms{note}"
    return passed(Area.SAP, "logon", title, found), info


def _logon_fix(transport: str, error: SapError) -> str:
    where = "the agent's SAP_* settings (agent host)" if transport == "relay" else "the app's SAP_* settings"
    if isinstance(error, SapDriverMissing):
        return f"install pyrfc or pyrfcx and the SAP NW RFC SDK where the RFC calls run ({where}); docs/sap.md"
    if isinstance(error, SapConfigurationError):
        return (
            f"check SAP_USER, SAP_PASSWORD (or SNC) and SAP_CLIENT in {where}; SU01 shows whether the RFC "
            "user is locked, and it needs S_RFC for the function groups in docs/sap.md"
        )
    if isinstance(error, SapTransientError):
        return (
            f"check SAP_ASHOST/SAP_SYSNR (or SAP_MSHOST/SAP_SYSID/SAP_GROUP) and SAP_SAPROUTER in {where}, "
            "and that the RFC port (33NN) is open from there"
        )
    return f"read the error above; SM21/ST22 on the SAP side may say more ({where})"


def _interface(inspector: SapInspector) -> CheckResult:
    title = _INTERFACE_TITLE
    try:
        interface = inspector.check_interface()
    except SapInterfaceMismatch as error:
        return failed(
            Area.SAP,
            "interface",
            title,
            error.detail,
            "this release lacks what the product sends or reads: compare the function in SE37 with "
            "shared/sap/rfc_metadata.py (REQUIRED_INTERFACE); the RFC user needs S_RFC for it",
        )
    except SapError as error:
        return failed(
            Area.SAP,
            "interface",
            title,
            f"{error.label}: {error.detail}",
            "the RFC user needs S_RFC for RFC_METADATA (function descriptions); read the error above",
        )
    return passed(
        Area.SAP,
        "interface",
        title,
        f"every function, parameter and field found; PI_COMPANYDATA has {len(interface.company_data_lengths)} "
        "CHAR fields",
    )


def _sales_area(
    inspector: SapInspector, area: SalesArea, reference: str | None
) -> tuple[CheckResult, CustomerProbe | None]:
    if not reference:
        return sales_area_check(area, None, False, ()), None
    try:
        probe = inspector.customer(reference)
    except SapError as error:
        return failed(
            Area.SAP,
            f"sales_area {area}",
            f"sales area {area} and its reference customer exist",
            f"reading reference customer {reference} failed: {error.label}: {error.detail}",
            "the RFC user needs S_RFC for BAPI_CUSTOMER_GETDETAIL2/GETSALESAREAS and display rights "
            "(F_KNA1_BUK, V_KNA1_VKO); read the error above",
        ), None
    said = "; ".join(f"{m.type} {m.id} {m.number}: {m.text}" for m in probe.messages)
    return sales_area_check(area, reference, probe.exists, probe.sales_areas, said), probe


def _outcome(answer: FindAnswer) -> FindOutcome:
    messages = []
    if answer.returned is not None:
        m = answer.returned
        messages.append(SaidMessage("RETURN", m.type, m.id, m.number, m.text))
    for row in answer.rows:
        if row.message is not None:
            m = row.message
            messages.append(SaidMessage("RESULT_TAB", m.type, m.id, m.number, m.text))
    customers = frozenset(_customer_key(row.customer) for row in answer.rows if row.customer.strip())
    return FindOutcome(customers, tuple(messages))


def _customer_key(number: str) -> str:
    # KUNNR as SAP holds it: a numeric number padded to 10 digits (the inspector pads the ones it reads).
    text = number.strip()
    return text.zfill(10) if text.isdigit() else text


def _find_no_match(inspector: SapInspector, configured: tuple[tuple[str, str], ...], on_agent: bool) -> CheckResult:
    # A name no customer can have: a fixed prefix no business uses and a random part, within KNA1-NAME1's 35.
    name = f"ZZ PREFLIGHT NO SUCH NAME {secrets.token_hex(4).upper()}"
    try:
        answer = inspector.find([FindCriterion("NAME1", name)], max_rows=2)
    except SapError as error:
        return failed(
            Area.SAP,
            "find_no_match",
            _NO_MATCH_TITLE,
            f"{error.label}: {error.detail}",
            "the RFC user needs S_RFC for BAPI_CUSTOMER_FIND; read the error above",
        )
    return find_no_match_check(_outcome(answer), configured, name, on_agent)


def _find_with_reference(inspector: SapInspector, references: list[CustomerProbe]) -> list[CheckResult]:
    if not references:
        why = "no configured reference customer could be read (see the sales area checks)"
        return [
            skipped(Area.SAP, "find_by_name", _BY_NAME_TITLE, why),
            skipped(Area.SAP, "find_rows", _ROWS_TITLE, why),
        ]
    reference = references[0]
    name = reference.name  # as the guard searches: what KNA1-NAME1 keeps (the inspector cuts it so)
    number = reference.number
    try:
        by_name = _outcome(inspector.find([FindCriterion("NAME1", name)], max_rows=_NAME_SEARCH_ROWS))
    except SapError as error:
        return [
            failed(Area.SAP, "find_by_name", _BY_NAME_TITLE, f"{error.label}: {error.detail}", "read the error above"),
            skipped(Area.SAP, "find_rows", _ROWS_TITLE, "the search by name failed"),
        ]
    found = find_by_name_check(by_name, number)
    if found.failed:
        return [
            found,
            skipped(Area.SAP, "find_rows", _ROWS_TITLE, "the search by the reference customer's name did not find it"),
        ]
    other = next(country for country in _OTHER_COUNTRIES if country != reference.country.strip().upper())
    try:
        combined = _outcome(
            inspector.find([FindCriterion("NAME1", name), FindCriterion("LAND1", other)], max_rows=_NAME_SEARCH_ROWS)
        )
    except SapError as error:
        return [
            found,
            failed(Area.SAP, "find_rows", _ROWS_TITLE, f"{error.label}: {error.detail}", "read the error above"),
        ]
    return [found, find_rows_check(combined, number, other)]
