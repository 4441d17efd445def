"""The simulated SAP system's database in a file (SQLite): committed customers and the customer number
range outlive the process and are shared by every process that opens the same file, as one SAP
system's database is shared by all its application servers.

Why: the crash tests kill the functions host or the on-premise agent with SIGKILL, and the failover test
runs two agents; a real SAP keeps every customer whose BAPI_TRANSACTION_COMMIT answered, whichever work
process served it, shows it to the next BAPI_CUSTOMER_FIND from anywhere, and never hands a customer
number out twice. Local runs and tests only (SAP_SIMULATOR_STATE_FILE, sap_simulator/__init__.py).

How each of those holds here, and where the fact comes from (the file is opened as every double's state
file is: doubles/state_file.py, WAL, synchronous=FULL, BEGIN IMMEDIATE, the busy timeout):

* Durable once COMMIT answered: BAPI_TRANSACTION_COMMIT writes its customers in one SQLite transaction
  before it answers (durable across a crash, and a power loss after the answer: doubles/state_file.py).
* Several processes on one file: every write starts with BEGIN IMMEDIATE, so two processes can never
  both read the same next number, and a writer that finds the lock taken waits up to
  BUSY_TIMEOUT_SECONDS instead of failing.
* The number range (SAP: number range object DEBITOR in table NRIV): drawn when
  BAPI_CUSTOMER_CREATEFROMDATA1 runs, in a transaction of its own, and never given back, also when
  the LUW is rolled back or its session is lost (the in-memory simulator's rule; whether a real SAP
  returns an unbuffered number on rollback is unverified here, and a gap is the safe side).
* Reads see what other processes committed: every listing first reads the rows committed since it last
  looked (an AUTOINCREMENT sequence, never reused). A committed customer never changes (the product
  calls no change BAPI), so a record read once stays right; `add_customer` (test setup) replaces one by
  writing it again, which other processes see at their next listing.

Not modelled: deleting customers, archiving, several SAP clients (MANDT) in one file.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from doubles.state_file import immediate_transaction, open_state
from sap_simulator.records import CustomerRecord, ides_reference_customers
from sap_simulator.system import SimulatedSap

SCHEMA_VERSION = 1
# A writer waits this long for another process's transaction (a commit takes milliseconds).
BUSY_TIMEOUT_SECONDS = 10.0

# One statement each (doubles/state_file.py says why); the table `about` is the state file's own.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS customers (seq INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, "
    "account_group TEXT NOT NULL, name TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS number_ranges (account_group TEXT PRIMARY KEY, next_number INTEGER NOT NULL)",
)


class SapStateError(RuntimeError):
    """The state file cannot be used (another program's file, a newer schema, unreadable)."""


def record_to_json(record: CustomerRecord) -> str:
    data = dataclasses.asdict(record)
    # Sales areas are keyed by (organization, channel, division), which a JSON object cannot be.
    data["sales_areas"] = [[list(key), value] for key, value in record.sales_areas.items()]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def record_from_json(text: str) -> CustomerRecord:
    data = json.loads(text)
    areas = {tuple(key): value for key, value in data.pop("sales_areas", [])}
    return CustomerRecord(**data, sales_areas=areas)


class SapDatabase:
    """One SQLite file as the SAP system's database: its customers and number ranges.

    One connection per instance, used by any thread under the instance's lock (sqlite3 objects may
    cross threads when calls are serialised; `check_same_thread=False`)."""

    def __init__(self, path: str | Path, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen = 0  # the highest customers.seq this instance has read
        self._connection = open_state(
            self.path,
            schema=_SCHEMA,
            version=str(SCHEMA_VERSION),
            busy_timeout_seconds=busy_timeout_seconds,
            error=SapStateError,
            usable_as="the SAP simulator's state",
            other_version=lambda found: (
                f"SAP simulator state of schema {found}, this code reads {SCHEMA_VERSION}; "
                "delete the file (scripts/run --fresh) to start empty"
            ),
        )

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # ------------------------------------------------------------------ customers

    def commit_customers(self, records: Iterable[CustomerRecord], *, replace: bool = True) -> None:
        """Write the records in one transaction; returns once it is on disk. `replace=False` keeps a
        customer already there (the reference customers every opener seeds)."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        rows = [(r.number, r.account_group, r.address.get("NAME", ""), record_to_json(r)) for r in records]
        with self._lock, immediate_transaction(self._connection) as connection:
            connection.executemany(
                f"{verb} INTO customers (number, account_group, name, record) VALUES (?, ?, ?, ?)", rows
            )

    def committed_since_last_read(self) -> list[CustomerRecord]:
        """The customers committed (by any process) since this instance last asked, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT seq, record FROM customers WHERE seq > ? ORDER BY seq", (self._seen,)
            ).fetchall()
            if rows:
                self._seen = rows[-1][0]
        return [record_from_json(text) for _, text in rows]

    def customer_numbers(self) -> list[str]:
        with self._lock:
            return [number for (number,) in self._connection.execute("SELECT number FROM customers ORDER BY number")]

    # ------------------------------------------------------------------ the number range

    def draw_number(self, account_group: str, first: int, last: int) -> str | None:
        """The next number of the group's interval [first, last], or None when it is exhausted; committed
        before it is returned, so no process ever gets it again."""
        with self._lock, immediate_transaction(self._connection) as connection:
            row = connection.execute(
                "SELECT next_number FROM number_ranges WHERE account_group = ?", (account_group,)
            ).fetchone()
            number = first if row is None else max(int(row[0]), first)
            if number > last:
                return None
            connection.execute(
                "INSERT INTO number_ranges (account_group, next_number) VALUES (?, ?) "
                "ON CONFLICT (account_group) DO UPDATE SET next_number = excluded.next_number",
                (account_group, number + 1),
            )
        return str(number).zfill(10)


class CommittedCustomers(MutableMapping[str, CustomerRecord]):
    """`SimulatedSap.customers` over the database: what the BAPIs read and COMMIT writes. Listing and
    counting catch up with every process's commits; a lookup by number catches up when it misses."""

    def __init__(self, database: SapDatabase) -> None:
        self.database = database
        self._records: dict[str, CustomerRecord] = {}

    def _catch_up(self) -> None:
        for record in self.database.committed_since_last_read():
            self._records[record.number] = record

    def __getitem__(self, number: str) -> CustomerRecord:
        if number not in self._records:
            self._catch_up()
        return self._records[number]

    def __contains__(self, number: object) -> bool:
        if number not in self._records:
            self._catch_up()
        return number in self._records

    def __iter__(self) -> Iterator[str]:
        self._catch_up()
        return iter(list(self._records))

    def __len__(self) -> int:
        self._catch_up()
        return len(self._records)

    def __setitem__(self, number: str, record: CustomerRecord) -> None:
        self.update({number: record})

    def update(
        self,
        other: Mapping[str, CustomerRecord] | Iterable[tuple[str, CustomerRecord]] = (),  # type: ignore[override]
        /,
    ) -> None:
        """All of them in one transaction: BAPI_TRANSACTION_COMMIT's LUW is all or nothing."""
        pairs = list(other.items() if isinstance(other, Mapping) else other)
        for number, record in pairs:
            if number != record.number:
                raise ValueError(f"customer {record.number} filed under {number}")
        self.database.commit_customers(record for _, record in pairs)
        self._catch_up()

    def __delitem__(self, number: str) -> None:
        raise TypeError("the simulator's SAP database keeps what was committed (there is no delete BAPI)")


class SimulatedSapOnFile(SimulatedSap):
    """A `SimulatedSap` whose committed customers and number ranges live in `state_file` (SQLite),
    shared with every other process that opens the same file. Sessions, pending (uncommitted) customers,
    faults and counters stay in this process, as a work process's memory does."""

    def __init__(
        self,
        state_file: str | Path,
        *,
        with_reference_customers: bool = True,
        busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS,
        **options: Any,
    ) -> None:
        super().__init__(with_reference_customers=False, **options)
        self.database = SapDatabase(state_file, busy_timeout_seconds)
        self.state_file = self.database.path
        if with_reference_customers:
            self.database.commit_customers(ides_reference_customers(), replace=False)
        self.customers = CommittedCustomers(self.database)  # type: ignore[assignment]

    def draw_customer_number(self, account_group: str) -> str | None:
        interval = self.customizing.number_ranges.get(account_group)
        if interval is None:
            return None
        return self.database.draw_number(account_group, *interval)

    def close(self) -> None:
        self.database.close()


def created_customers_in(state_file: str | Path) -> list[CustomerRecord]:
    """The customers other than the reference customers in a state file, by number (what a test or the
    run command reads after the processes that wrote them are gone)."""
    database = SapDatabase(state_file)
    try:
        records = database.committed_since_last_read()
    finally:
        database.close()
    latest = {record.number: record for record in records}
    return [latest[n] for n in sorted(latest) if latest[n].general.get("ENTERED_BY") != "IDES"]
