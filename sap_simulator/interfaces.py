"""Function module interfaces (as SE37 shows them) and what pyrfc 3.4 does when it fills parameters.

Why one module of this length: it is the DDIC of the simulated system (structures and interfaces, each
with where it comes from) and the metadata pyrfc reports from it; both must agree field for field.

Where each fact comes from (V = verified against a published source, U = unverified). Field names
in the SOAP classes below are SAP's "mc-style" spelling (an underscore becomes the next letter's capital:
PobxPcd = POBX_PCD, Formofaddr = FORMOFADDR), so the ABAP names follow from them.
* Sources: [TS] luisurbinanet/tactusoft-svn, `affinityWebServices/src/com/tactusoft/webservice/client/`
  (classes generated from a live ERP's WSDL: `objects/*.java`, and `locators/Zfi_customers2_BindingStub.java`
  for the parameters, their structures and which may be omitted); [HMH] praveen4students/hmh_backup,
  `enterprise-web-services-camel/src/main/java/hmh/sap/rfc/` (JCo proxies generated from release 620's
  repository: `Bapi_Customer_Find_Input.java`, `Bapi_Customer_Find_Output.java`, `Bapikna111Type.java`,
  `Bapireturn1Type.java`, each field with its length and offset); [ST] stechno.net's function pages
  BAPI_CUSTOMER_GETDETAIL1 and BAPI_CUSTOMER_CHANGEFROMDATA1 (parameter structures and total lengths).
* BAPIKNA106 (PI_COMPANYDATA): the 33 field names and their order, V [TS] Bapikna106.java. Total 841, V
  [ST]; the lengths below (central address data elements, e.g. NAME 40, STREET 60) add up to 871, so at
  least one is wrong (U). That is why the rfc adapter never trusts this table: it reads the live
  system's metadata (`get_function_description`) and takes its lengths from there.
* BAPIKNA105 (PI_OPT_COMPANYDATA): the 8 field names, V [TS] Bapikna105.java; total 50, V [ST] (the
  lengths below add up to 50; each one U).
* BAPIKNA102 (PI_COPYREFERENCE): names V [TS] Bapikna102.java; lengths of the keys VKORG 4, VTWEG 2,
  SPART 2, KUNNR 10 are the standard domains, U here.
* BAPIKNA101_1 (PI_PERSONALDATA): the 31 names in their order, V [TS] Bapikna1011.java (ONLY_CHANGE_COMADDRESS
  also in [ST] CHANGEFROMDATA1's documentation; its X structure BAPIKNA101_1X has 30 one-character flags,
  [ST]). Total 803, V [ST] (GETDETAIL1 PE_PERSONALDATA, CHANGEFROMDATA1 PI_PERSONALDATA). The single
  lengths (names 40, CITY 40, STREET 60, TEL1_NUMBR 30, E_MAIL 241: the central address data elements)
  are U one by one, but they add up to exactly 803.
* BAPIKNA110 (SELOPT_TAB) and BAPIKNA111 (RESULT_TAB): names, order, types and lengths V [HMH]
  Bapikna110Type.java / Bapikna111Type.java (also [TS] Bapikna110.java). BAPIKNA111 echoes the criterion
  (TABNAME, FIELDNAME, FIELDVALUE) in every result row and has COMP_CODE and company-code flags: that
  suggests one result row per criterion (or per company code), not one per customer; U (see find()).
* BAPIRETURN1: TYPE C1, ID C20, NUMBER N3, MESSAGE C220, LOG_NO C20, LOG_MSG_NO N6, MESSAGE_V1..V4 C50,
  V [HMH] Bapireturn1Type.java; total 470, V [ST]. BAPIRET1 (GETDETAIL2 RETURN): the same names, V [TS]
  Bapiret1.java, lengths U (taken from BAPIRETURN1). BAPIRETURN (GETSALESAREAS RETURN) has CODE instead of
  ID/NUMBER, V [TS] Bapireturn.java.
* BAPI_CUSTOMER_FIND: MAX_CNT INT4 (optional, default 0) and PL_HOLD CHAR1 (optional, default SPACE),
  SELOPT_TAB and RESULT_TAB tables, not optional, and an export RETURN of type BAPIRETURN1, V [HMH]
  Bapi_Customer_Find_Input/Output.java and [TS] the CustomerFind operation.
* BAPI_CUSTOMER_CREATEFROMDATA1: PI_PERSONALDATA (BAPIKNA101_1) and PI_COPYREFERENCE may not be omitted,
  PI_COMPANYDATA, PI_OPT_*, PI_CONSUMEREN, PI_CREDIT_CONTROL_FLAG may, V [TS] the CustomerCreateFromData1
  operation. What SAP does when a caller leaves a non-optional import out over RFC (pyrfc sends nothing
  for it) is U; the adapter never relies on it (the simulator fills every import with its initial value).
* BAPI_CUSTOMER_GETDETAIL2: CUSTOMERADDRESS is BAPICUSTOMER_04, CUSTOMERCOMPANYDETAIL is BAPICUSTOMER_05,
  CUSTOMERBANKDETAIL rows are BAPICUSTOMER_02, CUSTOMERGENERALDETAIL is BAPICUSTOMER_KNA1, RETURN is
  BAPIRET1, V [TS] the CustomerGetDetail2 operation. BAPICUSTOMER_04: the 31 names, V [TS]
  Bapicustomer04.java (FORMOFADDR, not TITLE; no FAX_NUMBER, no E_MAIL, no currency); lengths U (KNA1's
  column widths: NAME1..4, ORT01, STRAS 35, TELF1 16, ...). BAPICUSTOMER_05: the 15 names, V [TS]
  Bapicustomer05.java (no reconciliation account); lengths U (KNB1's columns). BAPICUSTOMER_02: the 8
  names, V [TS] Bapicustomer02.java; lengths U (KNBK's columns). BAPICUSTOMER_KNA1: CUSTOMER, ADDRESS,
  CREAT_DATE, ENTERED_BY, ACCNT_GRP, TAXJURCODE, CURRENCY, CURRENCY_ISO, DEL_FLAG_G, PSTG_BLK_G are a subset
  of the names in [TS] BapicustomerKna1.java (V as names); the structure has about a hundred more fields
  that the simulator leaves out.
* BAPIRET2, BAPIKNVVKY: U.
* BAPI_CUSTOMER_CHANGEFROMDATA1 (issue 26): CUSTOMERNO C10, PI_SALESORG C4 and PI_PERSONALDATA required;
  PI_PERSONALDATAX, PI_COMPANYDATA(X), PI_OPT_COMPANYDATA(X), PI_OPT_PERSONALDATA(X), PI_DISTR_CHAN C2,
  PI_DIVISION C2 optional; RETURN BAPIRETURN1, V [ST] (CHANGEFROMDATA1's page; [TS] the CustomerChangeFromData1
  operation agrees but lists PI_PERSONALDATAX as not omittable: the gateway sends it, initial). BAPIKNA106X:
  one CHAR1 flag per BAPIKNA106 field, the same 33 names in the same order, V [TS] Bapikna106X.java, total 33
  V [ST]. BAPIKNA105X: total 8, V [ST]; one flag per BAPIKNA105 name is U. BAPIKNA101_1X: total 30, V [ST];
  its names are U (the simulator gives one flag per BAPIKNA101_1 field but DATE_BIRTH; [TS]'s caller flags
  ONLY_CHANGE_COMADDRESS, FIRSTNAME, LASTNAME, STREET, E_MAIL, TEL1_NUMBR, so those are V).
* BAPI_CUSTOMER_GETDETAIL1 (the change path's read): CUSTOMERNO C10 and PI_SALESORG C4 required, PI_DISTR_CHAN
  and PI_DIVISION optional; exports PE_COMPANYDATA BAPIKNA106, PE_OPT_COMPANYDATA, PE_OPT_PERSONALDATA(_NEW)
  BAPIKNA105, PE_PERSONALDATA(_NEW) BAPIKNA101_1, PE_CONSUMER_FLAG C1, RETURN BAPIRETURN1, V [ST]
  (GETDETAIL1's page) and [TS] the CustomerGetDetail1 operation. PE_ADDRESSTYPE_NO (BAPIKNA109) is left out
  here (nothing reads it). GETDETAIL2 answers no BAPIKNA106 (its CUSTOMERADDRESS is BAPICUSTOMER_04, KNA1's
  35-character columns, no house number, no e-mail): so the change path reads GETDETAIL1.

What pyrfc 3.4 does before a call reaches SAP (SAP/PyRFC `src/pyrfc/_cyrfc.pyx` fillVariable and
`tests/test_errors.py`; pyrfcx's README lists the same as "pyrfc 3.4 quirks that the drop-in keeps"):
* unknown parameter or field name -> ExternalRuntimeError, code 20, key RFC_INVALID_PARAMETER,
  message "field 'NAME' not found";
* a structure that is not a dict / a table that is not a list -> TypeError;
* a CHAR value that is not a str -> TypeError('an string is required, received', ...);
* a DATE value that is neither a datetime.date nor a str -> TypeError('date value required, received', ...);
  with the connection's config check_date (default True) a str must also have 8 characters and, unless
  blank, be a valid YYYYMMDD date (check_time likewise for TIME, which no simulated field has);
* a CHAR value longer than its field is **truncated by the SDK, without an error**; length counts
  UTF-16 code units (RfcSetChars gets strlenU of the UTF-16 value). Where a cut would split a
  surrogate pair the simulator drops the whole character (what the SDK does there is U).
Values are stored right-trimmed, as ABAP CHAR fields hold no trailing blanks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sap_simulator.errors import ExternalRuntimeError
from shared.core.sap_lengths import longest_prefix_within, utf16_units

Field = tuple[str, int]  # (ABAP type: C char, N numeric text, D date, I integer, length in characters)
Structures = Mapping[str, Mapping[str, Field]]


def _c(length: int) -> Field:
    return ("C", length)


def _n(length: int) -> Field:
    return ("N", length)


_I: Field = ("I", 4)
_D: Field = ("D", 8)

_MESSAGE_FIELDS: dict[str, Field] = {
    "TYPE": _c(1),
    "ID": _c(20),
    "NUMBER": _n(3),
    "MESSAGE": _c(220),
    "LOG_NO": _c(20),
    "LOG_MSG_NO": _n(6),
    "MESSAGE_V1": _c(50),
    "MESSAGE_V2": _c(50),
    "MESSAGE_V3": _c(50),
    "MESSAGE_V4": _c(50),
}

STRUCTURES: dict[str, dict[str, Field]] = {
    # PI_PERSONALDATA: 31 fields, 803 characters in all [TS] [ST] (the simulator refuses personal data; the
    # parameter exists because SAP's interface has it and it may not be omitted).
    "BAPIKNA101_1": {
        "TITLE_P": _c(30),
        "FIRSTNAME": _c(40),
        "LASTNAME": _c(40),
        "MIDDLENAME": _c(40),
        "SECONDNAME": _c(40),
        "DATE_BIRTH": _D,
        "CITY": _c(40),
        "DISTRICT": _c(40),
        "POSTL_COD1": _c(10),
        "POSTL_COD2": _c(10),
        "PO_BOX": _c(10),
        "PO_BOX_CIT": _c(40),
        "STREET": _c(60),
        "HOUSE_NO": _c(10),
        "BUILDING": _c(20),
        "FLOOR": _c(10),
        "ROOM_NO": _c(10),
        "COUNTRY": _c(3),
        "COUNTRYISO": _c(2),
        "REGION": _c(3),
        "TEL1_NUMBR": _c(30),
        "TEL1_EXT": _c(10),
        "FAX_NUMBER": _c(30),
        "FAX_EXTENS": _c(10),
        "E_MAIL": _c(241),
        "LANGU_P": _c(1),
        "LANGUP_ISO": _c(2),
        "CURRENCY": _c(5),
        "CURRENCY_ISO": _c(3),
        "TITLE_KEY": _c(4),
        "ONLY_CHANGE_COMADDRESS": _c(1),
    },
    # PI_COMPANYDATA: the 33 published fields in their published order (lengths U, see above).
    "BAPIKNA106": {
        "TITLE": _c(30),
        "TITLE_KEY": _c(4),
        "NAME": _c(40),
        "NAME_2": _c(40),
        "NAME_3": _c(40),
        "NAME_4": _c(40),
        "C_O_NAME": _c(40),
        "CITY": _c(40),
        "DISTRICT": _c(40),
        "CITY_NO": _c(12),
        "POSTL_COD1": _c(10),
        "POSTL_COD2": _c(10),
        "POSTL_COD3": _c(10),
        "PO_BOX": _c(10),
        "PO_BOX_CIT": _c(40),
        "DELIV_DIS": _c(15),
        "STREET": _c(60),
        "HOUSE_NO": _c(10),
        "BUILDING": _c(20),
        "FLOOR": _c(10),
        "ROOM_NO": _c(10),
        "COUNTRY": _c(3),
        "LANGU": _c(1),
        "REGION": _c(3),
        "TEL1_NUMBR": _c(30),
        "TEL1_EXT": _c(10),
        "FAX_NUMBER": _c(30),
        "FAX_EXTENS": _c(10),
        "E_MAIL": _c(241),
        "COUNTRYISO": _c(2),
        "LANGU_ISO": _c(2),
        "CURRENCY": _c(5),
        "CURRENCY_ISO": _c(3),
    },
    # PI_COMPANYDATAX: one flag per BAPIKNA106 field [TS] Bapikna106X.java, 33 characters [ST].
    "BAPIKNA106X": {},  # filled below from BAPIKNA106
    # PI_PERSONALDATAX: 30 flags [ST]; the names are U (see above).
    "BAPIKNA101_1X": {},  # filled below from BAPIKNA101_1
    # PI_OPT_COMPANYDATAX / PI_OPT_PERSONALDATAX: 8 flags [ST]; the names U.
    "BAPIKNA105X": {},  # filled below from BAPIKNA105
    # PI_OPT_COMPANYDATA (and PI_OPT_PERSONALDATA): the 8 published fields.
    "BAPIKNA105": {
        "TRANSPZONE": _c(10),
        "CONTROL_ACCOUNT": _c(10),
        "PMNTTRMS": _c(4),
        "SHIP_COND": _c(2),
        "DELYG_PLNT": _c(4),
        "PART_DLV": _c(1),
        "C_CTR_AREA": _c(4),
        "TAXJURCODE": _c(15),
    },
    # PI_COPYREFERENCE
    "BAPIKNA102": {"SALESORG": _c(4), "DISTR_CHAN": _c(2), "DIVISION": _c(2), "REF_CUSTMR": _c(10)},
    "BAPIRETURN1": dict(_MESSAGE_FIELDS),
    "BAPIRET1": dict(_MESSAGE_FIELDS),
    "BAPIRETURN": {
        "TYPE": _c(1),
        "CODE": _c(5),
        "MESSAGE": _c(220),
        "LOG_NO": _c(20),
        "LOG_MSG_NO": _n(6),
        "MESSAGE_V1": _c(50),
        "MESSAGE_V2": _c(50),
        "MESSAGE_V3": _c(50),
        "MESSAGE_V4": _c(50),
    },
    "BAPIRET2": {**_MESSAGE_FIELDS, "PARAMETER": _c(32), "ROW": _I, "FIELD": _c(30), "SYSTEM": _c(10)},
    # GETDETAIL2 CUSTOMERADDRESS: the 31 published names in their published order [TS]; lengths U.
    "BAPICUSTOMER_04": {
        "CUSTOMER": _c(10),
        "NAME": _c(35),
        "NAME_2": _c(35),
        "NAME_3": _c(35),
        "NAME_4": _c(35),
        "CITY": _c(35),
        "DISTRICT": _c(35),
        "PO_BOX": _c(10),
        "POBX_PCD": _c(10),
        "POSTL_CODE": _c(10),
        "REGION": _c(3),
        "COUNTYCODE": _c(3),
        "CITY_CODE": _c(4),
        "STREET": _c(35),
        "TELEPHONE": _c(16),
        "COUNTRY": _c(3),
        "COUNTRYISO": _c(2),
        "POBX_CTY": _c(3),
        "LANGU": _c(1),
        "LANGU_ISO": _c(2),
        "SORT_FLD": _c(10),
        "MATCHCODE1": _c(25),
        "MATCHCODE2": _c(35),
        "MATCHCODE3": _c(35),
        "FORMOFADDR": _c(15),
        "TELEBOX": _c(15),
        "TELEPHONE2": _c(16),
        "TELETEX": _c(30),
        "TELEX": _c(30),
        "TRANSPZONE": _c(10),
        "NIELSEN_ID": _c(2),
    },
    "BAPICUSTOMER_KNA1": {
        "CUSTOMER": _c(10),
        "ADDRESS": _c(10),
        "CREAT_DATE": _D,
        "ENTERED_BY": _c(12),
        "ACCNT_GRP": _c(4),
        "TAXJURCODE": _c(15),
        "CURRENCY": _c(5),
        "CURRENCY_ISO": _c(3),
        "DEL_FLAG_G": _c(1),
        "PSTG_BLK_G": _c(1),
    },
    # GETDETAIL2 CUSTOMERCOMPANYDETAIL: the 15 published names [TS] (no reconciliation account); lengths U.
    "BAPICUSTOMER_05": {
        "CUSTOMER": _c(10),
        "COMP_CODE": _c(4),
        "CLERK": _c(2),
        "HD_OFFICE": _c(10),
        "ALT_PAYER": _c(10),
        "CUVD_CLEAR": _c(1),
        "PMNTTRMS": _c(4),
        "ACT_AT_CUS": _c(12),
        "CUST_USER": _c(15),
        "NEXT_PAYEE": _c(10),
        "BUYING_GRP": _c(10),
        "INTERNET": _c(130),
        "FAX": _c(31),
        "PAYMENT_METHODS": _c(10),
        "TEL": _c(30),
    },
    # GETDETAIL2 CUSTOMERBANKDETAIL rows: the 8 published names [TS]; lengths U.
    "BAPICUSTOMER_02": {
        "CUSTOMER": _c(10),
        "BANK_CTRY": _c(3),
        "BANK_KEY": _c(15),
        "BANK_ACCT": _c(18),
        "CTRL_KEY": _c(2),
        "PARTNER_BK": _c(4),
        "COLL_AUTH": _c(1),
        "BANK_REF": _c(20),
    },
    "BAPIKNVVKY": {"CUSTOMER": _c(10), "SALESORG": _c(4), "DISTRCHN": _c(2), "DIVISION": _c(2)},
    # RFC_SYSTEM_INFO's RFCSI_EXPORT: the fields the go-live check reads, names as public pyrfc and JCo callers
    # read them (code search for RFCSI_EXPORT, issue 24); lengths and RFCSI's other fields U.
    "RFCSI": {"RFCHOST": _c(8), "RFCSYSID": _c(8), "RFCDBHOST": _c(32), "RFCDBSYS": _c(10), "RFCSAPRL": _c(4)},
    # BAPI_CUSTOMER_FIND's selection and result rows [HMH]
    "BAPIKNA110": {"COMP_CODE": _c(4), "TABNAME": _c(30), "FIELDNAME": _c(30), "FIELDVALUE": _c(132)},
    "BAPIKNA111": {
        "COMP_CODE": _c(4),
        "TABNAME": _c(30),
        "FIELDNAME": _c(30),
        "FIELDVALUE": _c(132),
        "CUSTOMER": _c(10),
        "PSTG_BLK_G": _c(1),
        "PSTG_BLK_C": _c(1),
        "DEL_FLAG_G": _c(1),
        "DEL_FLAG_C": _c(1),
        **_MESSAGE_FIELDS,
    },
}

STRUCTURES["BAPIKNA106X"] = dict.fromkeys(STRUCTURES["BAPIKNA106"], _c(1))
STRUCTURES["BAPIKNA101_1X"] = {name: _c(1) for name in STRUCTURES["BAPIKNA101_1"] if name != "DATE_BIRTH"}
STRUCTURES["BAPIKNA105X"] = dict.fromkeys(STRUCTURES["BAPIKNA105"], _c(1))


@dataclass(frozen=True)
class Parameter:
    direction: str  # IMPORT, EXPORT, TABLES (pyrfc names them RFC_IMPORT, RFC_EXPORT, RFC_TABLES)
    field_type: Field | None = None  # scalar parameters
    structure: str | None = None  # structures and table rows
    is_table: bool = False
    optional: bool = True


def _import(field_type: Field, optional: bool = True) -> Parameter:
    return Parameter("IMPORT", field_type=field_type, optional=optional)


def _import_structure(structure: str, optional: bool = True) -> Parameter:
    return Parameter("IMPORT", structure=structure, optional=optional)


def _export_structure(structure: str) -> Parameter:
    return Parameter("EXPORT", structure=structure)


def _table(structure: str, optional: bool = True) -> Parameter:
    return Parameter("TABLES", structure=structure, is_table=True, optional=optional)


INTERFACES: dict[str, dict[str, Parameter]] = {
    "RFC_PING": {},
    "RFC_SYSTEM_INFO": {"RFCSI_EXPORT": _export_structure("RFCSI")},
    "BAPI_CUSTOMER_CREATEFROMDATA1": {
        "PI_PERSONALDATA": _import_structure("BAPIKNA101_1", optional=False),
        "PI_OPT_PERSONALDATA": _import_structure("BAPIKNA105"),
        "PI_COMPANYDATA": _import_structure("BAPIKNA106"),
        "PI_OPT_COMPANYDATA": _import_structure("BAPIKNA105"),
        "PI_CONSUMEREN": _import(_c(1)),
        "PI_COPYREFERENCE": _import_structure("BAPIKNA102", optional=False),
        "PI_CREDIT_CONTROL_FLAG": _import(_c(1)),
        "CUSTOMERNO": Parameter("EXPORT", field_type=_c(10)),
        "RETURN": _export_structure("BAPIRETURN1"),
    },
    "BAPI_CUSTOMER_GETDETAIL2": {
        "CUSTOMERNO": _import(_c(10), optional=False),
        "COMPANYCODE": _import(_c(4)),
        "CUSTOMERADDRESS": _export_structure("BAPICUSTOMER_04"),
        "CUSTOMERGENERALDETAIL": _export_structure("BAPICUSTOMER_KNA1"),
        "CUSTOMERCOMPANYDETAIL": _export_structure("BAPICUSTOMER_05"),
        "RETURN": _export_structure("BAPIRET1"),
        "CUSTOMERBANKDETAIL": _table("BAPICUSTOMER_02"),
    },
    "BAPI_CUSTOMER_CHANGEFROMDATA1": {
        "CUSTOMERNO": _import(_c(10), optional=False),
        "PI_PERSONALDATA": _import_structure("BAPIKNA101_1", optional=False),
        "PI_PERSONALDATAX": _import_structure("BAPIKNA101_1X"),
        "PI_OPT_PERSONALDATA": _import_structure("BAPIKNA105"),
        "PI_OPT_PERSONALDATAX": _import_structure("BAPIKNA105X"),
        "PI_COMPANYDATA": _import_structure("BAPIKNA106"),
        "PI_COMPANYDATAX": _import_structure("BAPIKNA106X"),
        "PI_OPT_COMPANYDATA": _import_structure("BAPIKNA105"),
        "PI_OPT_COMPANYDATAX": _import_structure("BAPIKNA105X"),
        "PI_SALESORG": _import(_c(4), optional=False),
        "PI_DISTR_CHAN": _import(_c(2)),
        "PI_DIVISION": _import(_c(2)),
        "RETURN": _export_structure("BAPIRETURN1"),
    },
    "BAPI_CUSTOMER_GETDETAIL1": {
        "CUSTOMERNO": _import(_c(10), optional=False),
        "PI_SALESORG": _import(_c(4), optional=False),
        "PI_DISTR_CHAN": _import(_c(2)),
        "PI_DIVISION": _import(_c(2)),
        "PE_COMPANYDATA": _export_structure("BAPIKNA106"),
        "PE_OPT_COMPANYDATA": _export_structure("BAPIKNA105"),
        "PE_PERSONALDATA": _export_structure("BAPIKNA101_1"),
        "PE_OPT_PERSONALDATA": _export_structure("BAPIKNA105"),
        "PE_PERSONALDATA_NEW": _export_structure("BAPIKNA101_1"),
        "PE_OPT_PERSONALDATA_NEW": _export_structure("BAPIKNA105"),
        "PE_CONSUMER_FLAG": Parameter("EXPORT", field_type=_c(1)),
        "RETURN": _export_structure("BAPIRETURN1"),
    },
    "BAPI_CUSTOMER_GETSALESAREAS": {
        "CUSTOMERNO": _import(_c(10), optional=False),
        "RETURN": _export_structure("BAPIRETURN"),
        "SALESAREAS": _table("BAPIKNVVKY"),
    },
    "BAPI_CUSTOMER_FIND": {
        "MAX_CNT": _import(_I),
        "PL_HOLD": _import(_c(1)),
        "RETURN": _export_structure("BAPIRETURN1"),
        "SELOPT_TAB": _table("BAPIKNA110", optional=False),
        "RESULT_TAB": _table("BAPIKNA111", optional=False),
    },
    "BAPI_TRANSACTION_COMMIT": {"WAIT": _import(_c(1)), "RETURN": _export_structure("BAPIRET2")},
    "BAPI_TRANSACTION_ROLLBACK": {"RETURN": _export_structure("BAPIRET2")},
}


# --------------------------------------------------------------------------- filling (pyrfc's checks)


def _field_not_found(name: str) -> ExternalRuntimeError:
    return ExternalRuntimeError(f"field '{name}' not found", 20, "RFC_INVALID_PARAMETER")


class Truncations:
    """Counts the values the SDK cut to fit (the simulator's way to make a silent loss visible to tests)."""

    def __init__(self) -> None:
        self.fields: list[str] = []


def _fill_date(value: Any, check_date: bool) -> str:
    """pyrfc 3.4's RFCTYPE_DATE filling (SAP/PyRFC `_cyrfc.pyx` fillVariable): a date, or a str that
    with config check_date (the default) must be 8 characters and, unless blank, a real YYYYMMDD date."""
    if not value:
        return ""
    if type(value) is date:
        return f"{value.year:04}{value.month:02}{value.day:02}"
    try:
        if type(value) is not str:
            raise ValueError(value)
        if check_date:
            if len(value) != 8:
                raise ValueError(value)
            if value.strip():
                date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise TypeError("date value required, received", value, "of type", type(value)) from None
    return value


def _fill_value(
    field_type: Field, value: Any, names: tuple[str, ...], truncations: Truncations | None, check_date: bool = True
) -> Any:
    abap_type, length = field_type
    if abap_type == "I":
        if type(value) is not int:
            raise TypeError("an integer required, received", value, "of type", type(value), *names)
        return value
    if abap_type == "D":
        return _fill_date(value, check_date)
    if not isinstance(value, str):
        raise TypeError("an string is required, received", value, "of type", type(value), *names)
    if abap_type == "N" and value and not value.isdigit():
        raise TypeError("a numeric string is required, received", value, "of type", type(value), *names)
    if utf16_units(value) > length:
        # pyrfc 3.4 / the NW RFC SDK: no error, the value is cut to the field.
        value = longest_prefix_within(value, length)
        if truncations is not None:
            truncations.fields.append("-".join(reversed(names)))
    return value.rstrip()


def _fill_structure(
    structures: Structures,
    structure: str,
    value: Any,
    names: tuple[str, ...],
    truncations: Truncations | None,
    check_date: bool = True,
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("dictionary required for structure parameter, received", str(type(value)), *names)
    fields = structures[structure]
    filled = blank(structure, structures)
    for field_name, field_value in value.items():
        if field_name not in fields:
            raise _field_not_found(field_name)
        filled[field_name] = _fill_value(fields[field_name], field_value, (field_name, *names), truncations, check_date)
    return filled


def fill_parameters(
    function_name: str,
    params: Mapping[str, Any],
    structures: Structures = STRUCTURES,
    truncations: Truncations | None = None,
    check_date: bool = True,
) -> dict[str, Any]:
    """The call's parameters checked as pyrfc fills them; every IMPORT/TABLES parameter present.
    `check_date`: the connection's config option of that name (pyrfc 3.4; default True)."""
    interface = INTERFACES[function_name]
    filled: dict[str, Any] = {}
    for name, parameter in interface.items():
        if parameter.direction == "TABLES":
            filled[name] = []
        elif parameter.direction == "IMPORT":
            filled[name] = (
                blank(parameter.structure, structures) if parameter.structure else _initial(parameter.field_type)
            )
    for name, value in params.items():
        parameter = interface.get(name)
        if parameter is None:
            raise _field_not_found(name)
        if parameter.is_table:
            if not isinstance(value, list):
                raise TypeError("list required for table parameter, received", str(type(value)), name)
            filled[name] = [
                _fill_structure(structures, str(parameter.structure), row, (name,), truncations, check_date)
                for row in value
            ]
        elif parameter.structure:
            filled[name] = _fill_structure(structures, parameter.structure, value, (name,), truncations, check_date)
        else:
            assert parameter.field_type is not None
            filled[name] = _fill_value(parameter.field_type, value, (name,), truncations, check_date)
    return filled


def _initial(field_type: Field | None) -> Any:
    assert field_type is not None
    abap_type, length = field_type
    if abap_type == "I":
        return 0
    return "0" * length if abap_type == "N" else ""


class StructureTable(dict[str, dict[str, Field]]):
    """The structures of one simulated system, with each blank row made once and copied after.

    pyrfc fills its containers in C from type descriptions it caches per connection; a dozen blank rows
    of up to 40 fields built in Python on every call cost the app's side of each create about 0.1 ms
    that the real SDK does not (bench/overhead.py times only RfcInvoke as SAP's). The table is never
    changed after the system is made (tests derive new ones), so its blank rows cannot go stale."""

    def __init__(self, structures: Structures) -> None:
        super().__init__({name: dict(fields) for name, fields in structures.items()})
        self.blank_rows: dict[str, dict[str, Any]] = {}


def blank(structure: str, structures: Structures = STRUCTURES) -> dict[str, Any]:
    """A structure with every field initial, as pyrfc returns one SAP did not fill."""
    rows = _DEFAULT_BLANK_ROWS if structures is STRUCTURES else getattr(structures, "blank_rows", None)
    if rows is None:
        return _blank(structure, structures)
    row = rows.get(structure)
    if row is None:
        row = rows[structure] = _blank(structure, structures)
    return dict(row)  # every initial value is a str or an int: a shallow copy is a new row


def _blank(structure: str, structures: Structures) -> dict[str, Any]:
    return {name: _initial(field_type) for name, field_type in structures[structure].items()}


# Blank rows of the published STRUCTURES (module constant, never changed: tests copy it to vary it).
_DEFAULT_BLANK_ROWS: dict[str, dict[str, Any]] = {}


def shaped(structure: str, values: Mapping[str, Any], structures: Structures = STRUCTURES) -> dict[str, Any]:
    """A full structure: `values` over the initial ones (unknown names are a simulator bug)."""
    row = blank(structure, structures)
    unknown = set(values) - set(row)
    if unknown:
        raise KeyError(f"{structure} has no fields {sorted(unknown)}")
    row.update(values)
    return row


# --------------------------------------------------------------------------- metadata (pyrfc's shape)

# RfcFieldType names as pyrfc reports them (FunctionDescription.parameters[i]["parameter_type"]).
_RFC_TYPES = {"C": "RFCTYPE_CHAR", "N": "RFCTYPE_NUM", "D": "RFCTYPE_DATE", "I": "RFCTYPE_INT"}
_DIRECTIONS = {"IMPORT": "RFC_IMPORT", "EXPORT": "RFC_EXPORT", "TABLES": "RFC_TABLES"}


class TypeDescription:
    """pyrfc's TypeDescription: name, nuc_length, uc_length and `fields`, a list of dicts with name,
    field_type, nuc_length, nuc_offset, uc_length, uc_offset, decimals, type_description
    (SAP/PyRFC `_cyrfc.pyx` TypeDescription.add_field and wrapTypeDescription)."""

    def __init__(self, name: str, nuc_length: int, uc_length: int) -> None:
        self.name = name
        self.nuc_length = nuc_length
        self.uc_length = uc_length
        self.fields: list[dict[str, Any]] = []

    def add_field(
        self,
        name: str,
        field_type: str,
        nuc_length: int,
        uc_length: int,
        nuc_offset: int,
        uc_offset: int,
        decimals: int = 0,
        type_description: TypeDescription | None = None,
    ) -> None:
        self.fields.append(
            {
                "name": name,
                "field_type": field_type,
                "nuc_length": nuc_length,
                "nuc_offset": nuc_offset,
                "uc_length": uc_length,
                "uc_offset": uc_offset,
                "decimals": decimals,
                "type_description": type_description,
            }
        )

    def __repr__(self) -> str:
        return (
            f"<TypeDescription '{self.name}' with {len(self.fields)} fields "
            f"(n/uclength={self.nuc_length}/{self.uc_length})>"
        )


class FunctionDescription:
    """pyrfc's FunctionDescription: name and `parameters`, a list of dicts with name, parameter_type,
    direction, nuc_length, uc_length, decimals, default_value, parameter_text, optional,
    type_description (SAP/PyRFC `_cyrfc.pyx` FunctionDescription.add_parameter)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parameters: list[dict[str, Any]] = []

    def add_parameter(
        self,
        name: str,
        parameter_type: str,
        direction: str,
        nuc_length: int,
        uc_length: int,
        decimals: int = 0,
        default_value: str = "",
        parameter_text: str = "",
        optional: bool = False,
        type_description: TypeDescription | None = None,
    ) -> None:
        self.parameters.append(
            {
                "name": name,
                "parameter_type": parameter_type,
                "direction": direction,
                "nuc_length": nuc_length,
                "uc_length": uc_length,
                "decimals": decimals,
                "default_value": default_value,
                "parameter_text": parameter_text,
                "optional": optional,
                "type_description": type_description,
            }
        )

    def __repr__(self) -> str:
        return f"<FunctionDescription '{self.name}' with {len(self.parameters)} params>"


def _lengths(field_type: Field) -> tuple[int, int]:
    """(nuc_length, uc_length) in bytes: a CHAR/NUMC/DATE character is 1 byte non-Unicode, 2 in Unicode."""
    abap_type, length = field_type
    if abap_type == "I":
        return 4, 4
    return length, 2 * length


def type_description(structure: str, structures: Structures = STRUCTURES) -> TypeDescription:
    fields = structures[structure]
    nuc_total = sum(_lengths(field_type)[0] for field_type in fields.values())
    uc_total = sum(_lengths(field_type)[1] for field_type in fields.values())
    description = TypeDescription(structure, nuc_total, uc_total)
    nuc_offset = uc_offset = 0
    for name, field_type in fields.items():
        nuc, uc = _lengths(field_type)
        description.add_field(name, _RFC_TYPES[field_type[0]], nuc, uc, nuc_offset, uc_offset)
        nuc_offset += nuc
        uc_offset += uc
    return description


def function_description(function_name: str, structures: Structures = STRUCTURES) -> FunctionDescription:
    """What RfcGetFunctionDesc reports for one function module (KeyError when it does not exist)."""
    description = FunctionDescription(function_name)
    for name, parameter in INTERFACES[function_name].items():
        if parameter.structure is not None:
            row = type_description(parameter.structure, structures)
            description.add_parameter(
                name,
                "RFCTYPE_TABLE" if parameter.is_table else "RFCTYPE_STRUCTURE",
                _DIRECTIONS[parameter.direction],
                row.nuc_length,
                row.uc_length,
                optional=parameter.optional,
                type_description=row,
            )
        else:
            assert parameter.field_type is not None
            nuc, uc = _lengths(parameter.field_type)
            description.add_parameter(
                name,
                _RFC_TYPES[parameter.field_type[0]],
                _DIRECTIONS[parameter.direction],
                nuc,
                uc,
                optional=parameter.optional,
            )
    return description
