"""The bounded pool of RFC connections (shared/sap/pool.py) and the rfc adapter on it, against the simulator:
no logon per create, a connection broken by a fault is replaced, an idle one is pinged before reuse,
never two threads on one connection, one session per unit of work (guard search, create, commit)."""

from __future__ import annotations

import dataclasses
import threading
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import sap_simulator as simulator
from sap_simulator import SimulatedSap
from shared import bootstrap
from shared.sap import SapOutcomeUnknown, SapTransientError
from shared.sap.pool import ConnectionPool, PoolClosed, PoolExhausted
from shared.sap.rfc import RfcSapGateway
from shared.settings import SettingsError, load_settings
from tests.unit.test_rfc_gateway import LOGON, german_creation


@pytest.fixture
def system() -> Iterator[SimulatedSap]:
    with simulator.use_system(SimulatedSap()) as fresh:
        yield fresh


class Recorder:
    """A simulator module whose connections record every call: thread, connection, SAP session."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int | None, str]] = []
        self.owners: dict[int, int] = {}  # id(connection) -> the thread holding it for a unit
        self.violations: list[str] = []
        self.lock = threading.Lock()
        recorder = self

        class RecordingConnection(simulator.Connection):
            def call(self, func_name: str, options: Any = None, **params: Any) -> dict[str, Any]:
                me = threading.get_ident()
                with recorder.lock:
                    recorder.calls.append((me, id(self), self._session_id, func_name))
                    owner = recorder.owners.get(id(self))
                    if owner is not None and owner != me:
                        recorder.violations.append(f"{func_name} on a connection held by another thread")
                return super().call(func_name, options=options, **params)

        names = {name: getattr(simulator, name) for name in dir(simulator) if not name.startswith("_")}
        self.module = types.SimpleNamespace(**{**names, "Connection": RecordingConnection})

    def watch(self, pool: ConnectionPool) -> None:
        """Identity checks at the pool's edge: a connection handed out is held by no one else."""
        acquire, release = pool.acquire, pool.release
        self.kept: list[Any] = []  # keeps every connection alive, so no id() is reused by a new object

        def watched_acquire(deadline: float | None = None) -> Any:
            connection = acquire(deadline)
            with self.lock:
                self.kept.append(connection)
                if id(connection) in self.owners:
                    self.violations.append("a connection handed out while another thread held it")
                self.owners[id(connection)] = threading.get_ident()
            return connection

        def watched_release(connection: Any, *, discard: bool = False) -> None:
            with self.lock:
                if self.owners.pop(id(connection), None) != threading.get_ident():
                    self.violations.append("a connection released by a thread that did not hold it")
            release(connection, discard=discard)

        pool.acquire, pool.release = watched_acquire, watched_release  # type: ignore[method-assign]


def pooled(size: int, rfc_module: Any = simulator, **options: Any) -> RfcSapGateway:
    return RfcSapGateway(
        LOGON, rfc_module=rfc_module, no_match_messages=simulator.NO_MATCH_MESSAGES, pool_size=size, **options
    )


def creation(index: int):
    return german_creation(account_id=f"001Aj0000{index:06d}", NAME=f"Pool Test {index} GmbH")


# ------------------------------------------------------------------ the adapter on the pool


