"""RfcSapGateway: the SapGateway port over pyrfc (or pyrfcx, or the simulator, which mirrors both).

Why one module of this length: the unit of work, the metadata check, the duplicate guard and the
classification of pyrfc's errors share one session and one notion of "how far the unit got"; they
are everything this project knows about pyrfc, and a reader checks them against SAP's behaviour together.

One connection, i.e. one RFC session, per unit of work: the duplicate guard's search, the create
BAPI and BAPI_TRANSACTION_COMMIT run on the same session, because pyrfc 3.4 reopens the connection
inside call() after errors of several groups (communication, ABAP runtime, logon, external runtime)
and a COMMIT on the new session commits nothing (SAP/PyRFC src/pyrfc/_cyrfc.pyx, Connection.call).
With `pool_size` the connections come from a bounded pool (shared/sap/pool.py) instead of a logon per
unit: a unit still holds one connection for its whole duration, a connection idle longer than
`idle_check_seconds` is pinged before reuse, and any error in a unit discards its connection (the
session may have been reopened inside call()).

Before the first create the adapter reads the function descriptions of every function module it
calls (`get_function_description`) and checks each parameter and field it sends or reads
(`REQUIRED_INTERFACE`): pyrfc refuses an unknown field, and silently truncates an over-long CHAR
value, so the CHAR lengths the mapping shortens to come from this metadata too.

pyrfc's errors are classified by what the caller should do:
  CommunicationError                        -> SapTransientError (queue and retry later); once the
                                               create or commit was sent: SapOutcomeUnknown
  ExternalRuntimeError                      -> one retry of the whole unit on a fresh connection
                                               (only while nothing was created), then
                                               SapTransientError; except the RFC library's verdicts
                                               on our data (invalid parameter or field name,
                                               conversion): SapPermanentError
  LogonError, ExternalAuthorizationError    -> SapConfigurationError (never retried: logons lock users)
  ABAPApplicationError, ABAPRuntimeError,
  ExternalApplicationError, other RFCError  -> SapPermanentError
  RETURN type E/A of the create BAPI        -> SapBusinessRejection (after a rollback)
  pyrfc without its native module, pyrfcx
  without the SDK (SdkNotFoundError)        -> SapDriverMissing
Error details never carry the password: pyrfc messages may echo logon parameters, so they are masked.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from shared import telemetry
from shared.core.guard import customer_key
from shared.core.mapping import COMPANY_DATA_FIELDS, COPY_REFERENCE_FIELDS
from shared.core.models import CustomerCreation
from shared.core.sap_lengths import utf16_units
from shared.log import redact
from shared.sap.errors import (
    SapBusinessRejection,
    SapConfigurationError,
    SapDriverMissing,
    SapError,
    SapInterfaceMismatch,
    SapNeedsReview,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.pool import DEFAULT_IDLE_CHECK_SECONDS, ConnectionPool, PoolClosed, PoolExhausted
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface, SapMessage

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_MESSAGE_FIELDS = ("TYPE", "ID", "NUMBER", "MESSAGE")
# Every function module, parameter and field this adapter sends or reads. The metadata check holds
# each one against the live system; nothing else is ever sent.
REQUIRED_INTERFACE: dict[str, dict[str, tuple[str, ...]]] = {
    "BAPI_CUSTOMER_CREATEFROMDATA1": {
        "PI_PERSONALDATA": (),
        "PI_COMPANYDATA": COMPANY_DATA_FIELDS,
        "PI_OPT_COMPANYDATA": (),
        "PI_COPYREFERENCE": COPY_REFERENCE_FIELDS,
        "CUSTOMERNO": (),
        "RETURN": _MESSAGE_FIELDS,
    },
    "BAPI_TRANSACTION_COMMIT": {"WAIT": (), "RETURN": _MESSAGE_FIELDS},
    "BAPI_TRANSACTION_ROLLBACK": {"RETURN": _MESSAGE_FIELDS},
    "BAPI_CUSTOMER_FIND": {
        "MAX_CNT": (),
        "PL_HOLD": (),
        "SELOPT_TAB": ("TABNAME", "FIELDNAME", "FIELDVALUE"),
        "RESULT_TAB": ("CUSTOMER", *_MESSAGE_FIELDS),
        "RETURN": _MESSAGE_FIELDS,
    },
    "BAPI_CUSTOMER_GETDETAIL2": {
        "CUSTOMERNO": (),
        "CUSTOMERADDRESS": ("NAME", "NAME_2", "NAME_3", "NAME_4", "CITY", "POSTL_CODE", "STREET", "COUNTRY"),
        "CUSTOMERGENERALDETAIL": ("CREAT_DATE", "ENTERED_BY"),
        "RETURN": _MESSAGE_FIELDS,
    },
}

# The guard's search: ONE selection row, KNA1 name line 1 equal to the NAME we sent (PL_HOLD off, so
# no placeholders). BAPI_CUSTOMER_FIND searches KNA1/KNB1 fields, never the address tables. One row
# because whether SAP ANDs several rows or answers one result per row is unverified (BAPIKNA111 echoes
# the criterion in each result row, which suggests the latter: then LAND1=DE alone would fill the page);
# with one row both readings give the same answer. The only public caller searches one KNA1 row too
# (luisurbinanet/tactusoft-svn affinityWebServices/.../client/execute/CustomerExecute.java, find()).
# KNA1-NAME1 holds 35 characters (NAME1_GP, U): a longer NAME is searched by the part KNA1 keeps.
_GUARD_SEARCH_FIELD = ("NAME1", "NAME")
_KNA1_NAME1_LENGTH = 35
# Everything else is compared per candidate from BAPI_CUSTOMER_GETDETAIL2 (BAPICUSTOMER_04 -> BAPIKNA106).
_COMPARED_ADDRESS = (("NAME", "NAME"), ("NAME_2", "NAME_2"), ("NAME_3", "NAME_3"), ("NAME_4", "NAME_4"),
                     ("CITY", "CITY"), ("POSTL_CODE", "POSTL_COD1"), ("STREET", "STREET"), ("COUNTRY", "COUNTRY"))
# More candidates than this and the guard does not try to tell them apart: an operator decides. The search
# asks for one row more (MAX_CNT); an answer that fills the page (rows >= MAX_CNT, whatever customers they
# name: rows may repeat a customer) may hide the earlier create beyond it, so it is held for review.
MAX_GUARD_CANDIDATES = 5
_GUARD_PAGE_ROWS = MAX_GUARD_CANDIDATES + 1
# One unit of work (logon, metadata, guard, create, commit) gets this many RFC timeouts in all; each
# call is cancelled at the unit's deadline. The ledger's stale-claim window derives from it.
_UNIT_BUDGET_IN_TIMEOUTS = 4
# SAP stores KNA1-ERDAT in the system's time zone; one day of slack so a create just after midnight
# UTC is not missed on a system west of UTC (a false candidate is still compared field by field).
_CREATED_DATE_SLACK = timedelta(days=1)

_ERROR_TYPES = ("E", "A")
# ExternalRuntimeError codes that judge the data we sent, not the line: the same call fails again.
_DATA_ERROR_CODES = {
    20,  # RFC_INVALID_PARAMETER: "field 'X' not found"
    21,  # RFC_CODEPAGE_CONVERSION_FAILURE
    22,  # RFC_CONVERSION_FAILURE
    23,  # RFC_BUFFER_TOO_SMALL
}
_SECRET_PARAMETERS = ("passwd", "password", "snc_myname", "x509cert", "mysapsso2")

_INSTALL_HINT = (
    "pyrfc is not installed: install SAP's PyRFC wheel (github.com/SAP/PyRFC releases) or "
    "`pip install pyrfcx`, plus the SAP NW RFC SDK with SAPNWRFC_HOME set and its lib directory on "
    "LD_LIBRARY_PATH (PATH on Windows)"
)
_SDK_HINT = (
    "the SAP NW RFC SDK library (libsapnwrfc) could not be loaded: install the SAP NW RFC SDK and set "
    "SAPNWRFC_HOME (pyrfc also needs its lib directory on LD_LIBRARY_PATH, PATH on Windows)"
)


def import_rfc_module() -> Any:
    """pyrfc (SAP's, or pyrfcx's drop-in of the same name), else pyrfcx. Raises the ImportError that
    explains best why neither loads (a missing SDK library beats a missing package).

    SAP's pyrfc swallows a failed import of its native module (`__init__` prints the error and goes
    on), so `import pyrfc` can succeed without `pyrfc.Connection`: that counts as not loaded."""
    errors: list[ImportError] = []
    for name in ("pyrfc", "pyrfcx"):
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            errors.append(error)
            continue
        if not hasattr(module, "Connection"):
            errors.append(ImportError(f"{name} is installed but its native module did not load (libsapnwrfc "
                                      "missing?)"))
            continue
        return module
    raise next((e for e in errors if _is_sdk_missing(e)), errors[0])


def _is_sdk_missing(error: BaseException) -> bool:
    text = str(error).lower()
    return "sapnwrfc" in text or "native module" in text


def _driver_missing(error: BaseException) -> SapDriverMissing:
    if _is_sdk_missing(error):
        return SapDriverMissing(_SDK_HINT)
    return SapDriverMissing(f"{_INSTALL_HINT} ({error})")


class _RetryOnFreshConnection(Exception):
    """Internal: the unit failed with ExternalRuntimeError; run it once more on a new connection."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class _Session:
    """One RFC session of a unit of work: the connection, when the unit must end (time.monotonic();
    None without a timeout), and how far it got (once the create was sent, a broken line leaves its
    outcome unknown)."""

    connection: Any
    deadline: float | None = None
    create_sent: bool = False


