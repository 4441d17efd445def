"""An in-memory stand-in for the SAP side of the change path (issue 26), for the app's tests until the
simulator's CHANGEFROMDATA1/GETDETAIL2 (H8) is in: it wraps a real gateway for everything the create does
and keeps, per customer, the PI_COMPANYDATA it was created with, so read_customer answers it and
change_customer applies exactly the fields the change names (CHANGEFROMDATA1's X-flag rule: "only flagged
fields change", stechno.net's page of the function). Counts each call; scripts faults and SAP-side edits.

Not a referee of SAP: it holds the port's contract (shared/sap/port.py) only. The acceptance tests run on
the simulator itself once it changes customers (tests/e2e/test_changes_e2e.py).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.core.guard import customer_key
from shared.core.models import CustomerCreation
from shared.sap import SapBusinessRejection, SapGateway, SapInterface, SapMessage, SapOutcomeUnknown
from shared.sap.port import SapCustomerCreated


class InMemoryChangeSap(SapGateway):
    def __init__(self, inner: SapGateway) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.records: dict[str, dict[str, str]] = {}
        self.calls: Counter[str] = Counter()
        self.changes: list[CustomerChange] = []  # every change SAP took, in order
        # Faults, each used once: a callable deciding per change whether to raise, before or after applying.
        self.fail_before: list[Exception] = []
        self.lose_answer_after_change: Callable[[CustomerChange], bool] = lambda change: False

    def check_interface(self) -> SapInterface:
        return self._inner.check_interface()

    def ping(self) -> None:
        self._inner.ping()

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        created = self._inner.create_customer(creation)
        with self._lock:
            self.records.setdefault(customer_key(created.customer_number), dict(creation.parameters["PI_COMPANYDATA"]))
        return created

    def read_customer(self, customer_number: str) -> SapCustomerSnapshot:
        with self._lock:
            self.calls["read"] += 1
            record = self.records.get(customer_key(customer_number))
        if record is None:
            raise SapBusinessRejection((SapMessage("E", "F2", "163", f"Customer {customer_number} does not exist"),))
        return SapCustomerSnapshot(customer_number, dict(record))

    def change_customer(self, change: CustomerChange) -> SapCustomerChanged:
        with self._lock:
            self.calls["change"] += 1
            if self.fail_before:
                raise self.fail_before.pop(0)
            record = self.records[customer_key(change.customer_number)]
            record.update(change.company_data)
            self.changes.append(change)
        if self.lose_answer_after_change(change):
            raise SapOutcomeUnknown("connection reset after BAPI_TRANSACTION_COMMIT (scripted)")
        return SapCustomerChanged(change.customer_number)

    def edit_in_sap(self, customer_number: str, **fields: str) -> None:
        """A person changes the customer in SAP (XD02)."""
        with self._lock:
            self.records[customer_key(customer_number)].update(fields)


class SteppingClock:
    """The services' clock for tests that drain the queue without waiting: it stands still within a round of
    the queue trigger (a live claim stays live for the others of the round) and `advance` moves it past every
    delay between rounds, as the queue's invisibility would."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta
