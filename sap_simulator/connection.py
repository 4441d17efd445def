"""`Connection`, shaped like pyrfc's: opens on construction, call/ping/close, alive, context manager."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sap_simulator.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    CommunicationError,
    ExternalRuntimeError,
    LogonError,
    RFCError,
)
from sap_simulator.interfaces import FunctionDescription
from sap_simulator.system import SimulatedSap
from shared.hosting import running_in_azure

# pyrfc 3.4 reopens the connection inside call() when RfcInvoke fails with one of these error groups
# (ABAP_RUNTIME_FAILURE, LOGON_FAILURE, COMMUNICATION_FAILURE, EXTERNAL_RUNTIME_FAILURE) or with code
# RFC_ABAP_MESSAGE (4) (SAP/PyRFC src/pyrfc/_cyrfc.pyx, Connection.call; pyrfcx's _RECONNECT_GROUPS).
_REOPENING_ERRORS = (CommunicationError, ABAPRuntimeError, LogonError, ExternalRuntimeError)
_RFC_ABAP_MESSAGE = 4

# pyrfc 3.4's Connection(config=...) options; anything else is refused as pyrfc refuses it (SAP/PyRFC
# src/pyrfc/_cyrfc.pyx, Connection.__init__: dtime, return_import_params, rstrip, check_date, check_time,
# timeout; check_date and check_time default to True).
_CONFIG_OPTIONS = ("dtime", "return_import_params", "rstrip", "check_date", "check_time", "timeout")


class Connection:
    """A client connection (one RFC session) to a SimulatedSap.

    Like pyrfc 3's: construction logs on (LogonError, CommunicationError). A CommunicationError
    drops the session and the failing call reconnects at once (a new, empty session, so a COMMIT
    sent after it commits nothing); if that reconnect fails, its error is raised instead and the
    connection is closed. close() ends the session and with it everything not committed; a call on a
    closed connection raises RFCError. config "timeout" (or the call's options "timeout") cancels a
    call that takes longer: CommunicationError code 7 RFC_CANCELED, on a new session.

    Differences from pyrfc: `system=` picks the simulated system (default: the process-wide one),
    and logon parameters may be empty (a simulator needs no address).
    """

    def __init__(
        self, config: Mapping[str, Any] | None = None, *, system: SimulatedSap | None = None, **params: Any
    ) -> None:
        from sap_simulator import default_system

        if running_in_azure():
            # Never a fake SAP in production: a deployed app that reaches here was misconfigured.
            raise RFCError(
                "the SAP simulator refuses to serve inside an Azure-hosted function app "
                "(WEBSITE_SITE_NAME is set); set SAP_TRANSPORT to rfc or relay"
            )
        options = dict(config or {})
        for option in options:
            if option not in _CONFIG_OPTIONS:
                raise RFCError(f"Connection configuration option '{option}' is not supported")
        self.__config = {
            "rstrip": options.get("rstrip", True),
            "return_import_params": options.get("return_import_params", False),
            "dtime": options.get("dtime", False),
            "check_date": options.get("check_date", True),
            "check_time": options.get("check_time", True),
            "timeout": options.get("timeout"),
        }
        self._system = system if system is not None else default_system()
        self._params = dict(params)
        self._session_id: int | None = None
        self._closed = False
        self._dead_handle = False
        self._open()

    # pyrfc's public surface --------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._session_id is not None

    @property
    def options(self) -> dict[str, Any]:
        return self.__config

    def open(self) -> None:
        self._open()

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        self._closed = True
        if self._session_id is not None:
            self._system.close_session(self._session_id)
            self._session_id = None

    def free(self) -> None:
        self.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: object, exc_value: object, traceback: object) -> None:
        self.close()

    def __bool__(self) -> bool:
        return self.alive

    def ping(self) -> None:
        if self._closed or self._session_id is None:
            raise RFCError("RFC invocation rejected because the connection is closed")
        try:
            self._system.invoke(self._session_id, "RFC_PING", {})
        except CommunicationError:
            self._session_id = None  # the handle is dead; pyrfc does not reopen after RfcPing
            self._dead_handle = True
            raise

    def get_function_description(self, func_name: str) -> FunctionDescription:
        """RfcGetFunctionDesc, as pyrfc's: the interface in pyrfc's FunctionDescription shape."""
        if self._closed or self._session_id is None:
            raise RFCError("RFC invocation rejected because the connection is closed")
        name = func_name.upper()
        try:
            return self._system.describe(name)
        except KeyError:
            raise ABAPApplicationError(
                f"ID:FL Type:E Number:046 {name}", 5, "FU_NOT_FOUND", "FL", "E", "046", name
            ) from None

    def call(self, func_name: str, options: Mapping[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        if not isinstance(func_name, str):
            raise RFCError("Remote function module name must be unicode string, received:", func_name, type(func_name))
        if self._dead_handle:
            self._dead_handle = False
            self._reconnect_or_raise()
            raise ExternalRuntimeError("An invalid handle was passed to the API call", 13, "RFC_INVALID_HANDLE")
        if self._closed or self._session_id is None:
            raise RFCError(f"Remote function module '{func_name}' invocation rejected because the connection is closed")
        inputs = self._system.prepare(func_name, params, check_date=bool(self.__config["check_date"]))
        timeout = (options or {}).get("timeout") or self.__config["timeout"]
        if timeout and self._system.faults.latency_ms / 1000 > timeout:
            self._system.sleep(timeout)  # the call runs until pyrfc cancels it
            canceled = self._session_id
            self._system.close_session(canceled)
            self._session_id = None
            self._reconnect_or_raise()
            raise CommunicationError(
                f"Connection was canceled: {canceled}. New handle: {self._session_id}", 7, "RFC_CANCELED"
            )
        try:
            result = self._system.invoke(self._session_id, func_name, inputs)
        except RFCError as error:
            if isinstance(error, _REOPENING_ERRORS) or (
                isinstance(error, ABAPApplicationError) and getattr(error, "code", None) == _RFC_ABAP_MESSAGE
            ):
                self._system.close_session(self._session_id)
                self._session_id = None
                self._reconnect_or_raise()
            raise
        not_requested = set((options or {}).get("not_requested", ()))
        answer = {name: value for name, value in result.items() if name not in not_requested}
        if self.__config["return_import_params"]:
            answer = {**params, **answer}
        return answer

    def _open(self) -> None:
        self._closed = False
        if self._session_id is None:
            self._session_id = self._system.open_session(self._params)

    def _reconnect_or_raise(self) -> None:
        """pyrfc reopens inside the failing call; a failed reopen (e.g. LogonError) is what the caller sees."""
        try:
            self._session_id = self._system.open_session(self._params)
        except RFCError:
            self._closed = True
            raise
