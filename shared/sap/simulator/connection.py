"""`Connection`, shaped like pyrfc's: opens on construction, call/ping/close, alive, context manager."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.sap.simulator.errors import CommunicationError, RFCError
from shared.sap.simulator.system import SimulatedSap


class Connection:
    """A client connection (one RFC session) to a SimulatedSap.

    Like pyrfc's: construction logs on (LogonError, CommunicationError); after a CommunicationError
    the session is gone and the next call silently opens a new one, so a COMMIT sent after it
    commits nothing; close() ends the session and with it everything not committed.

    Differences from pyrfc: `system=` picks the simulated system (default: the process-wide one),
    and logon parameters may be empty (a simulator needs no address).
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, system: SimulatedSap | None = None,
                 **params: Any) -> None:
        from shared.sap.simulator import default_system

        options = dict(config or {})
        self.__config = {
            "dtime": options.get("dtime", False),
            "return_import_params": options.get("return_import_params", False),
            "rstrip": options.get("rstrip", True),
            "timeout": options.get("timeout"),
        }
        self._system = system if system is not None else default_system()
        self._params = dict(params)
        self._session_id: int | None = None
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
        self.call("RFC_PING")

    def call(self, func_name: str, options: Mapping[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        if not isinstance(func_name, str):
            raise RFCError("Remote function module name must be unicode string, received:", func_name,
                           type(func_name))
        if self._session_id is None:
            self._open()  # pyrfc reconnects silently: a new, empty session
        assert self._session_id is not None
        try:
            result = self._system.call(self._session_id, func_name, params)
        except CommunicationError:
            self._session_id = None
            raise
        not_requested = set((options or {}).get("not_requested", ()))
        answer = {name: value for name, value in result.items() if name not in not_requested}
        if self.__config["return_import_params"]:
            answer = {**params, **answer}
        return answer

    def _open(self) -> None:
        if self._session_id is None:
            self._session_id = self._system.open_session(self._params)