def test_100_creates_over_4_threads_log_on_at_most_4_times(system):
    recorder = Recorder()
    gateway = pooled(4, recorder.module)
    recorder.watch(gateway.pool)
    system.faults.latency_ms = 1  # calls overlap
    errors: list[BaseException] = []

    def creates(first: int) -> None:
        try:
            for index in range(first, first + 25):
                gateway.create_customer(creation(index))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=creates, args=(first,)) for first in range(0, 100, 25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(system.created_customers()) == 100
    assert system.counters["logons"] <= 4
    assert gateway.pool.opened <= 4 and gateway.pool.in_use == 0
    assert recorder.violations == []
    assert len({thread for thread, *_ in recorder.calls}) == 4


def test_two_threads_never_hold_the_same_connection(system):
    recorder = Recorder()
    gateway = pooled(2, recorder.module)
    recorder.watch(gateway.pool)
    system.faults.latency_ms = 2
    barrier = threading.Barrier(6)

    def pings() -> None:
        barrier.wait()
        for _ in range(10):
            gateway.ping()

    threads = [threading.Thread(target=pings) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert recorder.violations == []
    assert len(recorder.calls) == 60 and system.counters["logons"] <= 2
    # Within one unit all calls of a connection come from one thread; connections do move between units.
    assert len({connection for _, connection, *_ in recorder.calls}) <= 2


def test_a_connection_broken_by_a_communication_fault_is_replaced_and_the_next_create_succeeds(system):
    gateway = pooled(1)
    gateway.create_customer(creation(1))
    [first] = gateway.pool._idle
    assert system.counters["logons"] == 1

    system.faults.arm("communication_before")
    with pytest.raises(SapTransientError):
        gateway.create_customer(creation(2))

    # pyrfc (and the simulator) reopened the connection inside call(): that session is not the unit's,
    # so the pool closed it instead of keeping it.
    assert gateway.pool.discarded == 1 and gateway.pool.total == 0 and system.open_sessions == 0
    created = gateway.create_customer(creation(3))
    assert created.customer_number and gateway.pool.idle == 1
    assert gateway.pool._idle[0].connection is not first.connection
    assert system.counters["logons"] == 3  # the first, the reopen inside call(), the replacement


def test_an_unknown_outcome_discards_the_connection_too(system):
    gateway = pooled(1)
    gateway.check_interface()
    system.faults.arm("communication_after_commit")
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(creation(1))
    assert gateway.pool.discarded == 1 and system.open_sessions == 0


def test_an_idle_connection_is_pinged_before_reuse_and_replaced_when_the_ping_fails(system):
    gateway = pooled(1, idle_check_seconds=0.05)
    gateway.create_customer(creation(1))
    time.sleep(0.1)
    # SAP's gateway (or a firewall) cut the idle connection.
    for session_id in list(system.sessions):
        system.close_session(session_id)

    created = gateway.create_customer(creation(2))

    assert created.customer_number
    assert system.calls["RFC_PING"] == 1 and gateway.pool.replaced_after_check == 1
    assert system.counters["logons"] == 2 and system.open_sessions == 1


def test_an_idle_connection_that_answers_the_ping_is_reused(system):
    gateway = pooled(1, idle_check_seconds=0.05)
    gateway.create_customer(creation(1))
    time.sleep(0.1)
    gateway.create_customer(creation(2))
    assert system.calls["RFC_PING"] == 1 and system.counters["logons"] == 1


def test_a_connection_used_recently_is_not_pinged(system):
    gateway = pooled(1, idle_check_seconds=3600)
    for index in range(5):
        gateway.create_customer(creation(index))
    assert system.calls["RFC_PING"] == 0 and system.counters["logons"] == 1


def test_the_duplicate_guard_search_and_the_create_run_on_one_session(system):
    recorder = Recorder()
    gateway = pooled(2, recorder.module)
    gateway.check_interface()
    recorder.calls.clear()

    gateway.create_customer(dataclasses.replace(creation(1), search_since=datetime.now(UTC)))

    names = [name for *_, name in recorder.calls]
    assert names == ["BAPI_CUSTOMER_FIND", "BAPI_CUSTOMER_CREATEFROMDATA1", "BAPI_TRANSACTION_COMMIT"]
    assert len({(connection, session) for _, connection, session, _ in recorder.calls}) == 1


def test_the_guard_adopts_an_earlier_create_on_one_session_after_a_broken_line(system):
    recorder = Recorder()
    gateway = pooled(2, recorder.module)
    gateway.check_interface()
    system.faults.arm("communication_after_commit")
    with pytest.raises(SapOutcomeUnknown):
        gateway.create_customer(creation(1))
    recorder.calls.clear()

    adopted = gateway.create_customer(dataclasses.replace(creation(1), search_since=datetime.now(UTC)))

    assert adopted.adopted and len(system.created_customers()) == 1
    assert {name for *_, name in recorder.calls} == {"BAPI_CUSTOMER_FIND", "BAPI_CUSTOMER_GETDETAIL2"}
    assert len({(connection, session) for _, connection, session, _ in recorder.calls}) == 1


def test_no_free_connection_before_the_deadline_is_transient(system):
    gateway = pooled(1, timeout_seconds=0.05)
    gateway.ping()
    held = gateway.pool.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(SapTransientError, match="no SAP connection free"):
            gateway.ping()
        assert time.monotonic() - started < 2
    finally:
        gateway.pool.release(held)


def test_close_logs_off_every_connection_and_refuses_new_units(system):
    gateway = pooled(3)
    gateway.check_interface()
    held = gateway.pool.acquire()
    gateway.ping()
    assert system.open_sessions == 2

    gateway.close()
    assert system.open_sessions == 1  # the idle one at once
    gateway.pool.release(held)
    assert system.open_sessions == 0  # the one in use when it comes back
    with pytest.raises(SapTransientError, match="shutting down"):
        gateway.ping()


def test_without_a_pool_every_unit_logs_on_as_before(system):
    gateway = RfcSapGateway(LOGON, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES)
    for index in range(3):
        gateway.create_customer(creation(index))
    assert gateway.pool is None and system.counters["logons"] == 4 and system.open_sessions == 0
    gateway.close()  # nothing to close


# ------------------------------------------------------------------ the pool on its own


class Fake:
    def __init__(self, number: int) -> None:
        self.number, self.closed, self.pings = number, False, 0
        self.ping_fails = False

    def ping(self) -> None:
        self.pings += 1
        if self.ping_fails:
            raise OSError("gone")

    def close(self) -> None:
        self.closed = True


def fake_pool(size: int, **options: Any) -> tuple[ConnectionPool, list[Fake]]:
    made: list[Fake] = []

    def open_connection() -> Fake:
        made.append(Fake(len(made)))
        return made[-1]

    return ConnectionPool(open_connection, size, **options), made


def test_the_pool_never_holds_more_than_its_size():
    pool, made = fake_pool(3)
    held = [pool.acquire() for _ in range(3)]
    with pytest.raises(PoolExhausted):
        pool.acquire(deadline=time.monotonic() + 0.05)
    pool.release(held[0])
    assert pool.acquire(deadline=time.monotonic() + 0.05) is held[0]
    assert len(made) == 3


def test_a_waiting_acquire_gets_the_connection_released_by_another_thread():
    pool, _ = fake_pool(1)
    held = pool.acquire()
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(deadline=time.monotonic() + 5)))
    waiter.start()
    time.sleep(0.05)
    assert got == []
    pool.release(held)
    waiter.join(5)
    assert got == [held]


