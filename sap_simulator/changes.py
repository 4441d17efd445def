"""The change path's function modules (issue 26): BAPI_CUSTOMER_CHANGEFROMDATA1 and BAPI_CUSTOMER_GETDETAIL1.

Their interfaces and where each fact comes from: interfaces.py (V/U as there). What they do, as SAP's function
documentation describes it (stechno.net's pages of both functions, [ST]):
* CHANGEFROMDATA1 changes "the personal or company data of a customer that exists"; "only one filled structure
  (personal OR company data) can be passed"; the address data it needs is the create's ("the address data
  required is the same as that needed for the method of creating a customer", [ST] CHANGEFROMDATA's page, which
  CHANGEFROMDATA1 replaces). Each data structure has its X structure with one flag per field: only flagged
  fields are taken (V as the structures' shape, [TS] Bapikna106X.java and the create/change callers there;
  that an unflagged field is left as SAP holds it is what every X structure of SAP's BAPIs means, U for this
  BAPI in particular). The change, like the create, waits for BAPI_TRANSACTION_COMMIT on the same session.
* GETDETAIL1 answers the company data as PE_COMPANYDATA (BAPIKNA106), from central address management.

What the simulator decides where the documentation says nothing (U): an unknown customer is RETURN E F2 502
"Debtor &1 does not exist" and a sales area the customer has no sales data in E F2 156 "Debtor &1 is not created
for sales area &2 &3 &4" (SAP's own messages for these conditions, V as messages: BAPI_CUSTOMER_EXISTENCECHECK's
documentation on stechno.net lists both, there as type I; that CHANGEFROMDATA1 and GETDETAIL1 answer them, as
type E, is U); PI_SALESORG left blank is E F2 174 (the simulator's own);
nothing flagged changes nothing and answers an initial RETURN; the changed address is validated as the create
validates one (country, region, postal code, city, name, language), first problem only; GETDETAIL1 checks
neither the sales area nor anything else and answers the customer's central address.
"""

from __future__ import annotations

from typing import Any

from sap_simulator.functions import _filled, _Rejected, _validated_address, message
from sap_simulator.interfaces import blank, shaped
from sap_simulator.records import Session, SystemState

FLAGGED = "X"


def change_from_data1(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    try:
        number, fields = _validated_change(system, session, inputs)
    except _Rejected as rejected:
        return {"RETURN": message("BAPIRETURN1", rejected.key, *rejected.variables)}
    if fields:
        session.changes.append((number, fields))
    return {"RETURN": blank("BAPIRETURN1")}


def _validated_change(system: SystemState, session: Session, inputs: dict[str, Any]) -> tuple[str, dict[str, str]]:
    number = inputs["CUSTOMERNO"]
    record = system.customers.get(number)
    if record is None:
        raise _Rejected("debtor_not_found", number)
    personal = _filled(inputs["PI_PERSONALDATA"]) or _filled(inputs["PI_PERSONALDATAX"])
    company, company_x = inputs["PI_COMPANYDATA"], inputs["PI_COMPANYDATAX"]
    if personal and (_filled(company) or _filled(company_x)):
        raise _Rejected("both_kinds_of_data")
    if personal:
        raise _Rejected("personal_data_unsupported")
    organization, channel, division = inputs["PI_SALESORG"], inputs["PI_DISTR_CHAN"], inputs["PI_DIVISION"]
    if not organization:
        raise _Rejected("sales_organization_required")
    if not any(
        area[0] == organization and channel in ("", area[1]) and division in ("", area[2])
        for area in record.sales_areas
    ):
        raise _Rejected("debtor_not_in_sales_area", number, organization, channel, division)
    flagged = [name for name, flag in company_x.items() if flag == FLAGGED]
    if not flagged:
        return number, {}
    # What SAP holds once this session's earlier changes are in, with the flagged fields over it.
    current = dict(record.address)
    for pending_number, fields in session.changes:
        if pending_number == number:
            current.update(fields)
    wanted = {name: current.get(name, "") for name in company}
    wanted.update({name: company[name] for name in flagged})
    validated = _validated_address(system, wanted)
    # Written: the flagged fields, and the ones SAP derives from them (the ISO code of a country or language
    # key, or the key of an ISO code), so the record stays consistent.
    derived = {
        "COUNTRY": "COUNTRYISO",
        "COUNTRYISO": "COUNTRY",
        "LANGU": "LANGU_ISO",
        "LANGU_ISO": "LANGU",
        "CURRENCY": "CURRENCY_ISO",
        "CURRENCY_ISO": "CURRENCY",
    }
    written = set(flagged) | {derived[name] for name in flagged if name in derived}
    return number, {name: validated.get(name, "") for name in sorted(written)}


def get_detail1(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    structures = system.structures
    answer: dict[str, Any] = {
        "PE_COMPANYDATA": blank("BAPIKNA106", structures),
        "PE_OPT_COMPANYDATA": blank("BAPIKNA105", structures),
        "PE_PERSONALDATA": blank("BAPIKNA101_1", structures),
        "PE_OPT_PERSONALDATA": blank("BAPIKNA105", structures),
        "PE_PERSONALDATA_NEW": blank("BAPIKNA101_1", structures),
        "PE_OPT_PERSONALDATA_NEW": blank("BAPIKNA105", structures),
        "PE_CONSUMER_FLAG": "",
        "RETURN": blank("BAPIRETURN1", structures),
    }
    record = system.customers.get(inputs["CUSTOMERNO"])
    if record is None:
        answer["RETURN"] = message("BAPIRETURN1", "debtor_not_found", inputs["CUSTOMERNO"])
        return answer
    company_fields = structures["BAPIKNA106"]
    answer["PE_COMPANYDATA"] = shaped(
        "BAPIKNA106",
        {name: value[: company_fields[name][1]] for name, value in record.address.items() if name in company_fields},
        structures,
    )
    optional_fields = structures["BAPIKNA105"]
    answer["PE_OPT_COMPANYDATA"] = shaped(
        "BAPIKNA105", {name: value for name, value in record.general.items() if name in optional_fields}, structures
    )
    return answer


CHANGE_FUNCTIONS = {
    "BAPI_CUSTOMER_CHANGEFROMDATA1": change_from_data1,
    "BAPI_CUSTOMER_GETDETAIL1": get_detail1,
}
