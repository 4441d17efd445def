"""The go-live probes over RFC (shared/sap/inspector.py SapInspector): pyrfc, pyrfcx or the simulator, each probe
one unit of work of the rfc gateway (its logon or pooled connection, deadline and error table), read-only.

Function modules and where their interfaces come from:
* RFC_SYSTEM_INFO, export RFCSI_EXPORT (structure RFCSI): the field names RFCSYSID, RFCSAPRL, RFCDBSYS, RFCHOST
  as public pyrfc and JCo callers read them (found by code search for RFCSI_EXPORT, issue 24; their lengths
  and the rest of RFCSI are unverified here). It needs S_RFC for function group SRFC (a published role for an
  SAP monitoring agent lists S_RFC FUGR/FUNC SRFC/RFC_SYSTEM_INFO): a user without it still logs on, so the
  probe falls back to RFC_PING and says so.
* BAPI_CUSTOMER_GETDETAIL2 (RETURN BAPIRET1, CUSTOMERADDRESS BAPICUSTOMER_04) and BAPI_CUSTOMER_GETSALESAREAS
  (RETURN BAPIRETURN with CODE instead of ID/NUMBER, SALESAREAS BAPIKNVVKY): see the SAP simulator's interface
  tables (interfaces.py).
  What GETDETAIL2's RETURN says for a customer that does not exist is unverified on a real release (the
  simulator says E F2 163; SAP's documentation of BAPI_CUSTOMER_EXISTENCECHECK lists "I F2 502 Debtor & does
  not exist", an information message): so a customer counts as existing only when RETURN holds no error AND
  CUSTOMERADDRESS shows it. GETSALESAREAS "does not check whether the customer number already exists" and
  answers E QC160 "No sales data was found" when it has no sales area (SAP's documentation of the function,
  stechno.net): read as "in no sales area".
* BAPI_CUSTOMER_FIND: as the duplicate guard calls it (shared/sap/rfc_guard.py), answered as it came.

T005S (region keys): no function module here reads it. RFC_READ_TABLE reads any table but is commonly reported
as not released for customer use (no SAP source for that was found for issue 24: unverified) and would need
S_TABU_DIS; a generic table reader is also what the agent must never become. BAPI_HELPVALUES_GET is a released
BAPI serving a BAPI parameter's value help (public callers use it for user lists, OBJTYPE USER, or company lists,
BUS1006 GETLIST COMPANYDATA), but whether it answers a customer's REGION help filtered by country on a given
release is unverified, and one public RFC client lists it as not callable for its (restricted) user.
Rather than guess, the go-live check lists T005S as a manual step (shared/core/preflight_sap.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from shared.core.organization import SalesArea
from shared.sap.bapi_return import ERROR_TYPES, messages_of
from shared.sap.errors import SapConfigurationError, SapPermanentError
from shared.sap.inspector import (
    CustomerProbe,
    FindAnswer,
    FindCriterion,
    FindResultRow,
    SapInspector,
    SapSystemInfo,
)
from shared.sap.port import SapInterface, SapMessage
from shared.sap.rfc import RfcSapGateway
from shared.sap.rfc_change import padded_customer_number
from shared.sap.rfc_guard import KNA1_NAME1_LENGTH

RfcCall = Callable[..., dict[str, Any]]


class RfcSapInspector(SapInspector):
    """The probes on the rfc gateway `gateway` (the same logon, pool and timeouts as the creates)."""

    def __init__(self, gateway: RfcSapGateway) -> None:
        self._gateway = gateway

    def system_info(self) -> SapSystemInfo:
        try:
            answer = self._gateway.run_unit(lambda call: call("RFC_SYSTEM_INFO"))
        except (SapConfigurationError, SapPermanentError) as refused:
            # Only a refusal of the function itself (no S_RFC for SRFC, or no such function) is worth an
            # RFC_PING: a failed logon is not retried (repeated failed logons lock the SAP user).
            if not isinstance(refused, SapPermanentError) and "Authorization" not in refused.detail:
                raise
            self._gateway.run_unit(lambda call: call("RFC_PING"))
            return SapSystemInfo(
                note=f"RFC_SYSTEM_INFO refused ({refused.detail[:120]}); RFC_PING answered",
                find_no_match_messages=self._gateway.no_match_messages,
            )
        info = answer.get("RFCSI_EXPORT") or {}
        return SapSystemInfo(
            find_no_match_messages=self._gateway.no_match_messages,
            system_id=str(info.get("RFCSYSID", "")).strip(),
            release=str(info.get("RFCSAPRL", "")).strip(),
            database_system=str(info.get("RFCDBSYS", "")).strip(),
        )

    def check_interface(self) -> SapInterface:
        return self._gateway.check_interface()

    def customer(self, number: str) -> CustomerProbe:
        padded = padded_customer_number(number)

        def read(call: RfcCall) -> CustomerProbe:
            detail = call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=padded)
            messages = messages_of(detail.get("RETURN"))
            address = detail.get("CUSTOMERADDRESS") or {}
            # Fail closed: a customer exists only when GETDETAIL2 says no error AND shows its address (SAP's
            # ExistenceCheck documents "does not exist" as type I, F2 502, so an error type alone is not enough).
            shown = str(address.get("CUSTOMER", "")).strip() or str(address.get("NAME", "")).strip()
            if any(m.type in ERROR_TYPES for m in messages) or not shown:
                return CustomerProbe(padded, exists=False, messages=messages)
            areas = call("BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO=padded)
            rows = [row for row in areas.get("SALESAREAS", []) if isinstance(row, dict)]
            return CustomerProbe(
                padded,
                exists=True,
                name=str(address.get("NAME", "")).strip()[:KNA1_NAME1_LENGTH].rstrip(),
                country=str(address.get("COUNTRY", "")).strip(),
                sales_areas=tuple(
                    SalesArea(
                        str(row.get("SALESORG", "")).strip(),
                        str(row.get("DISTRCHN", "")).strip(),
                        str(row.get("DIVISION", "")).strip(),
                    )
                    for row in rows
                ),
                messages=messages,
                sales_area_messages=_bapireturn_messages(areas.get("RETURN")),
            )

        return self._gateway.run_unit(read)

    def find(self, criteria: Sequence[FindCriterion], max_rows: int) -> FindAnswer:
        rows = [{"TABNAME": c.table_name, "FIELDNAME": c.field_name, "FIELDVALUE": c.value} for c in criteria]
        answer = self._gateway.run_unit(
            lambda call: call("BAPI_CUSTOMER_FIND", MAX_CNT=max_rows, PL_HOLD="", SELOPT_TAB=rows)
        )
        returned = messages_of(answer.get("RETURN"))
        result = tuple(
            FindResultRow(str(row.get("CUSTOMER", "")).strip(), next(iter(messages_of(row)), None))
            for row in answer.get("RESULT_TAB", [])
            if isinstance(row, dict)
        )
        return FindAnswer(returned[0] if returned else None, result)


def _bapireturn_messages(returned: Any) -> tuple[SapMessage, ...]:
    """BAPIRETURN (GETSALESAREAS): CODE holds class and number together; kept whole as the message's id."""
    if not isinstance(returned, dict) or not str(returned.get("TYPE", "")).strip():
        return ()
    return (
        SapMessage(
            type=str(returned.get("TYPE", "")).strip(),
            id=str(returned.get("CODE", "")).strip(),
            number="",
            text=str(returned.get("MESSAGE", "")).strip(),
        ),
    )
