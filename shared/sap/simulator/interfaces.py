"""Function module interfaces (as SE37 shows them) and pyrfc's checks when it fills parameters.

What pyrfc does before a call reaches SAP, mirrored here so mistakes surface in tests as they would
against a real system (see SAP/PyRFC tests/test_errors.py and _cyrfc.pyx fillVariable):
* unknown parameter or field name -> ExternalRuntimeError, code 20, key RFC_INVALID_PARAMETER,
  message "field 'NAME' not found";
* a structure that is not a dict / a table that is not a list -> TypeError with pyrfc's arguments;
* a CHAR value that is not a str -> TypeError('an string is required, received', ...);
* a CHAR value longer than its field -> ExternalRuntimeError, code 23, key RFC_BUFFER_TOO_SMALL (the
  NW RFC SDK refuses it in RfcSetChars; the simulator's message text is its own).
Values are stored right-trimmed, as ABAP CHAR fields hold no trailing blanks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.sap.simulator.errors import ExternalRuntimeError

Field = tuple[str, int]  # (ABAP type: C char, N numeric text, I integer, length)


def _c(length: int) -> Field:
    return ("C", length)


def _n(length: int) -> Field:
    return ("N", length)


_I: Field = ("I", 4)

STRUCTURES: dict[str, dict[str, Field]] = {
    # PI_PERSONALDATA
    "BAPIKNA101_1": {
        "TITLE_P": _c(30), "FIRSTNAME": _c(35), "LASTNAME": _c(35), "MIDDLENAME": _c(35), "DATE_BIRTH": _c(8),
        "CITY": _c(35), "DISTRICT": _c(35), "POSTL_COD1": _c(10), "STREET": _c(35), "HOUSE_NO": _c(10),
        "COUNTRY": _c(3), "COUNTRYISO": _c(2), "REGION": _c(3), "LANGU_P": _c(1), "LANGUP_ISO": _c(2),
        "CURRENCY": _c(5), "CURRENCY_ISO": _c(3), "TEL1_NUMBR": _c(30), "E_MAIL": _c(241),
    },
    # PI_COMPANYDATA
    "BAPIKNA106": {
        "FORM_OF_AD": _c(15), "NAME": _c(35), "NAME_2": _c(35), "NAME_3": _c(35), "NAME_4": _c(35),
        "CITY": _c(35), "DISTRICT": _c(35), "PO_BOX": _c(10), "POBX_PCD": _c(10), "POSTL_COD1": _c(10),
        "STREET": _c(35), "HOUSE_NO": _c(10), "COUNTRY": _c(3), "COUNTRYISO": _c(2), "REGION": _c(3),
        "LANGU": _c(1), "LANGU_ISO": _c(2), "CURRENCY": _c(5), "CURRENCY_ISO": _c(3), "TEL1_NUMBR": _c(30),
        "TEL1_EXT": _c(10), "FAX_NUMBER": _c(30), "FAX_EXTENS": _c(10), "E_MAIL": _c(241),
        "SORT1": _c(20), "SORT2": _c(20),
    },
    # PI_OPT_COMPANYDATA
    "BAPIKNA105": {
        "TRANSPZONE": _c(10), "CONTROL_ACCOUNT": _c(10), "PMNTTRMS": _c(4), "SHIP_COND": _c(2),
        "DELYG_PLNT": _c(4), "PART_DLV": _c(1), "C_CTR_AREA": _c(4), "TAXJURCODE": _c(15),
    },
    # PI_COPYREFERENCE
    "BAPIKNA102": {"SALESORG": _c(4), "DISTR_CHAN": _c(2), "DIVISION": _c(2), "REF_CUSTMR": _c(10)},
    "BAPIRETURN1": {
        "TYPE": _c(1), "ID": _c(20), "NUMBER": _n(3), "MESSAGE": _c(220), "LOG_NO": _c(20), "LOG_MSG_NO": _n(6),
        "MESSAGE_V1": _c(50), "MESSAGE_V2": _c(50), "MESSAGE_V3": _c(50), "MESSAGE_V4": _c(50),
    },
    "BAPIRET2": {
        "TYPE": _c(1), "ID": _c(20), "NUMBER": _n(3), "MESSAGE": _c(220), "LOG_NO": _c(20), "LOG_MSG_NO": _n(6),
        "MESSAGE_V1": _c(50), "MESSAGE_V2": _c(50), "MESSAGE_V3": _c(50), "MESSAGE_V4": _c(50),
        "PARAMETER": _c(32), "ROW": _I, "FIELD": _c(30), "SYSTEM": _c(10),
    },
    "BAPICUSTOMER_04": {
        "CUSTOMER": _c(10), "FORM_OF_AD": _c(15), "NAME": _c(35), "NAME_2": _c(35), "NAME_3": _c(35),
        "NAME_4": _c(35), "CITY": _c(35), "DISTRICT": _c(35), "POSTL_COD1": _c(10), "STREET": _c(35),
        "COUNTRY": _c(3), "COUNTRYISO": _c(2), "REGION": _c(3), "LANGU": _c(1), "LANGU_ISO": _c(2),
        "TELEPHONE1": _c(30), "FAX_NUMBER": _c(30), "CURRENCY": _c(5), "CURRENCY_ISO": _c(3),
        "SORT1": _c(20), "SORT2": _c(20), "E_MAIL": _c(241),
    },
    "BAPICUSTOMER_KNA1": {
        "ACCNT_GRP": _c(4), "CREATED_ON": _c(8), "CREATED_BY": _c(12), "TRANSPZONE": _c(10),
        "TAXJURCODE": _c(15), "SORT_TERM": _c(10), "CENTRAL_DEL_FLAG": _c(1),
    },
    "BAPICUSTOMER_COMPANYDATA": {
        "COMP_CODE": _c(4), "RECONC_ACCT": _c(10), "PMNTTRMS": _c(4), "CURRENCY": _c(5), "CREATED_ON": _c(8),
    },
    "BAPICUSTOMER_BANKDETAIL": {"BANK_CTRY": _c(3), "BANK_KEY": _c(15), "BANK_ACCT": _c(18)},
    "BAPIKNVVKY": {"CUSTOMER": _c(10), "SALESORG": _c(4), "DISTRCHN": _c(2), "DIVISION": _c(2)},
    # BAPI_CUSTOMER_FIND's selection and result rows
    "BAPICUSTOMER_IDRANGE": {"COMP_CODE": _c(4), "TABNAME": _c(30), "FIELDNAME": _c(30), "FIELDVALUE": _c(70)},
    "BAPICUSTOMER_FIND_RESULT": {"CUSTOMER": _c(10), "TABNAME": _c(30), "FIELDNAME": _c(30), "FIELDVALUE": _c(70)},
}


@dataclass(frozen=True)
class Parameter:
    direction: str  # IMPORT, EXPORT, TABLES
    field_type: Field | None = None  # scalar parameters
    structure: str | None = None  # structures and table rows
    is_table: bool = False


def _import(field_type: Field) -> Parameter:
    return Parameter("IMPORT", field_type=field_type)


def _import_structure(structure: str) -> Parameter:
    return Parameter("IMPORT", structure=structure)


def _export_structure(structure: str) -> Parameter:
    return Parameter("EXPORT", structure=structure)


def _table(structure: str) -> Parameter:
    return Parameter("TABLES", structure=structure, is_table=True)


INTERFACES: dict[str, dict[str, Parameter]] = {
    "RFC_PING": {},
    "BAPI_CUSTOMER_CREATEFROMDATA1": {
        "PI_PERSONALDATA": _import_structure("BAPIKNA101_1"),
        "PI_COMPANYDATA": _import_structure("BAPIKNA106"),
        "PI_OPT_PERSONALDATA": _import_structure("BAPIKNA105"),
        "PI_OPT_COMPANYDATA": _import_structure("BAPIKNA105"),
        "PI_COPYREFERENCE": _import_structure("BAPIKNA102"),
        "PI_CREDIT_CONTROL_FLAG": _import(_c(1)),
        "CUSTOMERNO": Parameter("EXPORT", field_type=_c(10)),
        "RETURN": _export_structure("BAPIRETURN1"),
    },
    "BAPI_CUSTOMER_GETDETAIL2": {
        "CUSTOMERNO": _import(_c(10)),
        "COMPANYCODE": _import(_c(4)),
        "CUSTOMERADDRESS": _export_structure("BAPICUSTOMER_04"),
        "CUSTOMERGENERALDETAIL": _export_structure("BAPICUSTOMER_KNA1"),
        "CUSTOMERCOMPANYDETAIL": _export_structure("BAPICUSTOMER_COMPANYDATA"),
        "RETURN": _export_structure("BAPIRET2"),
        "CUSTOMERBANKDETAIL": _table("BAPICUSTOMER_BANKDETAIL"),
    },
    "BAPI_CUSTOMER_GETSALESAREAS": {
        "CUSTOMERNO": _import(_c(10)),
        "RETURN": _export_structure("BAPIRETURN1"),
        "SALESAREAS": _table("BAPIKNVVKY"),
    },
    "BAPI_CUSTOMER_FIND": {
        "MAX_CNT": _import(_I),
        "PL_HOLD": _import(_c(1)),
        "RETURN": _export_structure("BAPIRETURN1"),
        "SELOPT_TAB": _table("BAPICUSTOMER_IDRANGE"),
        "RESULT_TAB": _table("BAPICUSTOMER_FIND_RESULT"),
    },
    "BAPI_TRANSACTION_COMMIT": {"WAIT": _import(_c(1)), "RETURN": _export_structure("BAPIRET2")},
    "BAPI_TRANSACTION_ROLLBACK": {"RETURN": _export_structure("BAPIRET2")},
}


def _field_not_found(name: str) -> ExternalRuntimeError:
    return ExternalRuntimeError(f"field '{name}' not found", 20, "RFC_INVALID_PARAMETER")


def _fill_value(field_type: Field, value: Any, names: tuple[str, ...]) -> Any:
    abap_type, length = field_type
    if abap_type == "I":
        if type(value) is not int:
            raise TypeError("an integer required, received", value, "of type", type(value), *names)
        return value
    if not isinstance(value, str):
        raise TypeError("an string is required, received", value, "of type", type(value), *names)
    if abap_type == "N" and value and not value.isdigit():
        raise TypeError("a numeric string is required, received", value, "of type", type(value), *names)
    if len(value) > length:
        raise ExternalRuntimeError(
            f"Value of length {len(value)} does not fit into field {names[0]} of length {length}",
            23, "RFC_BUFFER_TOO_SMALL",
        )
    return value.rstrip()


def _fill_structure(structure: str, value: Any, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("dictionary required for structure parameter, received", str(type(value)), *names)
    fields = STRUCTURES[structure]
    filled = blank(structure)
    for field_name, field_value in value.items():
        if field_name not in fields:
            raise _field_not_found(field_name)
        filled[field_name] = _fill_value(fields[field_name], field_value, (field_name, *names))
    return filled


def fill_parameters(function_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The call's parameters checked as pyrfc fills them; every IMPORT/TABLES parameter present."""
    interface = INTERFACES[function_name]
    filled: dict[str, Any] = {}
    for name, parameter in interface.items():
        if parameter.direction == "TABLES":
            filled[name] = []
        elif parameter.direction == "IMPORT":
            filled[name] = blank(parameter.structure) if parameter.structure else _initial(parameter.field_type)
    for name, value in params.items():
        parameter = interface.get(name)
        if parameter is None:
            raise _field_not_found(name)
        if parameter.is_table:
            if not isinstance(value, list):
                raise TypeError("list required for table parameter, received", str(type(value)), name)
            filled[name] = [_fill_structure(str(parameter.structure), row, (name,)) for row in value]
        elif parameter.structure:
            filled[name] = _fill_structure(parameter.structure, value, (name,))
        else:
            assert parameter.field_type is not None
            filled[name] = _fill_value(parameter.field_type, value, (name,))
    return filled


def _initial(field_type: Field | None) -> Any:
    assert field_type is not None
    abap_type, length = field_type
    if abap_type == "I":
        return 0
    return "0" * length if abap_type == "N" else ""


def blank(structure: str) -> dict[str, Any]:
    """A structure with every field initial, as pyrfc returns one SAP did not fill."""
    return {name: _initial(field_type) for name, field_type in STRUCTURES[structure].items()}


def shaped(structure: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A full structure: `values` over the initial ones (unknown names are a simulator bug)."""
    row = blank(structure)
    unknown = set(values) - set(row)
    if unknown:
        raise KeyError(f"{structure} has no fields {sorted(unknown)}")
    row.update(values)
    return row
