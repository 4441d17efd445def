"""The RFC gateway's duplicate guard: before a create that may repeat an earlier attempt (the request
carries `search_since`), find the customer that attempt may have created, on the create's own RFC session
(shared/sap/rfc.py runs it in the unit of work, before BAPI_CUSTOMER_CREATEFROMDATA1).

BAPI_CUSTOMER_FIND searches by the account's name; BAPI_CUSTOMER_GETDETAIL2 reads each candidate, whose
address and creation date are compared with what was sent and whose creator (ENTERED_BY) must be the RFC
user. One such match is adopted; none lets the create go on; anything the guard cannot tell apart (several
matches, a match created by another user, a full page, an answer it does not recognise) raises
SapNeedsReview: it fails closed, an operator decides. The decisions that need no SAP call (the search window,
which numbers the ledger gives elsewhere) are the use case's: shared/core/guard.py, guard_window.py.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any

from shared.core.guard import customer_key
from shared.core.models import CustomerCreation
from shared.sap.bapi_return import ERROR_TYPES, messages_of
from shared.sap.errors import SapNeedsReview

# One function module call on the unit's session: call(function_name, **parameters) -> the answer.
RfcCall = Callable[..., dict[str, Any]]

# The guard's search: ONE selection row, KNA1 name line 1 equal to the NAME we sent (PL_HOLD off, so
# no placeholders). BAPI_CUSTOMER_FIND searches KNA1/KNB1 fields, never the address tables. One row
# because whether SAP ANDs several rows or answers one result per row is unverified (BAPIKNA111 echoes
# the criterion in each result row, which suggests the latter: then LAND1=DE alone would fill the page);
# with one row both readings give the same answer. The only public caller searches one KNA1 row too
# (luisurbinanet/tactusoft-svn affinityWebServices/.../client/execute/CustomerExecute.java, find()).
# KNA1-NAME1 holds 35 characters (NAME1_GP, U): a longer NAME is searched by the part KNA1 keeps.
_GUARD_SEARCH_FIELD = ("NAME1", "NAME")
KNA1_NAME1_LENGTH = 35
# Everything else is compared per candidate from BAPI_CUSTOMER_GETDETAIL2 (BAPICUSTOMER_04 -> BAPIKNA106).
_COMPARED_ADDRESS = (
    ("NAME", "NAME"),
    ("NAME_2", "NAME_2"),
    ("NAME_3", "NAME_3"),
    ("NAME_4", "NAME_4"),
    ("CITY", "CITY"),
    ("POSTL_CODE", "POSTL_COD1"),
    ("STREET", "STREET"),
    ("COUNTRY", "COUNTRY"),
)
# More candidates than this and the guard does not try to tell them apart: an operator decides. The search
# asks for one row more (MAX_CNT); an answer that fills the page (rows >= MAX_CNT, whatever customers they
# name: rows may repeat a customer) may hide the earlier create beyond it, so it is held for review.
MAX_GUARD_CANDIDATES = 5
_GUARD_PAGE_ROWS = MAX_GUARD_CANDIDATES + 1
# SAP stores KNA1-ERDAT in the system's time zone; one day of slack so a create just after midnight
# UTC is not missed on a system west of UTC (a false candidate is still compared field by field).
_CREATED_DATE_SLACK = timedelta(days=1)


class DuplicateGuard:
    """`no_match_messages`: the (ID, NUMBER) pairs with which BAPI_CUSTOMER_FIND says "nothing found" on this
    system; any other error row holds the account for review. `rfc_user`: the gateway's RFC user, upper case:
    only a customer it entered can be an earlier attempt's."""

    def __init__(self, no_match_messages: Collection[tuple[str, str]], rfc_user: str) -> None:
        self._no_match_messages = {
            (message_id.strip().upper(), number.strip().zfill(3)) for message_id, number in no_match_messages
        }
        self._rfc_user = rfc_user

    @property
    def no_match_messages(self) -> tuple[tuple[str, str], ...]:
        """The (ID, NUMBER) pairs read as "nothing found", normalised, in order (the go-live check shows them)."""
        return tuple(sorted(self._no_match_messages))

    def find_earlier_create(self, call: RfcCall, creation: CustomerCreation) -> str | None:
        """The customer an earlier attempt created, None when there is none; SapNeedsReview when unsure."""
        assert creation.search_since is not None
        company = creation.parameters.get("PI_COMPANYDATA", {})
        column, field = _GUARD_SEARCH_FIELD
        name = str(company.get(field, ""))[:KNA1_NAME1_LENGTH].rstrip()
        if not name:
            raise SapNeedsReview(
                "the search for a customer an earlier attempt may have created has no name to search by"
            )
        answer = call(
            "BAPI_CUSTOMER_FIND",
            MAX_CNT=_GUARD_PAGE_ROWS,
            PL_HOLD="",
            SELOPT_TAB=[{"TABNAME": "KNA1", "FIELDNAME": column, "FIELDVALUE": name}],
        )
        numbers = self._search_answer(answer)
        if numbers is None:
            return None
        # Customers the use case knows are not this account's (the ledger gives them to other accounts, or an
        # operator rejected them): not candidates. The page check above still counts them: a full page may
        # hide the earlier create whatever the rows it shows.
        excluded = {customer_key(number) for number in creation.excluded_customers}
        numbers = [number for number in numbers if customer_key(number) not in excluded]
        if not numbers:
            return None
        created_by = {number: self._recent_match_created_by(call, number, company, creation) for number in numbers}
        ours = [number for number, user in created_by.items() if user == self._rfc_user]
        if len(ours) > 1:
            raise SapNeedsReview(
                f"{len(ours)} SAP customers match the account and were created by the RFC user "
                f"since the first attempt: {', '.join(ours)}",
                tuple(ours),
            )
        if ours:
            return ours[0]
        # Fail closed: a customer with the same address created since the first attempt by another user may
        # be ours all the same (another agent logged on as another RFC user, after a failover) or a person's
        # in SAP GUI. Either way a create now could make a second one: an operator decides.
        others = [number for number, user in created_by.items() if user is not None]
        if others:
            raise SapNeedsReview(
                f"{len(others)} SAP customer(s) match the account and were created since the first "
                f"attempt by another user than the RFC user: {', '.join(others)}",
                tuple(others),
            )
        return None

    def _search_answer(self, answer: Mapping[str, Any]) -> list[str] | None:
        """BAPI_CUSTOMER_FIND's answer read as the guard needs it: None when it says nothing was found, else
        the distinct customers it names (at most MAX_GUARD_CANDIDATES); SapNeedsReview when it cannot tell.

        FIND has an export RETURN (BAPIRETURN1) besides RESULT_TAB (BAPIKNA111, which carries message fields
        too): praveen4students/hmh_backup enterprise-web-services-camel/src/main/java/hmh/sap/rfc/
        Bapi_Customer_Find_Output.java, and the CustomerFind operation in luisurbinanet/tactusoft-svn
        affinityWebServices/src/com/tactusoft/webservice/client/locators/Zfi_customers2_BindingStub.java.
        Where a release says "nothing found" is unverified: tactusoft's caller (execute/CustomerExecute.java)
        reads a RESULT_TAB row without a customer and TYPE E. So both are read: "nothing found" is an
        answer naming no customer whose only errors are configured no-match messages
        (SAP_FIND_NO_MATCH_MESSAGE), in RETURN or in RESULT_TAB, or an answer with no error and no row at
        all. Any other error or abort message, wherever it stands, leaves the search's outcome unknown:
        held for review (fail closed), as is a full page."""
        rows = [row for row in answer.get("RESULT_TAB", []) if isinstance(row, Mapping)]
        numbers = sorted({str(row.get("CUSTOMER", "")).strip() for row in rows} - {""})
        problems = [m for m in (*messages_of(answer.get("RETURN")), *messages_of(rows)) if m.type in ERROR_TYPES]
        unrecognised = [m for m in problems if (m.id.upper(), m.number.zfill(3)) not in self._no_match_messages]
        if unrecognised or (problems and numbers):
            shown = "; ".join(f"{m.type} {m.id} {m.number}: {m.text}" for m in problems)
            raise SapNeedsReview(
                f"the search for a customer an earlier attempt may have created did not say "
                f"'nothing found' in a way this system is configured to recognise "
                f"(SAP_FIND_NO_MATCH_MESSAGE): {shown}",
                tuple(numbers),
            )
        if not numbers:
            return None
        if len(rows) >= _GUARD_PAGE_ROWS or len(numbers) > MAX_GUARD_CANDIDATES:
            raise SapNeedsReview(
                f"the search for the account's name filled its page ({len(rows)} rows naming "
                f"{len(numbers)} SAP customers); an earlier attempt may have created one of them "
                "or one beyond the page",
                tuple(numbers),
            )
        return numbers

    @staticmethod
    def _recent_match_created_by(
        call: RfcCall, number: str, company: Mapping[str, str], creation: CustomerCreation
    ) -> str | None:
        """Who created candidate `number` (ENTERED_BY), when it has the account's address and was created since
        the first attempt (with a day's slack); None when it is not such a match."""
        assert creation.search_since is not None
        detail = call("BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number)
        failed = next((m for m in messages_of(detail.get("RETURN")) if m.type in ERROR_TYPES), None)
        if failed is not None:
            raise SapNeedsReview(
                f"candidate {number} could not be read: {failed.type} {failed.id} {failed.number}: {failed.text}",
                (number,),
            )
        address = detail.get("CUSTOMERADDRESS", {})
        for stored_name, sent_name in _COMPARED_ADDRESS:
            stored = str(address.get(stored_name, "")).strip()
            sent = str(company.get(sent_name, "")).strip()
            # BAPICUSTOMER_04 may hold fewer characters than we sent: compare what it can show.
            if stored != sent[: len(stored)] or (not stored and sent):
                return None
        general = detail.get("CUSTOMERGENERALDETAIL", {})
        created_on = str(general.get("CREAT_DATE", "")).strip()
        earliest = (creation.search_since - _CREATED_DATE_SLACK).strftime("%Y%m%d")
        if not created_on or created_on < earliest:
            return None
        return str(general.get("ENTERED_BY", "")).strip().upper()
