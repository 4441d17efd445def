"""One simulated SAP system: customising, committed customers, RFC sessions, faults, counters.

All state changes happen under one lock, so any number of threads may call through their own
connections. Latency is slept outside the lock, so slow calls overlap as they would against SAP.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sap_simulator.changes import CHANGE_FUNCTIONS
from sap_simulator.customizing import Customizing
from sap_simulator.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    CommunicationError,
    ExternalRuntimeError,
    LogonError,
)
from sap_simulator.faults import FaultPlan
from sap_simulator.functions import (
    FIND_NO_MATCH,
    FIND_NO_MATCH_IN_RESULT_TAB,
    FIND_ROWS,
    FIND_ROWS_AND,
    FUNCTIONS,
    MESSAGES,
)
from sap_simulator.interfaces import (
    INTERFACES,
    STRUCTURES,
    FunctionDescription,
    Structures,
    StructureTable,
    Truncations,
    fill_parameters,
    function_description,
)
from sap_simulator.records import CustomerRecord, Session, ides_reference_customers


class SimulatedSap:
    """An in-memory SAP system reachable through `sap_simulator.Connection`.

    `credentials` (user, password): when given, connections must log on with them (LogonError
    otherwise); when None, any logon is accepted. `structures` replaces the DDIC structures (another
    release: a field missing, another length); `today` is the system date KNA1-ERDAT gets. `sleep` is
    how the system waits out its latency and a connection its call timeout (time.sleep; a test passes
    one that only records the wait, so a slow SAP costs it no time).

    How BAPI_CUSTOMER_FIND answers, which the published interface does not settle (functions.find):
    `find_rows` "and" (a customer must match every SELOPT_TAB row; one result row per customer) or
    "per_criterion" (each row searched on its own; one result row per criterion a customer matches, the
    criterion echoed in it, as BAPIKNA111's shape suggests); `find_no_match` where "nothing found" is
    said: "result_tab" (one RESULT_TAB row with TYPE E and no customer), "return" (the RETURN export,
    RESULT_TAB empty) or "empty" (no message at all: RESULT_TAB empty, RETURN initial);
    `find_no_match_message` the (class, number) it says it with. Public attributes: a test may change
    them on a running system.
    """

    def __init__(
        self,
        customizing: Customizing | None = None,
        credentials: tuple[str, str] | None = None,
        faults: FaultPlan | None = None,
        with_reference_customers: bool = True,
        structures: Structures | None = None,
        today: Callable[[], date] = date.today,
        sleep: Callable[[float], object] = time.sleep,
        find_rows: str = FIND_ROWS_AND,
        find_no_match: str = FIND_NO_MATCH_IN_RESULT_TAB,
        find_no_match_message: tuple[str, str] | None = None,
    ) -> None:
        if find_rows not in FIND_ROWS:
            raise ValueError(f"find_rows: one of {', '.join(FIND_ROWS)}, not {find_rows!r}")
        if find_no_match not in FIND_NO_MATCH:
            raise ValueError(f"find_no_match: one of {', '.join(FIND_NO_MATCH)}, not {find_no_match!r}")
        self.find_rows = find_rows
        self.find_no_match = find_no_match
        self.find_no_match_message = find_no_match_message or MESSAGES["no_customer_found"][:2]
        self.customizing = customizing or Customizing()
        self.structures: Structures = StructureTable(
            copy.deepcopy(dict(structures if structures is not None else STRUCTURES))
        )
        self.today = today
        self.sleep = sleep
        self.truncations = Truncations()
        self.credentials = credentials
        self.faults = faults or FaultPlan()
        self.customers: dict[str, CustomerRecord] = {}
        self.sessions: dict[int, Session] = {}
        self.calls: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._session_ids = itertools.count(1)
        self._next_numbers = {group: first for group, (first, _) in self.customizing.number_ranges.items()}
        if with_reference_customers:
            for record in ides_reference_customers():
                self.customers[record.number] = record

    # ------------------------------------------------------------------ configuration and inspection

    def configure_faults(self, text: str | None) -> FaultPlan:
        """Replace the fault plan with one parsed from a settings string (see faults.py)."""
        plan = FaultPlan.parse(text)
        with self._lock:
            self.faults = plan
        return plan

    def add_customer(self, record: CustomerRecord) -> None:
        """Put a committed customer straight into the database (test setup)."""
        with self._lock:
            self.customers[record.number] = record

    def customer(self, number: str) -> CustomerRecord | None:
        with self._lock:
            return self.customers.get(number)

    def customers_where(self, address_field: str, value: str) -> list[CustomerRecord]:
        """Committed customers whose address field (BAPIKNA106 name) holds exactly `value`."""
        with self._lock:
            return [r for _, r in sorted(self.customers.items()) if r.address.get(address_field) == value]

    def created_customers(self) -> list[CustomerRecord]:
        """Committed customers other than the reference customers the system starts with."""
        with self._lock:
            return [r for _, r in sorted(self.customers.items()) if r.general.get("ENTERED_BY") != "IDES"]

    def describe(self, function_name: str) -> FunctionDescription:
        """RfcGetFunctionDesc: the function's interface as this system's DDIC has it."""
        return function_description(function_name, self.structures)

    @property
    def customer_count(self) -> int:
        with self._lock:
            return len(self.customers)

    @property
    def open_sessions(self) -> int:
        with self._lock:
            return len(self.sessions)

    def draw_customer_number(self, account_group: str) -> str | None:
        """The next internal number of the group's range; None when exhausted. Never handed out twice."""
        with self._lock:
            interval = self.customizing.number_ranges.get(account_group)
            if interval is None:
                return None
            number = self._next_numbers.get(account_group, interval[0])
            if number > interval[1]:
                return None
            self._next_numbers[account_group] = number + 1
            return str(number).zfill(10)

    # ------------------------------------------------------------------ the RFC side

    def open_session(self, logon_parameters: Mapping[str, Any]) -> int:
        """RfcOpenConnection: network faults, logon check, a new session."""
        self._network_delay()
        self._raise_if_unreachable()
        if self.faults.logon_error:
            raise LogonError("Name or password is incorrect (repeat logon)")
        if self.credentials is not None:
            user, password = self.credentials
            if (
                str(logon_parameters.get("user", "")).upper() != user.upper()
                or logon_parameters.get("passwd") != password
            ):
                raise LogonError("Name or password is incorrect (repeat logon)")
        with self._lock:
            session = Session(next(self._session_ids), str(logon_parameters.get("user", "")).upper())
            self.sessions[session.session_id] = session
            self.counters["logons"] += 1
            return session.session_id

    def close_session(self, session_id: int) -> None:
        """RfcCloseConnection: what the session did not commit is gone."""
        with self._lock:
            self.sessions.pop(session_id, None)

    def prepare(self, function_name: str, params: Mapping[str, Any], check_date: bool = True) -> dict[str, Any]:
        """RfcGetFunctionDesc + filling the container: what pyrfc does before RfcInvoke. Its errors
        (unknown function, unknown field, wrong type) never reconnect (pyrfc tests the reconnect
        groups on RfcInvoke's error only; pyrfcx's facade says the same). `check_date`: the
        connection's config option (pyrfc 3.4)."""
        if function_name not in INTERFACES:
            raise ABAPApplicationError(
                f"ID:FL Type:E Number:046 {function_name}", 5, "FU_NOT_FOUND", "FL", "E", "046", function_name
            )
        return fill_parameters(function_name, params, self.structures, self.truncations, check_date)

    def call(self, session_id: int, function_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """prepare + invoke (tests that talk to the system without a Connection)."""
        return self.invoke(session_id, function_name, self.prepare(function_name, params))

    def invoke(self, session_id: int, function_name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """RfcInvoke on an open session; raises pyrfc's errors, drops the session on communication errors."""
        self._network_delay()
        with self._lock:
            self.calls[function_name] += 1
        if not self._reachable() or self.faults.should_fire("communication_before"):
            self._drop(session_id)
            raise _partner_not_reached()
        if self.faults.should_fire("external_runtime_error"):
            self._drop(session_id)  # pyrfc reopens after EXTERNAL_RUNTIME_FAILURE: the old session is gone
            raise ExternalRuntimeError("An invalid handle was passed to the API call", 13, "RFC_INVALID_HANDLE")
        if function_name in _WRITING_BAPIS and self.faults.should_fire("abap_runtime_error"):
            self._drop(session_id)  # a short dump ends the ABAP session
            raise ABAPRuntimeError(
                "The current application triggered a termination with a short dump.", 3, "MESSAGE_TYPE_X"
            )
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise _connection_lost()
            result = _FUNCTIONS[function_name](self, session, inputs)
        if (
            function_name == "BAPI_CUSTOMER_CREATEFROMDATA1"
            and result["CUSTOMERNO"]
            and self.faults.should_fire("communication_after_bapi")
        ):
            self._drop(session_id)
            raise _connection_lost()
        if (
            function_name == "BAPI_CUSTOMER_CHANGEFROMDATA1"
            and result["RETURN"]["TYPE"] not in ("E", "A")
            and self.faults.should_fire("communication_after_change")
        ):
            self._drop(session_id)  # the change ran, uncommitted; the session and with it the change are gone
            raise _connection_lost()
        if function_name == "BAPI_TRANSACTION_COMMIT" and self.faults.should_fire("communication_after_commit"):
            self._drop(session_id)
            raise _connection_lost()
        return result

    def _drop(self, session_id: int) -> None:
        with self._lock:
            if self.sessions.pop(session_id, None) is not None:
                self.counters["dropped_sessions"] += 1

    def _reachable(self) -> bool:
        return not self.faults.down and not self.faults.take_failing_call()

    def _raise_if_unreachable(self) -> None:
        if not self._reachable():
            raise _partner_not_reached()

    def _network_delay(self) -> None:
        if self.faults.latency_ms:
            self.sleep(self.faults.latency_ms / 1000)


_FUNCTIONS = {**FUNCTIONS, **CHANGE_FUNCTIONS}
# The BAPIs that write (a short dump may end them: abap_runtime_error).
_WRITING_BAPIS = ("BAPI_CUSTOMER_CREATEFROMDATA1", "BAPI_CUSTOMER_CHANGEFROMDATA1")


def _partner_not_reached() -> CommunicationError:
    return CommunicationError("partner 'sapsim:3300' not reached", 1, "RFC_COMMUNICATION_FAILURE")


def _connection_lost() -> CommunicationError:
    return CommunicationError("connection closed without message (CM_NO_DATA_RECEIVED)", 1, "RFC_COMMUNICATION_FAILURE")