class RfcSapGateway(SapGateway):
    """Creates customers over RFC.

    `rfc_module` is a pyrfc-like module (Connection and pyrfc's exception classes): the simulator
    module, or None to import pyrfc (else pyrfcx) on first use through `module_loader`, which
    returns the module or raises ImportError (then SapDriverMissing says what to install).
    `no_match_messages`: the (ID, NUMBER) pairs with which BAPI_CUSTOMER_FIND says "nothing found"
    on this system; any other error row makes the guard hold the account for review.
    `pool_size`: 0 (default) opens a connection per unit of work; N > 0 keeps up to N connections in a
    pool reused across units (see shared/sap/pool.py); `close()` closes them.
    """

    def __init__(self, logon_parameters: Mapping[str, str], rfc_module: Any = None,
                 module_loader: Callable[[], Any] = import_rfc_module, timeout_seconds: float | None = None,
                 no_match_messages: Collection[tuple[str, str]] = (), pool_size: int = 0,
                 idle_check_seconds: float = DEFAULT_IDLE_CHECK_SECONDS, call_log_level: int = logging.INFO) -> None:
        self._logon_parameters = dict(logon_parameters)
        # The level of the one "SAP create <outcome> in N ms" record per create: INFO in the agent, where
        # it is the record of each relayed create; the function app passes DEBUG (shared/bootstrap.py).
        self._call_log_level = call_log_level
        # pyrfc 3 cancels an RFC call that runs longer than config["timeout"] seconds; without it a
        # hung SAP work process would hold the function (and its ledger claim) until the host kills it.
        self._connection_config = {"timeout": max(1, round(timeout_seconds))} if timeout_seconds else {}
        self._timeout_seconds = timeout_seconds
        self._module = rfc_module
        self._module_loader = module_loader
        self._no_match_messages = {(message_id.strip().upper(), number.strip().zfill(3))
                                   for message_id, number in no_match_messages}
        self._interface: SapInterface | None = None
        self._interface_lock = threading.Lock()
        if pool_size < 0:
            raise ValueError("pool_size: 0 (no pool) or more")
        self.pool: ConnectionPool | None = (
            ConnectionPool(self._open_connection, pool_size, idle_check_seconds=idle_check_seconds)
            if pool_size else None)

    @property
    def rfc_user(self) -> str:
        return str(self._logon_parameters.get("user", "")).strip().upper()

    @staticmethod
    def longest_unit_seconds(timeout_seconds: float) -> float:
        """The longest one unit of work can hold a claim: its call budget (every call is cancelled at
        the unit's deadline, a retry on a fresh connection included) plus one timeout for the logon,
        which pyrfc cannot cancel. The ledger's stale-claim window is derived from this."""
        return (_UNIT_BUDGET_IN_TIMEOUTS + 1) * timeout_seconds

    # ------------------------------------------------------------------ the port

    def check_interface(self) -> SapInterface:
        if self._interface is None:
            with self._interface_lock:
                if self._interface is None:
                    self._interface = self._unit(self._read_interface)
        return self._interface

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        lengths = self.check_interface().company_data_lengths
        too_long = [name for name, value in creation.parameters.get("PI_COMPANYDATA", {}).items()
                    if name in lengths and utf16_units(value) > lengths[name]]
        if too_long:
            # Mapped before the live lengths were known (SAP was unreachable then): the SDK would cut
            # these silently. The retry maps the request again with the lengths now known.
            raise SapTransientError(f"PI_COMPANYDATA {', '.join(too_long)} longer than this SAP system holds; "
                                    "the request is mapped again on retry")
        started = time.monotonic()
        outcome = "failed"
        try:
            created = self._unit(lambda session: self._create_on(session, creation))
            outcome = "adopted by the duplicate guard" if created.adopted else "created"
            return created
        except SapBusinessRejection:
            outcome = "rejected"
            raise
        except SapNeedsReview:
            outcome = "held for review"
            raise
        finally:
            elapsed_ms = round((time.monotonic() - started) * 1000)
            logger.log(self._call_log_level, "SAP create %s in %d ms", outcome, elapsed_ms,
                       extra={"account_id": creation.account_id, "duration_ms": elapsed_ms})

    def read_customer(self, customer_number: str, company_code: str | None = None) -> dict[str, Any]:
        """GETDETAIL2's answer plus GETSALESAREAS' SALESAREAS (and its RETURN as SALESAREAS_RETURN)."""
        number = _padded_customer_number(customer_number)

        def read(session: _Session) -> dict[str, Any]:
            parameters = {"CUSTOMERNO": number}
            if company_code:
                parameters["COMPANYCODE"] = company_code
            detail = dict(self._call(session, "BAPI_CUSTOMER_GETDETAIL2", **parameters))
            areas = self._call(session, "BAPI_CUSTOMER_GETSALESAREAS", CUSTOMERNO=number)
            detail["SALESAREAS"] = list(areas.get("SALESAREAS", []))
            detail["SALESAREAS_RETURN"] = areas.get("RETURN", {})
            return detail

        return self._unit(read)

    def ping(self) -> None:
        self._unit(lambda session: self._call(session, "RFC_PING"))

    def close(self) -> None:
        """Close the pooled connections (those in use when they come back); nothing without a pool."""
        if self.pool is not None:
            self.pool.close()

    # ------------------------------------------------------------------ the metadata check

    def _read_interface(self, session: _Session) -> SapInterface:
        lengths: dict[str, int] = {}
        for function_name, parameters in REQUIRED_INTERFACE.items():
            description = self._describe(session.connection, function_name)
            declared = {str(parameter["name"]): parameter for parameter in description.parameters}
            for parameter_name, field_names in parameters.items():
                parameter = declared.get(parameter_name)
                if parameter is None:
                    raise SapInterfaceMismatch(f"{function_name} has no parameter {parameter_name} in this SAP "
                                               "system; this release is not supported as configured")
                fields = {str(f["name"]): f for f in _fields_of(parameter)}
                for field_name in field_names:
                    if field_name not in fields:
                        raise SapInterfaceMismatch(
                            f"{function_name} parameter {parameter_name} has no field {field_name} in this SAP "
                            "system; nothing is sent until the mapping and the release agree")
                if function_name == "BAPI_CUSTOMER_CREATEFROMDATA1" and parameter_name == "PI_COMPANYDATA":
                    lengths = {name: _char_units(field) for name, field in fields.items()
                               if field.get("field_type") == "RFCTYPE_CHAR"}
        logger.info("SAP interface checked against the live metadata",
                    extra={"functions": len(REQUIRED_INTERFACE)})
        return SapInterface(company_data_lengths=lengths)

    def _describe(self, connection: Any, function_name: str) -> Any:
        module = self._rfc()
        try:
            return connection.get_function_description(function_name)
        except module.ABAPApplicationError as error:
            raise SapInterfaceMismatch(f"function module {function_name} is not available in this SAP system "
                                       f"(or not remote-enabled for the RFC user): {self._safe(error)}") from None

    # ------------------------------------------------------------------ the create unit

    def _create_on(self, session: _Session, creation: CustomerCreation) -> SapCustomerCreated:
        if creation.search_since is not None:
            adopted = self._find_earlier_create(session, creation)
            if adopted is not None:
                logger.warning("duplicate guard: adopted SAP customer %s created by an earlier attempt", adopted,
                               extra={"account_id": creation.account_id, "customer_number": adopted})
                return SapCustomerCreated(adopted, adopted=True)

        session.create_sent = True
        # PI_PERSONALDATA may not be omitted (luisurbinanet/tactusoft-svn affinityWebServices/.../locators/
        # Zfi_customers2_BindingStub.java, CustomerCreateFromData1: PersonalData is not omittable). What SAP
        # does with a mandatory import an RFC caller leaves out is unverified, so it is sent, initial: the
        # BAPI then reads company data only ("either personal or company data").
        answer = self._call(session, "BAPI_CUSTOMER_CREATEFROMDATA1", **{"PI_PERSONALDATA": {}, **creation.parameters})
        messages = _messages(answer.get("RETURN"))
        if any(m.type in _ERROR_TYPES for m in messages):
            self._rollback_quietly(session)
            raise SapBusinessRejection(messages)
        number = str(answer.get("CUSTOMERNO") or "").strip()
        if not number:
            self._rollback_quietly(session)
            raise SapPermanentError("BAPI_CUSTOMER_CREATEFROMDATA1 returned neither a customer number nor an error")

        commit = self._call(session, "BAPI_TRANSACTION_COMMIT", WAIT="X")
        commit_messages = _messages(commit.get("RETURN"))
        failed = next((m for m in commit_messages if m.type in _ERROR_TYPES), None)
        if failed is not None:
            # The update task terminated (lock, database or update-module problem): nothing was
            # committed, SAP says so, and such causes usually pass, so the create is queued for a retry.
            self._rollback_quietly(session)
            session.create_sent = False  # SAP told us the outcome: nothing was saved
            raise SapTransientError(f"BAPI_TRANSACTION_COMMIT failed for customer {number}: "
                                    f"{failed.type} {failed.id} {failed.number}: {failed.text}")
        return SapCustomerCreated(number, messages=messages + commit_messages)

    def _find_earlier_create(self, session: _Session, creation: CustomerCreation) -> str | None:
        """The customer an earlier attempt created, None when there is none; SapNeedsReview when unsure."""
        assert creation.search_since is not None
        company = creation.parameters.get("PI_COMPANYDATA", {})
        column, field = _GUARD_SEARCH_FIELD
        name = str(company.get(field, ""))[:_KNA1_NAME1_LENGTH].rstrip()
        if not name:
            raise SapNeedsReview("the search for a customer an earlier attempt may have created has no name to "
                                 "search by")
        answer = self._call(session, "BAPI_CUSTOMER_FIND", MAX_CNT=_GUARD_PAGE_ROWS, PL_HOLD="",
                            SELOPT_TAB=[{"TABNAME": "KNA1", "FIELDNAME": column, "FIELDVALUE": name}])
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
        created_by = {number: self._recent_match_created_by(session, number, company, creation) for number in numbers}
        ours = [number for number, user in created_by.items() if user == self.rfc_user]
        if len(ours) > 1:
            raise SapNeedsReview(f"{len(ours)} SAP customers match the account and were created by the RFC user "
                                 f"since the first attempt: {', '.join(ours)}", tuple(ours))
        if ours:
            return ours[0]
        # Fail closed: a customer with the same address created since the first attempt by another user may
        # be ours all the same (another agent logged on as another RFC user, after a failover) or a person's
        # in SAP GUI. Either way a create now could make a second one: an operator decides.
        others = [number for number, user in created_by.items() if user is not None]
        if others:
            raise SapNeedsReview(f"{len(others)} SAP customer(s) match the account and were created since the first "
                                 f"attempt by another user than the RFC user: {', '.join(others)}", tuple(others))
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
        problems = [m for m in (*_messages(answer.get("RETURN")), *_messages(rows)) if m.type in _ERROR_TYPES]
        unrecognised = [m for m in problems if (m.id.upper(), m.number.zfill(3)) not in self._no_match_messages]
        if unrecognised or (problems and numbers):
            shown = "; ".join(f"{m.type} {m.id} {m.number}: {m.text}" for m in problems)
            raise SapNeedsReview(f"the search for a customer an earlier attempt may have created did not say "
                                 f"'nothing found' in a way this system is configured to recognise "
                                 f"(SAP_FIND_NO_MATCH_MESSAGE): {shown}", tuple(numbers))
        if not numbers:
            return None
        if len(rows) >= _GUARD_PAGE_ROWS or len(numbers) > MAX_GUARD_CANDIDATES:
            raise SapNeedsReview(f"the search for the account's name filled its page ({len(rows)} rows naming "
                                 f"{len(numbers)} SAP customers); an earlier attempt may have created one of them "
                                 "or one beyond the page", tuple(numbers))
        return numbers

    def _recent_match_created_by(self, session: _Session, number: str, company: Mapping[str, str],
                                 creation: CustomerCreation) -> str | None:
        """Who created candidate `number` (ENTERED_BY), when it has the account's address and was created since
        the first attempt (with a day's slack); None when it is not such a match."""
        assert creation.search_since is not None
        detail = self._call(session, "BAPI_CUSTOMER_GETDETAIL2", CUSTOMERNO=number)
        failed = next((m for m in _messages(detail.get("RETURN")) if m.type in _ERROR_TYPES), None)
        if failed is not None:
            raise SapNeedsReview(f"candidate {number} could not be read: {failed.type} {failed.id} {failed.number}: "
                                 f"{failed.text}", (number,))
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

    def _rollback_quietly(self, session: _Session) -> None:
        # The session ends with the connection anyway; a failed rollback changes nothing for the caller.
        module = self._rfc()
        try:
            self._call(session, "BAPI_TRANSACTION_ROLLBACK")
        except (module.RFCError, SapError) as error:
            logger.warning("rollback failed (%s); closing the session discards the work", type(error).__name__)

    # ------------------------------------------------------------------ connections and errors

    def _rfc(self) -> Any:
        if self._module is None:
            try:
                module = self._module_loader()
            except ImportError as error:
                raise _driver_missing(error) from None
            if not hasattr(module, "Connection"):
                raise _driver_missing(ImportError("pyrfc's native module did not load"))
            self._module = module
        return self._module

    def _unit(self, work: Callable[[_Session], _T]) -> _T:
        """Run `work` on a fresh connection within the unit's deadline; retry once on a fresh connection
        after ExternalRuntimeError while nothing was sent that could have created a customer."""
        deadline = (time.monotonic() + _UNIT_BUDGET_IN_TIMEOUTS * self._timeout_seconds
                    if self._timeout_seconds else None)
        try:
            return self._unit_once(work, deadline)
        except _RetryOnFreshConnection as first:
            if deadline is not None and deadline - time.monotonic() < (self._timeout_seconds or 0):
                raise SapTransientError(first.detail) from None
            logger.warning("SAP unit failed with an RFC library error, retrying once on a new connection: %s",
                           first.detail)
        try:
            return self._unit_once(work, deadline)
        except _RetryOnFreshConnection as second:
            raise SapTransientError(second.detail) from None

    def _open_connection(self) -> Any:
        return self._rfc().Connection(config=self._connection_config, **self._logon_parameters)

    def _unit_once(self, work: Callable[[_Session], _T], deadline: float | None) -> _T:
        module = self._rfc()
        connection = None
        session = _Session(connection=None, deadline=deadline)
        succeeded = False
        try:
            if self.pool is None:
                connection = self._open_connection()
            else:
                try:
                    connection = self.pool.acquire(deadline)
                except PoolExhausted as error:
                    raise SapTransientError(f"no SAP connection free in time: {error}") from None
                except PoolClosed as error:
                    raise SapTransientError(f"the SAP agent is shutting down: {error}") from None
            session.connection = connection
            result = work(session)
            succeeded = True
            return result
        except module.RFCError as error:
            raise self._classified(error, module, session) from None
        except Exception as error:
            # pyrfcx raises SdkNotFoundError (neither RFCError nor ImportError) from Connection().
            if connection is None and type(error).__name__ == "SdkNotFoundError":
                raise _driver_missing(error) from None
            raise
        finally:
            if connection is not None and self.pool is not None:
                # Any error in the unit (an RFCError, a SapError, anything) discards the connection:
                # pyrfc may have reopened it inside call(), and with it the session is not the unit's.
                self.pool.release(connection, discard=not succeeded)
            elif connection is not None:
                try:
                    connection.close()
                except module.RFCError as error:
                    logger.debug("closing the SAP connection failed: %s", self._safe(error))

    def _call(self, session: _Session, function_name: str, **parameters: Any) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if session.deadline is not None:
            remaining = session.deadline - time.monotonic()
            if remaining <= 0:
                detail = f"{function_name} not sent: the unit of work ran out of time"
                raise SapOutcomeUnknown(detail) if session.create_sent else SapTransientError(detail)
            # pyrfc's per-call timeout (seconds) cancels the call at the unit's deadline.
            options["timeout"] = max(1, min(round(remaining), round(self._timeout_seconds or remaining)))
        try:
            # One span per RFC function call (in the agent: children of its request's span); no parameters.
            with telemetry.span(f"RFC {function_name}", kind="client",
                                attributes={"rpc.system": "sap_rfc", "rpc.method": function_name}):
                return session.connection.call(function_name, options=options or None, **parameters)
        except TypeError as error:
            # pyrfc refuses values of the wrong type before anything reaches SAP: our bug, not SAP's.
            raise SapPermanentError(f"{function_name}: pyrfc refused a parameter: {self._safe(error)}") from None

    def _classified(self, error: Exception, module: Any, session: _Session) -> Exception:
        classified = self._classified_by_kind(error, module, session)
        if session.create_sent and isinstance(classified, SapError):
            classified.outcome_unknown = True
        return classified

    def _classified_by_kind(self, error: Exception, module: Any, session: _Session) -> Exception:
        detail = f"{type(error).__name__}: {self._safe(error)}"
        if session.create_sent and isinstance(error, module.LogonError):
            # pyrfc reopens inside the failing call; a LogonError here is the reopen failing after the line
            # broke, with the create (or its commit) already sent: what SAP did is unknown.
            return SapOutcomeUnknown(detail)
        if isinstance(error, module.CommunicationError):
            # Includes RFC_CANCELED (the config timeout): the call may have run to the end in SAP.
            return SapOutcomeUnknown(detail) if session.create_sent else SapTransientError(detail)
        if isinstance(error, module.ExternalRuntimeError):
            if getattr(error, "code", None) in _DATA_ERROR_CODES:
                return SapPermanentError(detail)
            if session.create_sent:
                return SapOutcomeUnknown(detail)  # never re-run a create blindly: the next attempt searches
            return _RetryOnFreshConnection(detail)
        if isinstance(error, module.LogonError | module.ExternalAuthorizationError):
            return SapConfigurationError(detail)
        return SapPermanentError(detail)

    def _safe(self, error: BaseException) -> str:
        """The error's text without logon secrets (pyrfc may echo the logon parameters)."""
        text = str(error)
        for name in _SECRET_PARAMETERS:
            secret = self._logon_parameters.get(name)
            if secret:
                text = text.replace(str(secret), "***")
        text = re.sub(r"(?i)\b(passwd|password|pwd)\s*[:=]\s*\S+", r"\1=***", text)
        return redact(text)


def _padded_customer_number(customer_number: str) -> str:
    # KUNNR's conversion exit pads numbers; pyrfc runs no conversion exits, so we do.
    number = customer_number.strip()
    return number.zfill(10) if number.isdigit() else number


def _fields_of(parameter: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    description = parameter.get("type_description")
    return list(getattr(description, "fields", []) or [])


def _char_units(field: Mapping[str, Any]) -> int:
    # uc_length is the field's size in bytes of UTF-16 (pyrfc's TypeDescription), i.e. 2 per code unit.
    return int(field.get("uc_length", 0)) // 2


def _messages(returned: Any) -> tuple[SapMessage, ...]:
    """BAPIRETURN1/BAPIRET2/BAPIKNA111 (one structure or table rows) as SapMessages, initial rows left out."""
    rows = returned if isinstance(returned, list) else [returned] if isinstance(returned, Mapping) else []
    return tuple(
        SapMessage(
            type=str(row.get("TYPE", "")).strip(),
            id=str(row.get("ID", "")).strip(),
            number=str(row.get("NUMBER", "")).strip(),
            text=str(row.get("MESSAGE", "")).strip(),
        )
        for row in rows
        if str(row.get("TYPE", "")).strip()
    )
