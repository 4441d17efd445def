"""What the simulated function modules do: the BAPI behaviour, on the system's state.

Why one module of this length: one function per function module the product calls, with the message
catalogue they share; each reads like the BAPI's documentation, in one place.

Every function gets the system (whose lock the caller holds), the calling session and the filled
import parameters, and returns the export and table parameters as pyrfc would.

Messages: classes, texts and variables are modelled on SAP's own (F2 customer master, AM address
management, VR sales customising, 00 basis); the message numbers are the simulator's and need not
match a given SAP release. BAPI_CUSTOMER_CREATEFROMDATA1 answers with one BAPIRETURN1, so, like
SAP, it reports the first problem only; on success RETURN is initial (TYPE '').
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sap_simulator.interfaces import blank, shaped
from sap_simulator.records import CustomerRecord, Session, SystemState

MESSAGES: dict[str, tuple[str, str, str]] = {
    "both_kinds_of_data": ("F2", "160", "Enter either personal data or company data, not both"),
    "no_data": ("F2", "161", "Enter personal data or company data"),
    "name_required": ("F2", "162", "Enter a name"),
    "customer_not_found": ("F2", "163", "Customer &1 does not exist"),
    "country_required": ("F2", "164", "Enter a country key"),
    "language_required": ("F2", "165", "Enter a language key"),
    "language_unknown": ("F2", "166", "Language key &1 is not defined"),
    "currency_unknown": ("F2", "167", "Currency &1 is not defined"),
    "reference_field_required": ("F2", "168", "Enter &1 in the copy reference (PI_COPYREFERENCE)"),
    "personal_data_unsupported": ("F2", "169", "Only company data can be created in this system (PI_COMPANYDATA)"),
    "number_range_exhausted": ("F2", "170", "No internal number left in number range for account group &1"),
    "search_field_unknown": ("F2", "171", "Field &1-&2 cannot be used to search customers"),
    "search_criteria_missing": ("F2", "172", "Enter at least one selection criterion"),
    "no_customer_found": ("F2", "173", "No customer found for the selection criteria"),
    "sales_organization_required": ("F2", "174", "Enter a sales organization (PI_SALESORG)"),
    # SAP's own messages for these two conditions, as the documentation of BAPI_CUSTOMER_EXISTENCECHECK lists
    # them (stechno.net's page of that function, RETURN's value range; there type I): the change path's BAPIs
    # answer them as type E here (changes.py; which message a real CHANGEFROMDATA1 answers is unverified).
    "debtor_not_found": ("F2", "502", "Debtor &1 does not exist"),
    "debtor_not_in_sales_area": ("F2", "156", "Debtor &1 is not created for sales area &2 &3 &4"),
    "postal_code_required": ("AM", "214", "Enter a postal code for country &1"),
    "postal_code_length": ("AM", "215", "Postal code &1 must have length &2 (country &3)"),
    "postal_code_too_long": ("AM", "216", "Postal code &1 must not be longer than &2 characters (country &3)"),
    "postal_code_numeric": ("AM", "217", "Postal code &1 may contain digits only (country &3)"),
    "postal_code_gaps": ("AM", "218", "Postal code &1 must not contain blanks (country &3)"),
    "postal_code_format": ("AM", "219", "Postal code &1 has the wrong format for country &3"),
    "region_required": ("AM", "227", "Enter a region for country &1"),
    "region_unknown": ("AM", "228", "Region &1 not defined for country &2"),
    "country_unknown": ("AM", "229", "Country &1 is not defined"),
    "city_required": ("AM", "231", "Enter a city"),
    "sales_area_unknown": ("VR", "110", "Sales area &1 &2 &3 is not defined"),
    "reference_not_in_sales_area": ("VR", "112", "Customer &1 has not been created for sales area &2 &3 &4"),
    "sales_organization_without_company_code": ("VR", "113", "Sales organization &1 is not assigned to a company code"),
    "update_terminated": ("00", "120", "Update was terminated; no data was saved"),
}


# How BAPI_CUSTOMER_FIND combines SELOPT_TAB rows and where it says "nothing found": see find().
FIND_ROWS_AND = "and"
FIND_ROWS_PER_CRITERION = "per_criterion"
FIND_ROWS = (FIND_ROWS_AND, FIND_ROWS_PER_CRITERION)
FIND_NO_MATCH_IN_RESULT_TAB = "result_tab"
FIND_NO_MATCH_IN_RETURN = "return"
FIND_NO_MATCH_EMPTY = "empty"
FIND_NO_MATCH = (FIND_NO_MATCH_IN_RESULT_TAB, FIND_NO_MATCH_IN_RETURN, FIND_NO_MATCH_EMPTY)


class _Rejected(Exception):
    """Internal: stop validating, answer RETURN with this message."""

    def __init__(self, key: str, *variables: str) -> None:
        super().__init__(key)
        self.key = key
        self.variables = variables


def message(structure: str, key: str, *variables: str, message_type: str = "E") -> dict[str, Any]:
    """A BAPIRETURN1/BAPIRET1/BAPIRET2/BAPIKNA111 row for one catalogue message, variables in
    MESSAGE_V1..V4; BAPIRETURN has CODE (class and number together) instead of ID and NUMBER."""
    message_class, number, text = MESSAGES[key]
    for index, variable in enumerate(variables, start=1):
        text = text.replace(f"&{index}", variable)
    values: dict[str, Any] = {"TYPE": message_type, "MESSAGE": text}
    if structure == "BAPIRETURN":
        values["CODE"] = f"{message_class}{number}"
    else:
        values.update({"ID": message_class, "NUMBER": number})
    for index, variable in enumerate(variables[:4], start=1):
        values[f"MESSAGE_V{index}"] = variable
    return shaped(structure, values)


# --------------------------------------------------------------------------- create


def create_from_data1(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    try:
        record = _validated_customer(system, session, inputs)
    except _Rejected as rejected:
        return {"CUSTOMERNO": "", "RETURN": message("BAPIRETURN1", rejected.key, *rejected.variables)}
    session.pending.append(record)
    return {"CUSTOMERNO": record.number, "RETURN": blank("BAPIRETURN1")}


def _filled(structure: dict[str, Any]) -> bool:
    return any(value not in ("", 0) for value in structure.values())


def _validated_customer(system: SystemState, session: Session, inputs: dict[str, Any]) -> CustomerRecord:
    customizing = system.customizing
    personal, company = inputs["PI_PERSONALDATA"], inputs["PI_COMPANYDATA"]
    if _filled(personal) and _filled(company):
        raise _Rejected("both_kinds_of_data")
    if _filled(personal):
        raise _Rejected("personal_data_unsupported")
    if not _filled(company):
        raise _Rejected("no_data")

    copy_reference = inputs["PI_COPYREFERENCE"]
    for name in ("SALESORG", "DISTR_CHAN", "DIVISION", "REF_CUSTMR"):
        if not copy_reference[name]:
            raise _Rejected("reference_field_required", name)
    sales_area = (copy_reference["SALESORG"], copy_reference["DISTR_CHAN"], copy_reference["DIVISION"])
    if sales_area not in customizing.sales_areas:
        raise _Rejected("sales_area_unknown", *sales_area)
    company_code = customizing.sales_organizations.get(sales_area[0])
    if company_code is None:
        raise _Rejected("sales_organization_without_company_code", sales_area[0])
    reference = system.customers.get(copy_reference["REF_CUSTMR"])
    if reference is None or sales_area not in reference.sales_areas:
        raise _Rejected("reference_not_in_sales_area", copy_reference["REF_CUSTMR"], *sales_area)

    address = _validated_address(system, company)
    number = system.draw_customer_number(reference.account_group)
    if number is None:
        raise _Rejected("number_range_exhausted", reference.account_group)

    optional = inputs["PI_OPT_COMPANYDATA"]
    general = {
        "CREAT_DATE": system.today().strftime("%Y%m%d"),
        "ENTERED_BY": session.user,
        "TRANSPZONE": optional["TRANSPZONE"] or reference.general.get("TRANSPZONE", ""),
        "TAXJURCODE": optional["TAXJURCODE"] or reference.general.get("TAXJURCODE", ""),
    }
    company_data = dict(reference.company_codes.get(company_code, {}))
    company_data.update({"CREATED_ON": general["CREAT_DATE"]})
    if optional["CONTROL_ACCOUNT"]:
        company_data["RECONC_ACCT"] = optional["CONTROL_ACCOUNT"]
    if optional["PMNTTRMS"]:
        company_data["PMNTTRMS"] = optional["PMNTTRMS"]
    sales_data = dict(reference.sales_areas[sales_area])
    sales_data["CURRENCY"] = address["CURRENCY"]
    for bapi_name, knvv_name in (
        ("SHIP_COND", "VSBED"),
        ("DELYG_PLNT", "VWERK"),
        ("PART_DLV", "KZTLF"),
        ("PMNTTRMS", "ZTERM"),
        ("C_CTR_AREA", "KKBER"),
    ):
        if optional[bapi_name]:
            sales_data[knvv_name] = optional[bapi_name]
    return CustomerRecord(
        number=number,
        account_group=reference.account_group,
        address=address,
        general=general,
        company_codes={company_code: company_data},
        sales_areas={sales_area: sales_data},
    )


def _validated_address(system: SystemState, company: dict[str, Any]) -> dict[str, str]:
    customizing = system.customizing
    if not company["NAME"]:
        raise _Rejected("name_required")

    # SAP's documentation: when both the R/3 key and the ISO code are given, the R/3 key wins.
    if company["COUNTRY"]:
        country = customizing.countries.get(company["COUNTRY"])
        if country is None:
            raise _Rejected("country_unknown", company["COUNTRY"])
    elif company["COUNTRYISO"]:
        country = customizing.country_by_iso(company["COUNTRYISO"])
        if country is None:
            raise _Rejected("country_unknown", company["COUNTRYISO"])
    else:
        raise _Rejected("country_required")

    if not company["CITY"]:
        raise _Rejected("city_required")
    _check_postal_code(company["POSTL_COD1"], country)
    _check_region(system, company["REGION"], country.key, country.region_required)

    if company["LANGU"]:
        language = company["LANGU"]
        if language not in customizing.languages:
            raise _Rejected("language_unknown", language)
    elif company["LANGU_ISO"]:
        found = customizing.language_by_iso(company["LANGU_ISO"])
        if found is None:
            raise _Rejected("language_unknown", company["LANGU_ISO"])
        language = found
    else:
        raise _Rejected("language_required")

    if company["CURRENCY"]:
        currency = company["CURRENCY"]
        if currency not in customizing.currencies:
            raise _Rejected("currency_unknown", currency)
    elif company["CURRENCY_ISO"]:
        found = customizing.currency_by_iso(company["CURRENCY_ISO"])
        if found is None:
            raise _Rejected("currency_unknown", company["CURRENCY_ISO"])
        currency = found
    else:
        currency = country.currency  # T005-WAERS

    address = {name: value for name, value in company.items() if isinstance(value, str) and value}
    address.update(
        {
            "COUNTRY": country.key,
            "COUNTRYISO": country.iso_code,
            "LANGU": language,
            "LANGU_ISO": customizing.languages[language],
            "CURRENCY": currency,
            "CURRENCY_ISO": customizing.currencies[currency],
        }
    )
    return address


def _check_postal_code(postal_code: str, country: Any) -> None:
    rule = country.postal_code
    if not postal_code:
        if rule.required:
            raise _Rejected("postal_code_required", country.key)
        return
    problem = rule.problem(postal_code)
    exact = rule.check_rule in (4, 5, 6, 7)
    if problem == "length":
        key = "postal_code_length" if exact else "postal_code_too_long"
        raise _Rejected(key, postal_code, str(rule.length), country.key)
    if problem is not None:
        raise _Rejected(f"postal_code_{problem}", postal_code, str(rule.length), country.key)


def _check_region(system: SystemState, region: str, country: str, required: bool) -> None:
    regions = system.customizing.regions.get(country)
    if not region:
        if required:
            raise _Rejected("region_required", country)
        return
    # Only countries whose T005S the simulator holds are checked; SAP would check all of them.
    if regions and region not in regions:
        raise _Rejected("region_unknown", region, country)


# --------------------------------------------------------------------------- read


def get_detail2(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    structures = system.structures
    answer: dict[str, Any] = {
        "CUSTOMERADDRESS": blank("BAPICUSTOMER_04", structures),
        "CUSTOMERGENERALDETAIL": blank("BAPICUSTOMER_KNA1", structures),
        "CUSTOMERCOMPANYDETAIL": blank("BAPICUSTOMER_05", structures),
        "RETURN": blank("BAPIRET1", structures),
        "CUSTOMERBANKDETAIL": [],
    }
    record = system.customers.get(inputs["CUSTOMERNO"])
    if record is None:
        answer["RETURN"] = message("BAPIRET1", "customer_not_found", inputs["CUSTOMERNO"])
        return answer
    # BAPICUSTOMER_04 names some fields differently from BAPIKNA106 (POSTL_CODE, TELEPHONE, FORMOFADDR for
    # the form of address, POBX_PCD for the PO box postal code); the transport zone is KNA1's.
    renamed = {"POSTL_COD1": "POSTL_CODE", "TEL1_NUMBR": "TELEPHONE", "TITLE": "FORMOFADDR", "POSTL_COD2": "POBX_PCD"}
    address_fields = structures["BAPICUSTOMER_04"]
    address = {}
    for name, value in {**record.address, "TRANSPZONE": record.general.get("TRANSPZONE", "")}.items():
        target = renamed.get(name, name)
        if target in address_fields:
            address[target] = value[: address_fields[target][1]]
    address["CUSTOMER"] = record.number
    answer["CUSTOMERADDRESS"] = shaped("BAPICUSTOMER_04", address, structures)
    general_fields = structures["BAPICUSTOMER_KNA1"]
    general = {
        name: value
        for name, value in {"CUSTOMER": record.number, "ACCNT_GRP": record.account_group, **record.general}.items()
        if name in general_fields
    }
    answer["CUSTOMERGENERALDETAIL"] = shaped("BAPICUSTOMER_KNA1", general, structures)
    company_code = inputs["COMPANYCODE"]
    if company_code and company_code in record.company_codes:
        # KNB1 as BAPICUSTOMER_05 shows it: no reconciliation account, no creation date (they stay in KNB1).
        company_fields = structures["BAPICUSTOMER_05"]
        company = {
            name: value
            for name, value in {
                **record.company_codes[company_code],
                "CUSTOMER": record.number,
                "COMP_CODE": company_code,
            }.items()
            if name in company_fields
        }
        answer["CUSTOMERCOMPANYDETAIL"] = shaped("BAPICUSTOMER_05", company, structures)
    return answer


def get_sales_areas(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    """BAPI_CUSTOMER_GETSALESAREAS as SAP's function documentation describes it (stechno.net's page of the
    function, "Value range" of RETURN and CUSTOMERNO; V as documentation): RETURN TYPE "S" with CODE blank when
    sales data was found, TYPE "E" CODE "QC160" "No sales data was found" otherwise, and "the module does not
    check whether the customer number already exists in the system": a customer that does not exist is simply
    one without sales data. The message text is the documentation's; whether RETURN-MESSAGE holds exactly it on
    a given release is U. The documentation calls the channel column DISTRCHANN; the simulator keeps BAPIKNVVKY's
    DISTRCHN (U either way; the go-live check reports what it reads)."""
    record = system.customers.get(inputs["CUSTOMERNO"])
    rows = (
        []
        if record is None
        else [
            shaped(
                "BAPIKNVVKY",
                {"CUSTOMER": record.number, "SALESORG": organization, "DISTRCHN": channel, "DIVISION": division},
            )
            for organization, channel, division in sorted(record.sales_areas)
        ]
    )
    if not rows:
        said = {"TYPE": "E", "CODE": "QC160", "MESSAGE": "No sales data was found"}
        return {"RETURN": shaped("BAPIRETURN", said), "SALESAREAS": []}
    return {"RETURN": shaped("BAPIRETURN", {"TYPE": "S"}), "SALESAREAS": rows}


def find(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    """BAPI_CUSTOMER_FIND over KNA1, answering SELOPT_TAB (echoed), RESULT_TAB and RETURN (BAPIRETURN1).

    Two things the published interface leaves open, so each simulated system picks (SimulatedSap):
    * `find_rows`: "and" gives one row per customer matching every criterion (the first criterion
      echoed); "per_criterion" searches each criterion on its own and gives one row per (criterion,
      customer), the criterion echoed, so a customer matching two criteria appears twice. Which one
      SAP does is U (BAPIKNA111 echoing the criterion per row suggests the second; the only public
      caller, tactusoft's CustomerExecute.find, sends a single KNA1 row, where the two agree).
    * `find_no_match`: "nothing found" as one RESULT_TAB row with TYPE E and no customer (what
      tactusoft's caller tests: RESULT_TAB[0].CUSTOMER empty, TYPE "E"), in RETURN with RESULT_TAB empty,
      or not at all (both empty). Which one a given release does is U. A bad selection (unknown field,
      no criteria) is said in RESULT_TAB in the first case and in RETURN otherwise.
    MAX_CNT cuts RESULT_TAB after that many rows (0: no limit), whatever the rows name."""
    criteria = inputs["SELOPT_TAB"]
    answer: dict[str, Any] = {"SELOPT_TAB": criteria, "RESULT_TAB": [], "RETURN": blank("BAPIRETURN1")}
    if not criteria:
        return _find_says(system, answer, message_row("search_criteria_missing"))
    searchable = set(CustomerRecord("", "", {}).kna1())
    for row in criteria:
        if row["TABNAME"] != "KNA1" or row["FIELDNAME"] not in searchable:
            return _find_says(system, answer, message_row("search_field_unknown", row["TABNAME"], row["FIELDNAME"]))
    wildcards = inputs["PL_HOLD"] == "X"
    limit = inputs["MAX_CNT"]
    views = [(number, system.customers[number].kna1()) for number in sorted(system.customers)]
    if system.find_rows == FIND_ROWS_AND:
        hits = [
            (criteria[0], number, view)
            for number, view in views
            if all(_matches(view[row["FIELDNAME"]], row["FIELDVALUE"], wildcards) for row in criteria)
        ]
    else:
        hits = [
            (row, number, view)
            for row in criteria
            for number, view in views
            if _matches(view[row["FIELDNAME"]], row["FIELDVALUE"], wildcards)
        ]
    answer["RESULT_TAB"] = [
        shaped(
            "BAPIKNA111",
            {
                "CUSTOMER": number,
                "TABNAME": "KNA1",
                "FIELDNAME": row["FIELDNAME"],
                "FIELDVALUE": view[row["FIELDNAME"]],
                "TYPE": "S",
            },
        )
        for row, number, view in (hits[:limit] if limit else hits)
    ]
    if answer["RESULT_TAB"] or system.find_no_match == FIND_NO_MATCH_EMPTY:
        return answer
    message_class, number = system.find_no_match_message
    return _find_says(system, answer, {**message_row("no_customer_found"), "ID": message_class, "NUMBER": number})


def message_row(key: str, *variables: str) -> dict[str, Any]:
    """A catalogue message as BAPIRETURN1's fields (BAPIKNA111 has all of them)."""
    return message("BAPIRETURN1", key, *variables)


def _find_says(system: SystemState, answer: dict[str, Any], said: dict[str, Any]) -> dict[str, Any]:
    if system.find_no_match == FIND_NO_MATCH_IN_RESULT_TAB:
        answer["RESULT_TAB"] = [shaped("BAPIKNA111", said)]
    else:
        answer["RETURN"] = said
    return answer


def _matches(stored: str, wanted: str, wildcards: bool) -> bool:
    if not wildcards or ("*" not in wanted and "+" not in wanted):
        return stored == wanted
    # SAP's placeholders: '*' any string, '+' one character; everything else literal.
    pattern = "".join(".*" if c == "*" else "." if c == "+" else re.escape(c) for c in wanted)
    return re.fullmatch(pattern, stored) is not None


# --------------------------------------------------------------------------- LUW


def commit(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    pending, session.pending = session.pending, []
    changes, session.changes = session.changes, []
    if system.faults.should_fire("commit_failure"):
        system.counters["rollbacks"] += 1
        return {"RETURN": message("BAPIRET2", "update_terminated")}
    # One write for the whole LUW (with a state file: one SQLite transaction, on disk before COMMIT answers).
    # A change writes only the fields it flagged, onto the record as committed now (changes.py).
    written = {record.number: record for record in pending}
    for number, fields in changes:
        current = written.get(number) or system.customers.get(number)
        if current is not None:
            written[number] = changed_record(current, fields)
    system.customers.update(written)
    system.counters["commits"] += 1
    system.counters["committed_customers"] += len(pending)
    system.counters["committed_changes"] += len(changes)
    return {"RETURN": blank("BAPIRET2")}


def changed_record(record: CustomerRecord, fields: dict[str, str]) -> CustomerRecord:
    """`record` with the address fields written ("" clears one: the address keeps no empty values)."""
    address = {**record.address, **fields}
    return replace(record, address={name: value for name, value in address.items() if value})


def rollback(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    session.pending = []
    session.changes = []
    system.counters["rollbacks"] += 1
    return {"RETURN": blank("BAPIRET2")}


def ping(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return {}


def system_info(system: SystemState, session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    """RFC_SYSTEM_INFO: the simulator says what it is (no release of SAP's), so a report never mistakes it."""
    return {
        "RFCSI_EXPORT": shaped(
            "RFCSI",
            {"RFCHOST": "sapsim", "RFCSYSID": "SIM", "RFCDBSYS": "SIMULATOR", "RFCSAPRL": "SIM"},
            system.structures,
        )
    }


FUNCTIONS: dict[str, Callable[[SystemState, Session, dict[str, Any]], dict[str, Any]]] = {
    "RFC_PING": ping,
    "RFC_SYSTEM_INFO": system_info,
    "BAPI_CUSTOMER_CREATEFROMDATA1": create_from_data1,
    "BAPI_CUSTOMER_GETDETAIL2": get_detail2,
    "BAPI_CUSTOMER_GETSALESAREAS": get_sales_areas,
    "BAPI_CUSTOMER_FIND": find,
    "BAPI_TRANSACTION_COMMIT": commit,
    "BAPI_TRANSACTION_ROLLBACK": rollback,
}
