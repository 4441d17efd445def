"""The change path over RFC (issue 26): what the RFC gateway (shared/sap/rfc.py) sends to change a customer and
to read what SAP holds, inside one of its units of work.

* The change: BAPI_CUSTOMER_CHANGEFROMDATA1 with CUSTOMERNO, PI_COMPANYDATA (BAPIKNA106) and PI_COMPANYDATAX
  (BAPIKNA106X: one CHAR1 flag per BAPIKNA106 field; only flagged fields change), PI_SALESORG (required),
  PI_DISTR_CHAN, PI_DIVISION; RETURN BAPIRETURN1 (stechno.net's page of the function; luisurbinanet/
  tactusoft-svn affinityWebServices/src/com/tactusoft/webservice/client/objects/Bapikna106X.java and
  locators/Zfi_customers2_BindingStub.java, the CustomerChangeFromData1 operation). Then
  BAPI_TRANSACTION_COMMIT WAIT=X on the same session, as for the create. PI_PERSONALDATA may not be omitted
  ([ST], [TS]): it is sent initial, with PI_PERSONALDATAX initial, so the BAPI reads company data only
  ("only one filled structure (personal OR company data)", [ST]).
* The read: BAPI_CUSTOMER_GETDETAIL1's PE_COMPANYDATA (BAPIKNA106, from central address management; stechno.net's
  page of the function). Not GETDETAIL2: its CUSTOMERADDRESS is BAPICUSTOMER_04 (KNA1's 35-character columns,
  no house number, no e-mail), which cannot be compared with what the change sends. GETDETAIL1 requires
  PI_SALESORG; the read takes the customer's first sales area from BAPI_CUSTOMER_GETSALESAREAS (the address is
  central, the same in every sales area; what GETDETAIL1 does with a sales area the customer is not in is U, so
  it is never asked one). A customer without sales data is asked with a blank one.
* RETURN type E or A of either BAPI is SAP's rejection (SapBusinessRejection with SAP's message): an unknown
  customer, a sales area the customer is not in, an invalid value. What a real system says for an unknown
  customer is U (the simulator: E F2 502 "Debtor &1 does not exist", SAP's message for it in
  BAPI_CUSTOMER_EXISTENCECHECK's documentation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.core.change_models import CustomerChange, SapCustomerSnapshot
from shared.core.sap_lengths import utf16_units
from shared.sap.bapi_return import ERROR_TYPES, messages_of
from shared.sap.errors import SapBusinessRejection, SapPermanentError
from shared.sap.port import SapMessage

RfcCall = Callable[..., dict[str, Any]]

CHANGE_FUNCTION = "BAPI_CUSTOMER_CHANGEFROMDATA1"
READ_FUNCTION = "BAPI_CUSTOMER_GETDETAIL1"
SALES_AREAS_FUNCTION = "BAPI_CUSTOMER_GETSALESAREAS"
FLAGGED = "X"


def company_data_x(company_data: Mapping[str, str]) -> dict[str, str]:
    """PI_COMPANYDATAX for `company_data`: an X for each field the change names (a value "" clears the field,
    so it is flagged too), nothing else: SAP changes only flagged fields."""
    return dict.fromkeys(company_data, FLAGGED)


def change_parameters(change: CustomerChange, customer_number: str) -> dict[str, Any]:
    """The import parameters of CHANGEFROMDATA1 for `change` (`customer_number` padded as KUNNR holds it)."""
    return {
        "CUSTOMERNO": customer_number,
        "PI_PERSONALDATA": {},
        "PI_PERSONALDATAX": {},
        "PI_COMPANYDATA": dict(change.company_data),
        "PI_COMPANYDATAX": company_data_x(change.company_data),
        "PI_SALESORG": change.sales_organization,
        "PI_DISTR_CHAN": change.distribution_channel,
        "PI_DIVISION": change.division,
    }


def padded_customer_number(customer_number: str) -> str:
    """KUNNR as SAP holds it: its conversion exit pads numbers; pyrfc runs no conversion exits, so we do."""
    number = customer_number.strip()
    return number.zfill(10) if number.isdigit() else number


def too_long_fields(company_data: Mapping[str, str], lengths: Mapping[str, int]) -> list[str]:
    """The fields longer than this SAP system holds (`lengths`: UTF-16 code units, from its metadata): the SDK
    would cut them silently."""
    return [name for name, value in company_data.items() if name in lengths and utf16_units(value) > lengths[name]]


def unknown_fields(change: CustomerChange, known: tuple[str, ...]) -> list[str]:
    """The fields of the change PI_COMPANYDATA does not have (the mapping's bug: nothing is sent)."""
    return sorted(set(change.company_data) - set(known))


def send_change(call: RfcCall, change: CustomerChange, customer_number: str) -> tuple[SapMessage, ...]:
    """CHANGEFROMDATA1 on the unit's session; SAP's messages, or SapBusinessRejection (the caller rolls back)."""
    answer = call(CHANGE_FUNCTION, **change_parameters(change, customer_number))
    messages = messages_of(answer.get("RETURN"))
    if any(m.type in ERROR_TYPES for m in messages):
        raise SapBusinessRejection(messages)
    return messages


def read_company_data(call: RfcCall, customer_number: str) -> SapCustomerSnapshot:
    """GETSALESAREAS, then GETDETAIL1 in the first sales area: what SAP holds (BAPIKNA106 names, values
    right-trimmed as ABAP holds them)."""
    areas = call(SALES_AREAS_FUNCTION, CUSTOMERNO=customer_number)
    rows = sorted(
        (
            str(row.get("SALESORG", "")).strip(),
            str(row.get("DISTRCHN", "")).strip(),
            str(row.get("DIVISION", "")).strip(),
        )
        for row in areas.get("SALESAREAS", [])
        if isinstance(row, Mapping)
    )
    organization, channel, division = rows[0] if rows else ("", "", "")
    answer = call(
        READ_FUNCTION, CUSTOMERNO=customer_number, PI_SALESORG=organization, PI_DISTR_CHAN=channel, PI_DIVISION=division
    )
    messages = messages_of(answer.get("RETURN"))
    if any(m.type in ERROR_TYPES for m in messages):
        raise SapBusinessRejection(messages)
    company = answer.get("PE_COMPANYDATA")
    if not isinstance(company, Mapping) or not str(company.get("NAME", "")).strip():
        # Fail closed: no error and no name is no answer we can compare with (never "SAP holds blanks").
        raise SapPermanentError(f"{READ_FUNCTION} answered neither company data nor an error for {customer_number}")
    return SapCustomerSnapshot(
        customer_number, {str(name): str(value).rstrip() for name, value in company.items() if isinstance(value, str)}
    )
