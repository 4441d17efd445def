"""Function module interfaces (as SE37 shows them) and what pyrfc 3.4 does when it fills parameters.

Why one module of this length: it is the DDIC of the simulated system (structures and interfaces, each
with where it comes from) and the metadata pyrfc reports from it; both must agree field for field.

Where each fact comes from (V = verified against a published source, U = unverified):
* BAPIKNA106 (PI_COMPANYDATA): the 33 field names and their order, V: classes generated from a live
  ERP's WSDL in the public repository luisurbinanet/tactusoft-svn (`affinityWebServices/src/com/
  tactusoft/webservice/client/objects/Bapikna106.java`). Lengths U: SAP's published total is 841;
  the lengths below (central address data elements, e.g. NAME 40, STREET 60) add up to 871, so at
  least one is wrong. That is why the rfc adapter never trusts this table: it reads the live
  system's metadata (`get_function_description`) and takes its lengths from there.
* BAPIKNA105 (PI_OPT_COMPANYDATA): the 8 field names, V (same source, Bapikna105.java); lengths U.
* BAPIKNA102 (PI_COPYREFERENCE): names V (Bapikna102.java); lengths of the keys VKORG 4, VTWEG 2,
  SPART 2, KUNNR 10 are the standard domains, U here.
* BAPIKNA110 (BAPI_CUSTOMER_FIND SELOPT_TAB): COMP_CODE C4, TABNAME C30, FIELDNAME C30, FIELDVALUE
  C132, V (Bapikna110.java and the project's issue 7 review). BAPIKNA111 (RESULT_TAB): names V,
  lengths of the message fields U (taken from BAPIRET2).
* BAPIRETURN1 (CREATEFROMDATA1 RETURN) and BAPIRET1 (GETDETAIL2 RETURN): TYPE, ID, NUMBER, MESSAGE,
  LOG_NO, LOG_MSG_NO, MESSAGE_V1..V4, names V (Bapiret1.java, Bapireturn1.java). BAPIRETURN
  (GETSALESAREAS RETURN) has CODE instead of ID/NUMBER, V (Bapireturn.java).
* BAPICUSTOMER_04 (GETDETAIL2 CUSTOMERADDRESS): POSTL_CODE, TELEPHONE, SORT_FLD, MATCHCODE1..3 and
  no currency or e-mail, V (issue 7 review); the other names listed are U. BAPICUSTOMER_KNA1
  (CUSTOMERGENERALDETAIL): CUSTOMER, ADDRESS, CREAT_DATE, ENTERED_BY, ACCNT_GRP, TAXJURCODE,
  CURRENCY, CURRENCY_ISO, DEL_FLAG_G, PSTG_BLK_G are a subset of the names in BapicustomerKna1.java
  (V as names, their SAP spelling derived from the Java names, U); the structure has about a
  hundred more fields that the simulator leaves out.
* BAPI_CUSTOMER_FIND's scalar parameters MAX_CNT and PL_HOLD, and that it has no RETURN parameter
  (messages arrive as RESULT_TAB rows), U.
* BAPIRET2, BAPIKNA101_1, BAPICUSTOMER_COMPANYDATA, BAPICUSTOMER_BANKDETAIL, BAPIKNVVKY: U.

What pyrfc 3.4 does before a call reaches SAP (SAP/PyRFC `src/pyrfc/_cyrfc.pyx` fillVariable and
`tests/test_errors.py`; pyrfcx's README lists the same as "pyrfc 3.4 quirks that the drop-in keeps"):
* unknown parameter or field name -> ExternalRuntimeError, code 20, key RFC_INVALID_PARAMETER,
  message "field 'NAME' not found";
* a structure that is not a dict / a table that is not a list -> TypeError;
* a CHAR value that is not a str -> TypeError('an string is required, received', ...);
* a CHAR value longer than its field is **truncated by the SDK, without an error**; length counts
  UTF-16 code units (RfcSetChars gets strlenU of the UTF-16 value). Where a cut would split a
  surrogate pair the simulator drops the whole character (what the SDK does there is U).
Values are stored right-trimmed, as ABAP CHAR fields hold no trailing blanks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.sap_lengths import longest_prefix_within, utf16_units
from shared.sap.simulator.errors import ExternalRuntimeError

Field = tuple[str, int]  # (ABAP type: C char, N numeric text, D date, I integer, length in characters)
Structures = Mapping[str, Mapping[str, Field]]


def _c(length: int) -> Field:
    return ("C", length)


def _n(length: int) -> Field:
    return ("N", length)


_I: Field = ("I", 4)
_D: Field = ("D", 8)

_MESSAGE_FIELDS: dict[str, Field] = {
    "TYPE": _c(1), "ID": _c(20), "NUMBER": _n(3), "MESSAGE": _c(220), "LOG_NO": _c(20), "LOG_MSG_NO": _n(6),
    "MESSAGE_V1": _c(50), "MESSAGE_V2": _c(50), "MESSAGE_V3": _c(50), "MESSAGE_V4": _c(50),
}

STRUCTURES: dict[str, dict[str, Field]] = {
    # PI_PERSONALDATA (the simulator refuses personal data; kept so the parameter exists)
    "BAPIKNA101_1": {
        "TITLE_P": _c(30), "FIRSTNAME": _c(35), "LASTNAME": _c(35), "MIDDLENAME": _c(35), "DATE_BIRTH": _c(8),
        "CITY": _c(35), "DISTRICT": _c(35), "POSTL_COD1": _c(10), "STREET": _c(35), "HOUSE_NO": _c(10),
        "COUNTRY": _c(3), "COUNTRYISO": _c(2), "REGION": _c(3), "LANGU_P": _c(1), "LANGUP_ISO": _c(2),
        "CURRENCY": _c(5), "CURRENCY_ISO": _c(3), "TEL1_NUMBR": _c(30), "E_MAIL": _c(241),
    },
    # PI_COMPANYDATA: the 33 published fields in their published order (lengths U, see above).
    "BAPIKNA106": {
        "TITLE": _c(30), "TITLE_KEY": _c(4), "NAME": _c(40), "NAME_2": _c(40), "NAME_3": _c(40),
        "NAME_4": _c(40), "C_O_NAME": _c(40), "CITY": _c(40), "DISTRICT": _c(40), "CITY_NO": _c(12),
        "POSTL_COD1": _c(10), "POSTL_COD2": _c(10), "POSTL_COD3": _c(10), "PO_BOX": _c(10),
        "PO_BOX_CIT": _c(40), "DELIV_DIS": _c(15), "STREET": _c(60), "HOUSE_NO": _c(10), "BUILDING": _c(20),
        "FLOOR": _c(10), "ROOM_NO": _c(10), "COUNTRY": _c(3), "LANGU": _c(1), "REGION": _c(3),
        "TEL1_NUMBR": _c(30), "TEL1_EXT": _c(10), "FAX_NUMBER": _c(30), "FAX_EXTENS": _c(10),
        "E_MAIL": _c(241), "COUNTRYISO": _c(2), "LANGU_ISO": _c(2), "CURRENCY": _c(5), "CURRENCY_ISO": _c(3),
    },
    # PI_OPT_COMPANYDATA (and PI_OPT_PERSONALDATA): the 8 published fields.
    "BAPIKNA105": {
        "TRANSPZONE": _c(10), "CONTROL_ACCOUNT": _c(10), "PMNTTRMS": _c(4), "SHIP_COND": _c(2),
        "DELYG_PLNT": _c(4), "PART_DLV": _c(1), "C_CTR_AREA": _c(4), "TAXJURCODE": _c(15),
    },
    # PI_COPYREFERENCE
    "BAPIKNA102": {"SALESORG": _c(4), "DISTR_CHAN": _c(2), "DIVISION": _c(2), "REF_CUSTMR": _c(10)},
    "BAPIRETURN1": dict(_MESSAGE_FIELDS),
    "BAPIRET1": dict(_MESSAGE_FIELDS),
    "BAPIRETURN": {
        "TYPE": _c(1), "CODE": _c(5), "MESSAGE": _c(220), "LOG_NO": _c(20), "LOG_MSG_NO": _n(6),
        "MESSAGE_V1": _c(50), "MESSAGE_V2": _c(50), "MESSAGE_V3": _c(50), "MESSAGE_V4": _c(50),
    },
    "BAPIRET2": {**_MESSAGE_FIELDS, "PARAMETER": _c(32), "ROW": _I, "FIELD": _c(30), "SYSTEM": _c(10)},
    "BAPICUSTOMER_04": {
        "CUSTOMER": _c(10), "TITLE": _c(15), "NAME": _c(35), "NAME_2": _c(35), "NAME_3": _c(35),
        "NAME_4": _c(35), "CITY": _c(35), "DISTRICT": _c(35), "POSTL_CODE": _c(10), "STREET": _c(35),
        "COUNTRY": _c(3), "COUNTRYISO": _c(2), "REGION": _c(3), "LANGU": _c(1), "LANGU_ISO": _c(2),
        "TELEPHONE": _c(16), "TELEPHONE2": _c(16), "FAX_NUMBER": _c(31), "SORT_FLD": _c(10),
        "MATCHCODE1": _c(25), "MATCHCODE2": _c(35), "MATCHCODE3": _c(35),
    },
    "BAPICUSTOMER_KNA1": {
        "CUSTOMER": _c(10), "ADDRESS": _c(10), "CREAT_DATE": _D, "ENTERED_BY": _c(12), "ACCNT_GRP": _c(4),
        "TAXJURCODE": _c(15), "CURRENCY": _c(5), "CURRENCY_ISO": _c(3), "DEL_FLAG_G": _c(1),
        "PSTG_BLK_G": _c(1),
    },
    "BAPICUSTOMER_COMPANYDATA": {
        "COMP_CODE": _c(4), "RECONC_ACCT": _c(10), "PMNTTRMS": _c(4), "CURRENCY": _c(5), "CREATED_ON": _D,
    },
    "BAPICUSTOMER_BANKDETAIL": {"BANK_CTRY": _c(3), "BANK_KEY": _c(15), "BANK_ACCT": _c(18)},
    "BAPIKNVVKY": {"CUSTOMER": _c(10), "SALESORG": _c(4), "DISTRCHN": _c(2), "DIVISION": _c(2)},
    # BAPI_CUSTOMER_FIND's selection and result rows
    "BAPIKNA110": {"COMP_CODE": _c(4), "TABNAME": _c(30), "FIELDNAME": _c(30), "FIELDVALUE": _c(132)},
    "BAPIKNA111": {
        "COMP_CODE": _c(4), "TABNAME": _c(30), "FIELDNAME": _c(30), "FIELDVALUE": _c(132), "CUSTOMER": _c(10),
        "PSTG_BLK_G": _c(1), "PSTG_BLK_C": _c(1), "DEL_FLAG_G": _c(1), "DEL_FLAG_C": _c(1),
        **_MESSAGE_FIELDS,
    },
}


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
    "BAPI_CUSTOMER_CREATEFROMDATA1": {
        "PI_PERSONALDATA": _import_structure("BAPIKNA101_1"),
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
        "CUSTOMERCOMPANYDETAIL": _export_structure("BAPICUSTOMER_COMPANYDATA"),
        "RETURN": _export_structure("BAPIRET1"),
        "CUSTOMERBANKDETAIL": _table("BAPICUSTOMER_BANKDETAIL"),
    },
    "BAPI_CUSTOMER_GETSALESAREAS": {
        "CUSTOMERNO": _import(_c(10), optional=False),
        "RETURN": _export_structure("BAPIRETURN"),
        "SALESAREAS": _table("BAPIKNVVKY"),
    },
    "BAPI_CUSTOMER_FIND": {
        "MAX_CNT": _import(_I),
        "PL_HOLD": _import(_c(1)),
        "SELOPT_TAB": _table("BAPIKNA110", optional=False),
        "RESULT_TAB": _table("BAPIKNA111"),
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


def _fill_value(field_type: Field, value: Any, names: tuple[str, ...], truncations: Truncations | None) -> Any:
    abap_type, length = field_type
    if abap_type == "I":
        if type(value) is not int:
            raise TypeError("an integer required, received", value, "of type", type(value), *names)
        return value
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


def _fill_structure(structures: Structures, structure: str, value: Any, names: tuple[str, ...],
                    truncations: Truncations | None) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("dictionary required for structure parameter, received", str(type(value)), *names)
    fields = structures[structure]
    filled = blank(structure, structures)
    for field_name, field_value in value.items():
        if field_name not in fields:
            raise _field_not_found(field_name)
        filled[field_name] = _fill_value(fields[field_name], field_value, (field_name, *names), truncations)
    return filled


def fill_parameters(function_name: str, params: Mapping[str, Any], structures: Structures = STRUCTURES,
                    truncations: Truncations | None = None) -> dict[str, Any]:
    """The call's parameters checked as pyrfc fills them; every IMPORT/TABLES parameter present."""
    interface = INTERFACES[function_name]
    filled: dict[str, Any] = {}
    for name, parameter in interface.items():
        if parameter.direction == "TABLES":
            filled[name] = []
        elif parameter.direction == "IMPORT":
            filled[name] = (blank(parameter.structure, structures) if parameter.structure
                            else _initial(parameter.field_type))
    for name, value in params.items():
        parameter = interface.get(name)
        if parameter is None:
            raise _field_not_found(name)
        if parameter.is_table:
            if not isinstance(value, list):
                raise TypeError("list required for table parameter, received", str(type(value)), name)
            filled[name] = [_fill_structure(structures, str(parameter.structure), row, (name,), truncations)
                            for row in value]
        elif parameter.structure:
            filled[name] = _fill_structure(structures, parameter.structure, value, (name,), truncations)
        else:
            assert parameter.field_type is not None
            filled[name] = _fill_value(parameter.field_type, value, (name,), truncations)
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

    def add_field(self, name: str, field_type: str, nuc_length: int, uc_length: int, nuc_offset: int,
                  uc_offset: int, decimals: int = 0, type_description: TypeDescription | None = None) -> None:
        self.fields.append({"name": name, "field_type": field_type, "nuc_length": nuc_length,
                            "nuc_offset": nuc_offset, "uc_length": uc_length, "uc_offset": uc_offset,
                            "decimals": decimals, "type_description": type_description})

    def __repr__(self) -> str:
        return (f"<TypeDescription '{self.name}' with {len(self.fields)} fields "
                f"(n/uclength={self.nuc_length}/{self.uc_length})>")