def test_a_failed_open_frees_its_slot():
    calls = {"n": 0}

    def open_connection() -> Fake:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("SAP down")
        return Fake(calls["n"])

    pool = ConnectionPool(open_connection, 1)
    with pytest.raises(OSError):
        pool.acquire()
    assert pool.total == 0
    assert isinstance(pool.acquire(deadline=time.monotonic() + 0.05), Fake)


def test_idle_check_with_a_clock_and_replacement_on_failure():
    now = [0.0]
    pool, made = fake_pool(1, idle_check_seconds=30, clock=lambda: now[0])
    first = pool.acquire()
    pool.release(first)
    now[0] = 29
    assert pool.acquire() is first and first.pings == 0
    pool.release(first)
    now[0] = 60
    first.ping_fails = True
    second = pool.acquire()
    assert second is not first and first.closed and first.pings == 1 and len(made) == 2
    assert pool.replaced_after_check == 1 and pool.total == 1


def test_discard_closes_and_frees_the_slot():
    pool, made = fake_pool(1)
    first = pool.acquire()
    pool.release(first, discard=True)
    assert first.closed and pool.total == 0
    assert pool.acquire() is made[1]


def test_release_of_a_connection_not_checked_out_is_refused():
    pool, _ = fake_pool(1)
    connection = pool.acquire()
    pool.release(connection)
    with pytest.raises(ValueError):
        pool.release(connection)


def test_close_wakes_waiters_and_refuses_acquire():
    pool, _ = fake_pool(1)
    held = pool.acquire()
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            pool.acquire(deadline=time.monotonic() + 5)
        except PoolClosed as error:
            raised.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    pool.close()
    waiter.join(5)
    assert raised and not held.closed
    pool.release(held)
    assert held.closed


def test_many_threads_on_a_small_pool_never_share_a_connection():
    pool, made = fake_pool(3)
    holders: dict[int, int] = {}
    lock = threading.Lock()
    violations: list[str] = []

    def work() -> None:
        for _ in range(200):
            connection = pool.acquire(deadline=time.monotonic() + 5)
            with lock:
                if id(connection) in holders:
                    violations.append("shared")
                holders[id(connection)] = threading.get_ident()
            time.sleep(0)
            with lock:
                del holders[id(connection)]
            pool.release(connection)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert violations == [] and len(made) <= 3 and pool.in_use == 0


# ------------------------------------------------------------------ settings and composition


def test_sap_pool_size_defaults_to_no_pool_and_is_passed_to_the_gateway(system):
    assert load_settings({"SAP_TRANSPORT": "simulator"}).sap_pool_size == 0
    assert bootstrap.build_sap_gateway(load_settings({"SAP_TRANSPORT": "simulator"})).pool is None
    gateway = bootstrap.build_sap_gateway(load_settings({"SAP_TRANSPORT": "simulator", "SAP_POOL_SIZE": "3"}))
    assert gateway.pool is not None and gateway.pool.size == 3
    with pytest.raises(SettingsError, match="SAP_POOL_SIZE"):
        load_settings({"SAP_TRANSPORT": "simulator", "SAP_POOL_SIZE": "-1"})


def test_the_agent_pools_as_many_connections_as_its_concurrency(system):
    from agent.__main__ import build_listener

    listener = build_listener(
        {
            "AGENT_RELAY_URL": "https://ns.example/sap",
            "AGENT_RELAY_KEY_NAME": "listen",
            "AGENT_RELAY_KEY": "key",
            "SAP_TRANSPORT": "simulator",
            "AGENT_CONCURRENCY": "6",
        }
    )
    gateway = listener.handler.gateway
    assert gateway.pool is not None and gateway.pool.size == 6
