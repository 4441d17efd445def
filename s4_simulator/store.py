"""The S/4 double's database: every entity it holds and its number ranges, in one SQLite file (or in
memory), as sap_simulator/store.py keeps the RFC simulator's customers.

Why on disk: the crash tests kill the functions host, the agent or the double itself with SIGKILL; a real
S/4HANA keeps every Business Partner whose create it answered, whichever application server served it,
and never hands a number out twice. So a modifying request writes all it creates (a deep insert's
partner, address, phone, e-mail, roles and CVI's customer) and the numbers it drew in ONE SQLite
transaction, committed before the answer is sent (the OData deep insert is atomic: "On failure, the
service MUST NOT create any of the entities", SAP tutorial "Create and Deep Insert with the Virtual Data
Model for OData"). The file is opened as every double's state file is (doubles/state_file.py: WAL with
synchronous=FULL, durable across a crash of the process and a power loss after the commit; every write
begins with BEGIN IMMEDIATE, so several processes on one file never draw the same number); reads go to
the file each time, so one process sees what another committed.

Rows are stored generically: entity set, key (JSON list of the key values in the facts' key order),
parent (the key of the entity a navigation leads from, for to-many lookups), external id (the
A_BusinessPartner filter column, indexed), the record (JSON) and its ETag.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doubles.state_file import immediate_transaction, open_state

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entities (seq INTEGER PRIMARY KEY AUTOINCREMENT, entity_set TEXT NOT NULL, "
    "entity_key TEXT NOT NULL, parent_key TEXT, external_id TEXT, record TEXT NOT NULL, etag TEXT NOT NULL, "
    "UNIQUE (entity_set, entity_key))",
    "CREATE INDEX IF NOT EXISTS entities_parent ON entities (entity_set, parent_key)",
    "CREATE INDEX IF NOT EXISTS entities_external_id ON entities (entity_set, external_id)",
    "CREATE TABLE IF NOT EXISTS number_ranges (name TEXT PRIMARY KEY, next_number INTEGER NOT NULL)",
)


class S4StateError(RuntimeError):
    """The state file cannot be used (another program's file, another schema, unreadable)."""


@dataclass(frozen=True)
class Row:
    entity_set: str
    key: tuple[str, ...]
    record: dict[str, Any]
    etag: str


def key_text(key: Sequence[str]) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def _row(entity_set: str, key: str, record: str, etag: str) -> Row:
    return Row(entity_set, tuple(json.loads(key)), json.loads(record), etag)


class Transaction:
    """The reads and writes of one modifying request; committed together or not at all."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def get(self, entity_set: str, key: Sequence[str]) -> Row | None:
        found = self._connection.execute(
            "SELECT record, etag FROM entities WHERE entity_set = ? AND entity_key = ?",
            (entity_set, key_text(key)),
        ).fetchone()
        return None if found is None else _row(entity_set, key_text(key), *found)

    def children(self, entity_set: str, parent: Sequence[str]) -> list[Row]:
        rows = self._connection.execute(
            "SELECT entity_key, record, etag FROM entities WHERE entity_set = ? AND parent_key = ? ORDER BY seq",
            (entity_set, key_text(parent)),
        ).fetchall()
        return [_row(entity_set, *found) for found in rows]

    def with_external_id(self, entity_set: str, external_id: str) -> list[Row]:
        rows = self._connection.execute(
            "SELECT entity_key, record, etag FROM entities WHERE entity_set = ? AND external_id = ? ORDER BY seq",
            (entity_set, external_id),
        ).fetchall()
        return [_row(entity_set, *found) for found in rows]

    def all(self, entity_set: str) -> list[Row]:
        rows = self._connection.execute(
            "SELECT entity_key, record, etag FROM entities WHERE entity_set = ? ORDER BY seq", (entity_set,)
        ).fetchall()
        return [_row(entity_set, *found) for found in rows]

    def put(
        self,
        entity_set: str,
        key: Sequence[str],
        record: dict[str, Any],
        etag: str,
        *,
        parent: Sequence[str] | None = None,
        external_id: str | None = None,
    ) -> None:
        """Insert the entity, or replace it (keeping its place, and its parent when none is given) when the key
        is there."""
        self._connection.execute(
            "INSERT INTO entities (entity_set, entity_key, parent_key, external_id, record, etag) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity_set, entity_key) DO UPDATE SET "
            "parent_key = COALESCE(excluded.parent_key, entities.parent_key), external_id = excluded.external_id, "
            "record = excluded.record, etag = excluded.etag",
            (
                entity_set,
                key_text(key),
                None if parent is None else key_text(parent),
                external_id,
                json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
                etag,
            ),
        )

    def draw_number(self, name: str, first: int) -> int:
        """The next number of range `name` (starting at `first`); never handed out again."""
        found = self._connection.execute("SELECT next_number FROM number_ranges WHERE name = ?", (name,)).fetchone()
        number = first if found is None else max(int(found[0]), first)
        self._connection.execute(
            "INSERT INTO number_ranges (name, next_number) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET next_number = excluded.next_number",
            (name, number + 1),
        )
        return number


class S4Database:
    """One SQLite database (a file, or memory when `path` is None) used by any thread under a lock."""

    def __init__(self, path: str | Path | None = None, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = None if path is None else Path(path)
        self._lock = threading.Lock()
        self._connection = open_state(
            self.path,
            schema=_SCHEMA,
            version=f"s4-{SCHEMA_VERSION}",
            busy_timeout_seconds=busy_timeout_seconds,
            error=S4StateError,
            usable_as="the S/4 double's state",
            other_version=lambda found: (
                f"a state file of schema {found}, this double reads s4-{SCHEMA_VERSION}; delete it to start empty"
            ),
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK when the block raises); on disk when it returns."""
        with self._lock, immediate_transaction(self._connection) as connection:
            yield Transaction(connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()
