"""A bounded, thread-safe pool of RFC connections reused across units of work (issue 10).

* At most `size` connections exist at a time (idle plus checked out); `acquire` blocks until one is
  free or the caller's deadline (time.monotonic()) passes, then raises PoolExhausted.
* A connection is checked out to one caller (one thread, one unit of work) at a time and never handed
  to another until it is released: the one-session-per-unit rule of the rfc adapter holds.
* A connection that sat idle longer than `idle_check_seconds` is checked (`check`, pyrfc's `ping()`)
  before it is handed out; when the check fails it is closed and a new one opened in its place (SAP's
  gateway and firewalls cut idle RFC connections; pyrfc does not reopen after a failed ping).
* `release(connection, discard=True)` closes it instead of keeping it: the caller does so after any
  error in a unit, because pyrfc may have reopened the connection inside call() and the session (with
  whatever the unit had done in it) is gone.
* `close()` closes every idle connection at once and every checked-out one when it comes back;
  `acquire` after close raises PoolClosed.

Connections are opened outside the pool's lock (a logon takes time); the slot is reserved first, so the
bound holds while it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_IDLE_CHECK_SECONDS = 60.0


class PoolExhausted(Exception):
    """No connection became free before the deadline."""


class PoolClosed(Exception):
    """The pool was closed (the process is shutting down)."""


@dataclass
class _Idle:
    connection: Any
    since: float


class ConnectionPool:
    def __init__(
        self,
        open_connection: Callable[[], Any],
        size: int,
        *,
        idle_check_seconds: float = DEFAULT_IDLE_CHECK_SECONDS,
        check: Callable[[Any], object] = lambda connection: connection.ping(),
        close_connection: Callable[[Any], object] = lambda connection: connection.close(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError("a connection pool holds at least one connection")
        self.size = size
        self.idle_check_seconds = idle_check_seconds
        self._open = open_connection
        self._check = check
        self._close_connection = close_connection
        self._clock = clock  # for idle ages only; deadlines are time.monotonic()
        self._lock = threading.Condition()
        self._idle: list[_Idle] = []  # most recently released last (reused first: fewer idle checks)
        self._checked_out: dict[int, Any] = {}  # id(connection) -> connection
        self._opening = 0
        self._closed = False
        self.opened = 0  # connections opened so far (logons)
        self.replaced_after_check = 0
        self.discarded = 0

    # ------------------------------------------------------------------ inspection

    @property
    def total(self) -> int:
        with self._lock:
            return len(self._idle) + len(self._checked_out) + self._opening

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    @property
    def in_use(self) -> int:
        with self._lock:
            return len(self._checked_out)

    # ------------------------------------------------------------------ the pool

    def acquire(self, deadline: float | None = None) -> Any:
        """A connection for the caller alone, until it calls release(); blocks up to `deadline`."""
        with self._lock:
            while True:
                if self._closed:
                    raise PoolClosed("the SAP connection pool is closed")
                if self._idle:
                    entry = self._idle.pop()
                    self._checked_out[id(entry.connection)] = entry.connection
                    break
                if len(self._checked_out) + self._opening < self.size:
                    self._opening += 1
                    entry = None
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PoolExhausted(f"all {self.size} SAP connections stayed in use until the unit's deadline")
                self._lock.wait(remaining)
        if entry is None:
            return self._open_reserved()
        if self._clock() - entry.since > self.idle_check_seconds:
            try:
                self._check(entry.connection)
            except Exception as error:  # any failed check means: replace it
                logger.info("an idle SAP connection failed its check (%s); opening a new one", type(error).__name__)
                with self._lock:
                    self._checked_out.pop(id(entry.connection), None)
                    self._opening += 1
                    self.replaced_after_check += 1
                self._close_quietly(entry.connection)
                return self._open_reserved()
        return entry.connection

    def release(self, connection: Any, *, discard: bool = False) -> None:
        with self._lock:
            if self._checked_out.pop(id(connection), None) is None:
                raise ValueError("this connection is not checked out from this pool")
            keep = not discard and not self._closed
            if keep:
                self._idle.append(_Idle(connection, self._clock()))
            elif discard:
                self.discarded += 1
            self._lock.notify()
        if not keep:
            self._close_quietly(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for entry in idle:
            self._close_quietly(entry.connection)

    # ------------------------------------------------------------------ internals

    def _open_reserved(self) -> Any:
        """Open a connection in a slot already reserved (`_opening`); the slot is freed if that fails."""
        try:
            connection = self._open()
        except BaseException:
            with self._lock:
                self._opening -= 1
                self._lock.notify()
            raise
        with self._lock:
            self._opening -= 1
            self.opened += 1
            self._checked_out[id(connection)] = connection
            closed = self._closed
        if closed:
            self.release(connection)
            raise PoolClosed("the SAP connection pool is closed")
        return connection

    def _close_quietly(self, connection: Any) -> None:
        try:
            self._close_connection(connection)
        except Exception as error:
            logger.debug("closing a pooled SAP connection failed: %s", type(error).__name__)
