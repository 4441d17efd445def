"""The RFC gateway's interface self-check: before the first create, the function descriptions of every
function module the gateway calls (`get_function_description`) are read and each parameter and field it
sends or reads (`REQUIRED_INTERFACE`) is held against them. pyrfc refuses an unknown field, and silently
truncates an over-long CHAR value, so the CHAR lengths the mapping shortens to come from this metadata too.
The gateway (shared/sap/rfc.py) runs the check inside one of its units of work and keeps the answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from shared.core.mapping import COMPANY_DATA_FIELDS, COPY_REFERENCE_FIELDS
from shared.sap.bapi_return import MESSAGE_FIELDS
from shared.sap.errors import SapInterfaceMismatch
from shared.sap.port import SapInterface

logger = logging.getLogger(__name__)

# Every function module, parameter and field the gateway sends or reads. The metadata check holds
# each one against the live system; nothing else is ever sent.
REQUIRED_INTERFACE: dict[str, dict[str, tuple[str, ...]]] = {
    "BAPI_CUSTOMER_CREATEFROMDATA1": {
        "PI_PERSONALDATA": (),
        "PI_COMPANYDATA": COMPANY_DATA_FIELDS,
        "PI_OPT_COMPANYDATA": (),
        "PI_COPYREFERENCE": COPY_REFERENCE_FIELDS,
        "CUSTOMERNO": (),
        "RETURN": MESSAGE_FIELDS,
    },
    "BAPI_TRANSACTION_COMMIT": {"WAIT": (), "RETURN": MESSAGE_FIELDS},
    "BAPI_TRANSACTION_ROLLBACK": {"RETURN": MESSAGE_FIELDS},
    "BAPI_CUSTOMER_FIND": {
        "MAX_CNT": (),
        "PL_HOLD": (),
        "SELOPT_TAB": ("TABNAME", "FIELDNAME", "FIELDVALUE"),
        "RESULT_TAB": ("CUSTOMER", *MESSAGE_FIELDS),
        "RETURN": MESSAGE_FIELDS,
    },
    # The change path (issue 26; shared/sap/rfc_change.py): only fields the mapping fills are ever flagged.
    "BAPI_CUSTOMER_CHANGEFROMDATA1": {
        "CUSTOMERNO": (),
        "PI_PERSONALDATA": (),
        "PI_PERSONALDATAX": (),
        "PI_COMPANYDATA": COMPANY_DATA_FIELDS,
        "PI_COMPANYDATAX": COMPANY_DATA_FIELDS,
        "PI_SALESORG": (),
        "PI_DISTR_CHAN": (),
        "PI_DIVISION": (),
        "RETURN": MESSAGE_FIELDS,
    },
    "BAPI_CUSTOMER_GETDETAIL1": {
        "CUSTOMERNO": (),
        "PI_SALESORG": (),
        "PI_DISTR_CHAN": (),
        "PI_DIVISION": (),
        "PE_COMPANYDATA": COMPANY_DATA_FIELDS,
        "RETURN": MESSAGE_FIELDS,
    },
    "BAPI_CUSTOMER_GETSALESAREAS": {
        "CUSTOMERNO": (),
        "SALESAREAS": ("SALESORG", "DISTRCHN", "DIVISION"),
    },
    "BAPI_CUSTOMER_GETDETAIL2": {
        "CUSTOMERNO": (),
        "CUSTOMERADDRESS": ("NAME", "NAME_2", "NAME_3", "NAME_4", "CITY", "POSTL_CODE", "STREET", "COUNTRY"),
        "CUSTOMERGENERALDETAIL": ("CREAT_DATE", "ENTERED_BY"),
        "RETURN": MESSAGE_FIELDS,
    },
}


def read_interface(describe: Callable[[str], Any]) -> SapInterface:
    """Hold REQUIRED_INTERFACE against the descriptions `describe(function_name)` answers (pyrfc's
    FunctionDescription, or SapInterfaceMismatch for a function module the system lacks); SapInterfaceMismatch
    for a missing parameter or field, else the CHAR lengths of PI_COMPANYDATA."""
    lengths: dict[str, int] = {}
    for function_name, parameters in REQUIRED_INTERFACE.items():
        description = describe(function_name)
        declared = {str(parameter["name"]): parameter for parameter in description.parameters}
        for parameter_name, field_names in parameters.items():
            parameter = declared.get(parameter_name)
            if parameter is None:
                raise SapInterfaceMismatch(
                    f"{function_name} has no parameter {parameter_name} in this SAP "
                    "system; this release is not supported as configured"
                )
            fields = {str(f["name"]): f for f in _fields_of(parameter)}
            for field_name in field_names:
                if field_name not in fields:
                    raise SapInterfaceMismatch(
                        f"{function_name} parameter {parameter_name} has no field {field_name} in this SAP "
                        "system; nothing is sent until the mapping and the release agree"
                    )
            if function_name == "BAPI_CUSTOMER_CREATEFROMDATA1" and parameter_name == "PI_COMPANYDATA":
                lengths = {
                    name: _char_units(field)
                    for name, field in fields.items()
                    if field.get("field_type") == "RFCTYPE_CHAR"
                }
    logger.info("SAP interface checked against the live metadata", extra={"functions": len(REQUIRED_INTERFACE)})
    return SapInterface(company_data_lengths=lengths)


def _fields_of(parameter: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    description = parameter.get("type_description")
    return list(getattr(description, "fields", []) or [])


def _char_units(field: Mapping[str, Any]) -> int:
    # uc_length is the field's size in bytes of UTF-16 (pyrfc's TypeDescription), i.e. 2 per code unit.
    return int(field.get("uc_length", 0)) // 2
