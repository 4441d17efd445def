"""End-to-end create latency: POST /api/customers over real HTTP to the local host serving function_app,
with the ledger and retry queue in Azurite and the SAP simulator behind the pyrfc adapter.

Sequential requests show the latency one flow run sees; 16 concurrent clients show what one instance
sustains when many accounts turn into customers at once (a data load, a mass update). A second,
short series with simulated SAP latency shows what the app adds on top of SAP, which in production
dominates the answer time.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import ROOT, Measurement, account_id15, load_samples, percentile, silence_log_output

SEQUENTIAL_CREATES = 300
CONCURRENT_CREATES = 300
CLIENTS = 16
SLOW_SAP_CREATES = 20
SLOW_SAP_LATENCY_MS = 200
WARM_UP_CREATES = 6
SEQUENTIAL_P95_TARGET_MS = 100.0
CONCURRENT_THROUGHPUT_TARGET = 50.0
REQUEST_TIMEOUT_SECONDS = 30


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Client:
    """Posts create requests for distinct accounts; one keep-alive session per client thread, as a
    connector's HTTP stack keeps its connections."""

    def __init__(self, base_url: str) -> None:
        from devtools.fake_salesforce import salesforce_id18

        self._url = f"{base_url}/api/customers"
        self._samples = load_samples()
        self._account_id18 = salesforce_id18
        self._sessions = threading.local()
        self.unexpected: dict[int, int] = {}
        self._lock = threading.Lock()

    def create(self, series: str, number: int) -> float:
        """Milliseconds from sending the request to having read the whole answer."""
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        payload = dict(self._samples[number % len(self._samples)],
                       accountId=self._account_id18(account_id15(series, number)))
        started = time.perf_counter()
        response = session.post(self._url, json=payload, timeout=REQUEST_TIMEOUT_SECONDS)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 201:
            with self._lock:
                self.unexpected[response.status_code] = self.unexpected.get(response.status_code, 0) + 1
        return elapsed_ms


def _sequential(create: Callable[[str, int], float], series: str, count: int) -> list[float]:
    return [create(series, number) for number in range(count)]


def _concurrent(create: Callable[[str, int], float], series: str, count: int,
                clients: int) -> tuple[list[float], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="bench-client") as pool:
        latencies = list(pool.map(lambda number: create(series, number), range(count)))
    return latencies, time.perf_counter() - started


def _remove_storage(connection_string: str, table_name: str, queue_name: str) -> None:
    # A reused (developer's own) Azurite keeps its data; leave nothing behind there.
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    with contextlib.suppress(Exception):
        TableServiceClient.from_connection_string(connection_string).delete_table(table_name)
    queues = QueueServiceClient.from_connection_string(connection_string)
    for name in (queue_name, f"{queue_name}-poison"):
        with contextlib.suppress(Exception):
            queues.delete_queue(name)


def run(sequential: int = SEQUENTIAL_CREATES, concurrent: int = CONCURRENT_CREATES,
        slow_sap: int = SLOW_SAP_CREATES) -> list[Measurement]:
    from devhost import LocalHost
    from devtools.azurite import ensure_azurite, stop_azurite
    from shared import bootstrap
    from shared.log import configure_logging
    from shared.sap import simulator

    # The app's own log setup, done before the host imports the app (it is idempotent), so the
    # host's banner and per-request records are formatted as usual but not printed.
    configure_logging()
    silence_log_output()
    azurite = ensure_azurite()
    suffix = uuid.uuid4().hex[:12]
    table_name, queue_name = f"benchledger{suffix}", f"bench-retry-{suffix}"
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "SAP_TRANSPORT": "simulator",
        "SAP_SIMULATOR_FAULTS": "latency_ms=0",
        "LEDGER_TABLE_NAME": table_name,
        "RETRY_QUEUE_NAME": queue_name,
        "SALESFORCE_WRITEBACK": "off",
        # One worker thread per client: the concurrency under test is the clients', not the pool's.
        "PYTHON_THREADPOOL_THREAD_COUNT": str(CLIENTS),
    }
    try:
        with _environment(settings):
            bootstrap.reset()
            system = simulator.SimulatedSap()
            with simulator.use_system(system):
                host = LocalHost(str(ROOT), port=0).start()
                try:
                    return _measure(host.base_url, system, sequential, concurrent, slow_sap)
                finally:
                    host.stop()
                    bootstrap.reset()
    finally:
        _remove_storage(azurite.connection_string, table_name, queue_name)
        stop_azurite()  # only an Azurite this process started; a developer's own keeps running


def _measure(base_url: str, system: Any, sequential: int, concurrent: int, slow_sap: int) -> list[Measurement]:
    # The first request builds the services (storage clients, table and queue creation) and applies
    # SAP_SIMULATOR_FAULTS to the simulator; the cold-start benchmark covers that cost.
    requests.get(f"{base_url}/api/health", timeout=REQUEST_TIMEOUT_SECONDS).raise_for_status()
    client = _Client(base_url)
    _sequential(client.create, "Wu", WARM_UP_CREATES)

    in_order = _sequential(client.create, "Sq", sequential)
    at_once, wall_s = _concurrent(client.create, "Cc", concurrent, CLIENTS)

    system.configure_faults(f"latency_ms={SLOW_SAP_LATENCY_MS}")
    rfc_steps_before = sum(system.calls.values()) + system.counters["logons"]
    slow = _sequential(client.create, "Sl", slow_sap)
    rfc_steps = sum(system.calls.values()) + system.counters["logons"] - rfc_steps_before
    system.configure_faults("")
    # The simulator waits once per logon and once per call (find, create, commit): measured, not assumed.
    sap_ms_per_create = rfc_steps * SLOW_SAP_LATENCY_MS / slow_sap

    unexpected = sum(client.unexpected.values())
    answers = ", ".join(f"{count} x {status}" for status, count in sorted(client.unexpected.items()))
    slow_p50 = statistics.median(slow)
    return [
        Measurement("e2e.sequential_p50", statistics.median(in_order), "ms",
                    note=f"{sequential} creates, SAP latency 0"),
        Measurement("e2e.sequential_p95", percentile(in_order, 0.95), "ms", SEQUENTIAL_P95_TARGET_MS),
        Measurement("e2e.sequential_max", max(in_order), "ms"),
        Measurement("e2e.concurrent_throughput", concurrent / wall_s, "req/s", CONCURRENT_THROUGHPUT_TARGET,
                    higher_is_better=True, note=f"{concurrent} creates, {CLIENTS} clients"),
        Measurement("e2e.concurrent_p95", percentile(at_once, 0.95), "ms"),
        Measurement("e2e.slow_sap_p50", slow_p50, "ms",
                    note=f"{slow_sap} creates, {SLOW_SAP_LATENCY_MS} ms per RFC step, "
                         f"{sap_ms_per_create:.0f} ms SAP time per create"),
        Measurement("e2e.slow_sap_overhead_p50", slow_p50 - sap_ms_per_create, "ms",
                    note="p50 minus the simulated SAP time: what the app adds"),
        Measurement("e2e.unexpected_answers", float(unexpected), "count", 1.0,
                    note=f"every create must answer 201{'; got ' + answers if answers else ''}"),
    ]