class FunctionDescription:
    """pyrfc's FunctionDescription: name and `parameters`, a list of dicts with name, parameter_type,
    direction, nuc_length, uc_length, decimals, default_value, parameter_text, optional,
    type_description (SAP/PyRFC `_cyrfc.pyx` FunctionDescription.add_parameter)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parameters: list[dict[str, Any]] = []

    def add_parameter(self, name: str, parameter_type: str, direction: str, nuc_length: int, uc_length: int,
                      decimals: int = 0, default_value: str = "", parameter_text: str = "", optional: bool = False,
                      type_description: TypeDescription | None = None) -> None:
        self.parameters.append({"name": name, "parameter_type": parameter_type, "direction": direction,
                                "nuc_length": nuc_length, "uc_length": uc_length, "decimals": decimals,
                                "default_value": default_value, "parameter_text": parameter_text,
                                "optional": optional, "type_description": type_description})

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
            description.add_parameter(name, "RFCTYPE_TABLE" if parameter.is_table else "RFCTYPE_STRUCTURE",
                                      _DIRECTIONS[parameter.direction], row.nuc_length, row.uc_length,
                                      optional=parameter.optional, type_description=row)
        else:
            assert parameter.field_type is not None
            nuc, uc = _lengths(parameter.field_type)
            description.add_parameter(name, _RFC_TYPES[parameter.field_type[0]], _DIRECTIONS[parameter.direction],
                                      nuc, uc, optional=parameter.optional)
    return description
