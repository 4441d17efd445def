"""RfcSapGateway: the SapGateway port over pyrfc (or pyrfcx, or the simulator, which mirrors both).

This module is the gateway: the unit of work, its session and "how far the unit got". What runs inside
a unit has its own module: the interface self-check (rfc_metadata.py), the duplicate guard (rfc_guard.py),
the reading of BAPI return messages (bapi_return.py); pyrfc's errors are classified by the error table in
rfc_errors.py (by what the caller should do; details masked); finding the driver is rfc_driver.py.

One connection, i.e. one RFC session, per unit of work: the duplicate guard's search, the create
BAPI and BAPI_TRANSACTION_COMMIT run on the same session, because pyrfc 3.4 reopens the connection
inside call() after errors of several groups (communication, ABAP runtime, logon, external runtime)
and a COMMIT on the new session commits nothing (SAP/PyRFC src/pyrfc/_cyrfc.pyx, Connection.call).
With `pool_size` the connections come from a bounded pool (shared/sap/pool.py) instead of a logon per
unit: a unit still holds one connection for its whole duration, a connection idle longer than
`idle_check_seconds` is pinged before reuse, and any error in a unit discards its connection (the
session may have been reopened inside call()).

Before the first create the adapter reads the function descriptions of every function module it
calls and checks each parameter and field it sends or reads (rfc_metadata.py, `REQUIRED_INTERFACE`):
pyrfc refuses an unknown field, and silently truncates an over-long CHAR value, so the CHAR lengths the
mapping shortens to come from this metadata too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from shared import telemetry
from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.core.models import CustomerCreation
from shared.sap.bapi_return import ERROR_TYPES, messages_of
from shared.sap.create_log import logged_create
from shared.sap.errors import (
    SapBusinessRejection,
    SapError,
    SapInterfaceMismatch,
    SapOutcomeUnknown,
    SapPermanentError,
    SapTransientError,
)
from shared.sap.pool import DEFAULT_IDLE_CHECK_SECONDS, ConnectionPool, PoolClosed, PoolExhausted
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface, SapMessage
from shared.sap.rfc_change import padded_customer_number as _padded_customer_number
from shared.sap.rfc_change import read_company_data, send_change, too_long_fields, unknown_fields
from shared.sap.rfc_driver import driver_missing, import_rfc_module
from shared.sap.rfc_errors import RetryOnFreshConnection, classified, masked
from shared.sap.rfc_guard import DuplicateGuard
from shared.sap.rfc_metadata import read_interface

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# One unit of work (logon, metadata, guard, create, commit) gets this many RFC timeouts in all; each
# call is cancelled at the unit's deadline. The ledger's stale-claim window derives from it.
_UNIT_BUDGET_IN_TIMEOUTS = 4


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

    def __init__(
        self,
        logon_parameters: Mapping[str, str],
        rfc_module: Any = None,
        module_loader: Callable[[], Any] = import_rfc_module,
        timeout_seconds: float | None = None,
        no_match_messages: Collection[tuple[str, str]] = (),
        pool_size: int = 0,
        idle_check_seconds: float = DEFAULT_IDLE_CHECK_SECONDS,
        call_log_level: int = logging.INFO,
    ) -> None:
        self._logon_parameters = dict(logon_parameters)
        # The level of the one "SAP create <outcome> in N ms" record per create: INFO in the agent, where
        # it is the record of each relayed create; the function app passes DEBUG (shared/bootstrap/).
        self._call_log_level = call_log_level
        # pyrfc 3 cancels an RFC call that runs longer than config["timeout"] seconds; without it a
        # hung SAP work process would hold the function (and its ledger claim) until the host kills it.
        self._connection_config = {"timeout": max(1, round(timeout_seconds))} if timeout_seconds else {}
        self._timeout_seconds = timeout_seconds
        self._module = rfc_module
        self._module_loader = module_loader
        self._guard = DuplicateGuard(no_match_messages, self.rfc_user)
        self._interface: SapInterface | None = None
        self._interface_lock = threading.Lock()
        if pool_size < 0:
            raise ValueError("pool_size: 0 (no pool) or more")
        self.pool: ConnectionPool | None = (
            ConnectionPool(self._open_connection, pool_size, idle_check_seconds=idle_check_seconds)
            if pool_size
            else None
        )

    @property
    def no_match_messages(self) -> tuple[tuple[str, str], ...]:
        """What this gateway's duplicate guard reads as BAPI_CUSTOMER_FIND's "nothing found" (the go-live check)."""
        return self._guard.no_match_messages

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
        self._refuse_too_long(creation.parameters.get("PI_COMPANYDATA", {}))
        return logged_create(
            logger,
            self._call_log_level,
            creation.account_id,
            lambda: self._unit(lambda session: self._create_on(session, creation)),
        )

    def read_customer(self, customer_number: str) -> SapCustomerSnapshot:
        return self._unit(
            lambda session: read_company_data(partial(self._call, session), _padded_customer_number(customer_number))
        )

    def change_customer(self, change: CustomerChange) -> SapCustomerChanged:
        number = _padded_customer_number(change.customer_number)
        unknown = unknown_fields(change, tuple(self.check_interface().company_data_lengths))
        if unknown:
            raise SapPermanentError(f"PI_COMPANYDATA has no field {', '.join(unknown)} in this SAP system")
        if not change.company_data:
            return SapCustomerChanged(number)  # nothing flagged: nothing to send
        self._refuse_too_long(change.company_data)
        return self._unit(lambda session: self._change_on(session, change, number))

    def read_customer_detail(self, customer_number: str, company_code: str | None = None) -> dict[str, Any]:
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

    def run_unit(self, work: Callable[[Callable[..., dict[str, Any]]], _T]) -> _T:
        """`work(call)` as one unit of work, `call(function_name, **parameters)` on its session: the read-only
        probes of the go-live check (shared/sap/rfc_inspector.py), with the unit's deadline and error table."""
        return self._unit(lambda session: work(partial(self._call, session)))

    def close(self) -> None:
        """Close the pooled connections (those in use when they come back); nothing without a pool."""
        if self.pool is not None:
            self.pool.close()

    def _refuse_too_long(self, company_data: Mapping[str, str]) -> None:
        too_long = too_long_fields(company_data, self.check_interface().company_data_lengths)
        if too_long:
            # Mapped before the live lengths were known (SAP was unreachable then): the SDK would cut
            # these silently. The retry maps the request again with the lengths now known.
            raise SapTransientError(
                f"PI_COMPANYDATA {', '.join(too_long)} longer than this SAP system holds; "
                "the request is mapped again on retry"
            )

    # ------------------------------------------------------------------ the metadata check

    def _read_interface(self, session: _Session) -> SapInterface:
        return read_interface(partial(self._describe, session.connection))

    def _describe(self, connection: Any, function_name: str) -> Any:
        module = self._rfc()
        try:
            return connection.get_function_description(function_name)
        except module.ABAPApplicationError as error:
            raise SapInterfaceMismatch(
                f"function module {function_name} is not available in this SAP system "
                f"(or not remote-enabled for the RFC user): {self._safe(error)}"
            ) from None

    # ------------------------------------------------------------------ the create unit

    def _create_on(self, session: _Session, creation: CustomerCreation) -> SapCustomerCreated:
        if creation.search_since is not None:
            adopted = self._guard.find_earlier_create(partial(self._call, session), creation)
            if adopted is not None:
                logger.warning(
                    "duplicate guard: adopted SAP customer %s created by an earlier attempt",
                    adopted,
                    extra={"account_id": creation.account_id, "customer_number": adopted},
                )
                return SapCustomerCreated(adopted, adopted=True)

        session.create_sent = True
        # PI_PERSONALDATA may not be omitted (luisurbinanet/tactusoft-svn affinityWebServices/.../locators/
        # Zfi_customers2_BindingStub.java, CustomerCreateFromData1: PersonalData is not omittable). What SAP
        # does with a mandatory import an RFC caller leaves out is unverified, so it is sent, initial: the
        # BAPI then reads company data only ("either personal or company data").
        answer = self._call(session, "BAPI_CUSTOMER_CREATEFROMDATA1", **{"PI_PERSONALDATA": {}, **creation.parameters})
        messages = messages_of(answer.get("RETURN"))
        if any(m.type in ERROR_TYPES for m in messages):
            self._rollback_quietly(session)
            raise SapBusinessRejection(messages)
        number = str(answer.get("CUSTOMERNO") or "").strip()
        if not number:
            self._rollback_quietly(session)
            raise SapPermanentError("BAPI_CUSTOMER_CREATEFROMDATA1 returned neither a customer number nor an error")

        commit_messages = self._commit(session, f"customer {number}")
        return SapCustomerCreated(number, messages=messages + commit_messages)

    def _change_on(self, session: _Session, change: CustomerChange, number: str) -> SapCustomerChanged:
        # Once sent, a broken line leaves the change's outcome unknown (sending it again is harmless).
        session.create_sent = True
        try:
            messages = send_change(partial(self._call, session), change, number)
        except SapBusinessRejection:
            self._rollback_quietly(session)
            raise
        commit_messages = self._commit(session, f"the change of customer {number}")
        return SapCustomerChanged(number, messages=messages + commit_messages)

    def _commit(self, session: _Session, what: str) -> tuple[SapMessage, ...]:
        commit = self._call(session, "BAPI_TRANSACTION_COMMIT", WAIT="X")
        commit_messages = messages_of(commit.get("RETURN"))
        failed = next((m for m in commit_messages if m.type in ERROR_TYPES), None)
        if failed is not None:
            # The update task terminated (lock, database or update-module problem): nothing was
            # committed, SAP says so, and such causes usually pass, so the work is queued for a retry.
            self._rollback_quietly(session)
            session.create_sent = False  # SAP told us the outcome: nothing was saved
            raise SapTransientError(
                f"BAPI_TRANSACTION_COMMIT failed for {what}: {failed.type} {failed.id} {failed.number}: {failed.text}"
            )
        return commit_messages

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
                raise driver_missing(error) from None
            if not hasattr(module, "Connection"):
                raise driver_missing(ImportError("pyrfc's native module did not load"))
            self._module = module
        return self._module

    def _unit(self, work: Callable[[_Session], _T]) -> _T:
        """Run `work` on a fresh connection within the unit's deadline; retry once on a fresh connection
        after ExternalRuntimeError while nothing was sent that could have created a customer."""
        deadline = (
            time.monotonic() + _UNIT_BUDGET_IN_TIMEOUTS * self._timeout_seconds if self._timeout_seconds else None
        )
        try:
            return self._unit_once(work, deadline)
        except RetryOnFreshConnection as first:
            if deadline is not None and deadline - time.monotonic() < (self._timeout_seconds or 0):
                raise SapTransientError(first.detail) from None
            logger.warning(
                "SAP unit failed with an RFC library error, retrying once on a new connection: %s", first.detail
            )
        try:
            return self._unit_once(work, deadline)
        except RetryOnFreshConnection as second:
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
            detail = f"{type(error).__name__}: {self._safe(error)}"
            raise classified(error, module, create_sent=session.create_sent, detail=detail) from None
        except Exception as error:
            # pyrfcx raises SdkNotFoundError (neither RFCError nor ImportError) from Connection().
            if connection is None and type(error).__name__ == "SdkNotFoundError":
                raise driver_missing(error) from None
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
            with telemetry.span(
                f"RFC {function_name}", kind="client", attributes={"rpc.system": "sap_rfc", "rpc.method": function_name}
            ):
                return session.connection.call(function_name, options=options or None, **parameters)
        except TypeError as error:
            # pyrfc refuses values of the wrong type before anything reaches SAP: our bug, not SAP's.
            raise SapPermanentError(f"{function_name}: pyrfc refused a parameter: {self._safe(error)}") from None

    def _safe(self, error: BaseException) -> str:
        return masked(error, self._logon_parameters)
