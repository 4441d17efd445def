"""The SQLite file a double keeps its system's data in, opened the same way by every double that has one.

sap_simulator/store.py (the RFC simulator's customers) and s4_simulator/store.py (the S/4 double's entities)
keep what their system committed on disk, because the crash tests kill processes with SIGKILL and a real SAP
system keeps what it answered as committed. How, and where each fact comes from:

* Durable once a commit returned: journal mode WAL with `synchronous=FULL` (SQLite's PRAGMA documentation:
  transactions are durable across application crashes whatever the setting; with FULL in WAL mode the WAL is
  synced at every commit, so a power loss after the answer loses nothing either).
* Several processes on one file: WAL lets readers go on while one process writes; every write starts with
  BEGIN IMMEDIATE (the write lock is taken before anything is read, so two processes never both read the same
  next number); a writer that finds the lock taken waits up to the busy timeout (sqlite3's `timeout`,
  SQLite's busy handler) instead of failing.
* One statement at a time: sqlite3's executescript would first commit the BEGIN IMMEDIATE they run in.
* The schema's version stands in the table `about` (key 'schema'); a file of another version is refused.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

_ABOUT = "CREATE TABLE IF NOT EXISTS about (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def open_state(
    path: Path | None,
    *,
    schema: Sequence[str],
    version: str,
    busy_timeout_seconds: float,
    error: type[Exception],
    usable_as: str,
    other_version: Callable[[str], str],
) -> sqlite3.Connection:
    """A connection to the state file at `path` (memory when None: no WAL, nothing to share) with `schema`
    created and its version checked. Usable from any thread when the caller serialises its calls
    (`check_same_thread=False`); no implicit transactions (`isolation_level=None`): every write says BEGIN
    IMMEDIATE itself (immediate_transaction). A file that is not SQLite, or of another version, raises
    `error`: "<path>: not usable as <usable_as>: ..." or "<path>: <other_version(found)>"."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    target = ":memory:" if path is None else str(path)
    connection = sqlite3.connect(target, timeout=busy_timeout_seconds, isolation_level=None, check_same_thread=False)
    try:
        if path is not None:
            _switch_to_wal(connection, busy_timeout_seconds)
            connection.execute("PRAGMA synchronous=FULL")
        with immediate_transaction(connection):
            for statement in (*schema, _ABOUT):
                connection.execute(statement)
            found = connection.execute("SELECT value FROM about WHERE key = 'schema'").fetchone()
            if found is None:
                connection.execute("INSERT INTO about (key, value) VALUES ('schema', ?)", (version,))
            elif found[0] != version:
                raise error(f"{path}: {other_version(found[0])}")
    except sqlite3.DatabaseError as database_error:
        connection.close()
        raise error(f"{path}: not usable as {usable_as}: {database_error}") from None
    except error:
        connection.close()
        raise
    return connection


@contextmanager
def immediate_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK when the block raises); on disk when it returns."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _switch_to_wal(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """PRAGMA journal_mode=WAL, which needs the file to itself for a moment: two processes opening a new file
    at once may get SQLITE_BUSY without the busy handler being asked (SQLite answers a journal-mode change
    that way), so wait here instead."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
