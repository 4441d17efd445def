"""The product as the benchmarks drive it: Azurite on ports of this run, the local host serving
function_app over real HTTP, the SAP simulator behind the rfc adapter, and clients that post creates.

Imported only by the benchmarks that need it (not by the cold-start and memory children).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.common import ROOT, account_id15, load_samples

REQUEST_TIMEOUT_SECONDS = 60

_azurite_lock = threading.Lock()
_azurite: Any = None


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def azurite() -> Any:
    """One Azurite (in memory) for the whole run, on free ports: never a developer's or another
    checkout's Azurite on the default ports, whose load this run would then measure. Stopped by
    `stop_azurite()` (python -m bench calls it at the end; atexit too)."""
    global _azurite
    with _azurite_lock:
        if _azurite is None:
            from devtools.azurite import AzuriteEndpoints, ensure_azurite

            blob, queue, table = free_ports(3)
            _azurite = ensure_azurite(endpoints=AzuriteEndpoints(blob_port=blob, queue_port=queue, table_port=table))
        return _azurite


def stop_azurite() -> None:
    global _azurite
    with _azurite_lock:
        if _azurite is not None:
            from devtools.azurite import stop_azurite as stop

            stop()  # only the Azurite this process started
            _azurite = None


def fresh_azurite() -> Any:
    """An empty Azurite for what follows: the run's one is stopped (with whatever it holds) and a new one
    started on new ports. For benchmarks that leave more in it than is cheap to delete."""
    stop_azurite()
    return azurite()


def unique(prefix: str) -> str:
    """A table or queue name of this run (letters and digits only: valid for both)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
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


def quiet_logs() -> None:
    """The app's own log setup (idempotent), then its output to /dev/null: records are still built,
    filtered and formatted at INFO (a real cost of each request), but not printed."""
    from bench.common import silence_log_output
    from shared.log import configure_logging

    configure_logging()
    silence_log_output()


def app_settings(connection_string: str, **overrides: str) -> dict[str, str]:
    """The app settings of a simulator deployment on this run's Azurite, with a ledger table and a retry
    queue of its own, write-back off (Salesforce is not what these figures are about)."""
    settings = {
        "AzureWebJobsStorage": connection_string,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "SAP_TRANSPORT": "simulator",
        "SAP_SIMULATOR_FAULTS": "",
        "LEDGER_TABLE_NAME": unique("benchledger"),
        "RETRY_QUEUE_NAME": unique("benchretry"),
        "SALESFORCE_WRITEBACK": "off",
        "PYTHON_THREADPOOL_THREAD_COUNT": "16",
    }
    settings.update(overrides)
    return settings


@dataclass
class RunningApp:
    base_url: str
    sap: Any  # sap_simulator.SimulatedSap
    settings: dict[str, str]
    host: Any  # devhost.LocalHost


@contextlib.contextmanager
def running_app(settings: Mapping[str, str], *, polling_cap_seconds: float | None = 0.5) -> Iterator[RunningApp]:
    """The local host serving function_app.py with these settings over a fresh simulator; the ledger
    table and queues are removed afterwards."""
    import sap_simulator as simulator
    from devhost import LocalHost
    from shared import bootstrap

    quiet_logs()
    values = dict(settings)
    try:
        with environment(values):
            for name in ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID"):
                os.environ.pop(name, None)
            bootstrap.reset()
            system = simulator.SimulatedSap()
            with simulator.use_system(system):
                host = LocalHost(str(ROOT), port=0, polling_cap_seconds=polling_cap_seconds).start()
                try:
                    # The first request builds the services (storage clients, table and queue, the
                    # simulator's faults from SAP_SIMULATOR_FAULTS); the cold-start figure covers that.
                    requests.get(f"{host.base_url}/api/health", timeout=REQUEST_TIMEOUT_SECONDS).raise_for_status()
                    yield RunningApp(host.base_url.replace("localhost", "127.0.0.1"), system, values, host)
                finally:
                    host.stop()
                    bootstrap.reset()
    finally:
        remove_storage(values["AzureWebJobsStorage"], values.get("LEDGER_TABLE_NAME"), values.get("RETRY_QUEUE_NAME"))


def remove_storage(connection_string: str, table_name: str | None, queue_name: str | None) -> None:
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    if table_name:
        with contextlib.suppress(Exception):
            TableServiceClient.from_connection_string(connection_string).delete_table(table_name)
    if queue_name:
        queues = QueueServiceClient.from_connection_string(connection_string)
        for name in (queue_name, f"{queue_name}-poison"):
            with contextlib.suppress(Exception):
                queues.delete_queue(name)


def account_id(series: str, number: int) -> str:
    """A valid 18-character Account Id, distinct per series and number: every create reaches SAP."""
    from shared.core.salesforce_id import normalize_salesforce_id

    return normalize_salesforce_id(account_id15(series, number))


class Creator:
    """Posts creates for distinct accounts; one keep-alive connection per client thread, as a
    connector's HTTP stack keeps its connections. Answers other than 201 are counted, never hidden.

    A latency is timed at the wire, as load generators (wrk, hey) time it: from writing the request's
    first byte to having received the answer's last byte. The client shares this process (and its two
    cores) with the host, so what a client library does around that is left out: requests spends a few
    milliseconds per call (proxy lookups in the environment, hooks, adapters), and http.client about
    0.2 ms here building the request head and parsing the answer's with the email package, neither of
    which a caller of the deployed app pays on the app's side. The answer is framed by its
    Content-Length (the local host always sends one) and its status checked like any client's.
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._host_header = f"{self._address[0]}:{self._address[1]}"
        self._samples = [json.dumps(sample) for sample in load_samples()]
        self._connections = threading.local()
        self._lock = threading.Lock()
        self.unexpected: dict[int, int] = {}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        status, answer, _ = self.exchange(path, body)
        return status, answer

    def exchange(self, path: str, body: bytes) -> tuple[int, bytes, float]:
        """POST `body` as JSON: the status, the answer's body, and the milliseconds from writing the
        request to having received the whole answer."""
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host_header}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("ascii") + body
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            connection = socket.create_connection(self._address, timeout=REQUEST_TIMEOUT_SECONDS)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as http.client's
            self._connections.connection = connection
        try:
            started = time.perf_counter()
            connection.sendall(request)
            received = bytearray()
            while (head_end := received.find(b"\r\n\r\n")) < 0:
                received += _received(connection)
            head = bytes(received[:head_end]).decode("latin-1").split("\r\n")
            headers = dict(
                (name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in head[1:])
            )
            if "content-length" not in headers:
                raise http.client.HTTPException(f"an answer without Content-Length: {head[0]}")
            body_end = head_end + 4 + int(headers["content-length"])
            while len(received) < body_end:
                received += _received(connection)
            elapsed_ms = (time.perf_counter() - started) * 1000
            version, status = [*head[0].split(" ", 2), ""][:2]
            if not version.startswith("HTTP/1.") or not status.isdigit():
                raise http.client.HTTPException(f"not an HTTP/1.x answer: {head[0]}")
            answer = bytes(received[head_end + 4 : body_end])
            if headers.get("connection", "").lower() == "close" or len(received) > body_end:
                self._drop(connection)  # not reused (a 503 refusal closes; nothing is pipelined here)
            return int(status), answer, elapsed_ms
        except (http.client.HTTPException, OSError, ValueError):
            self._drop(connection)  # the next call opens a new one
            raise

    def _drop(self, connection: socket.socket) -> None:
        connection.close()
        self._connections.connection = None

    def create(self, series: str, number: int) -> float:
        """Milliseconds from sending the request to having received the whole answer."""
        sample = json.loads(self._samples[number % len(self._samples)])
        body = json.dumps(dict(sample, accountId=account_id(series, number))).encode("utf-8")
        status, _, elapsed_ms = self.exchange("/api/customers", body)
        if status != 201:
            with self._lock:
                self.unexpected[status] = self.unexpected.get(status, 0) + 1
        return elapsed_ms

    def concurrently(self, series: str, count: int, clients: int) -> tuple[list[float], float]:
        """`count` creates from `clients` threads at once: their latencies and the wall time in seconds."""
        with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="bench-client") as pool:
            # From the first request to the last answer (each client thread connects once, then keeps it).
            started = time.perf_counter()
            latencies = list(pool.map(lambda number: self.create(series, number), range(count)))
            return latencies, time.perf_counter() - started

    def describe_unexpected(self) -> str:
        return ", ".join(f"{count} x {status}" for status, count in sorted(self.unexpected.items()))


def _received(connection: socket.socket) -> bytes:
    chunk = connection.recv(65536)
    if not chunk:
        raise http.client.RemoteDisconnected("the local host closed the connection mid-answer")
    return chunk


class InvocationTimes:
    """The local host's own measure of each invocation (decode, the function on its worker thread,
    encode), collected while the block runs: splits a latency into the function and the HTTP around it."""

    def __init__(self) -> None:
        self.durations_ms: list[float] = []

    def __enter__(self) -> InvocationTimes:
        from devhost.invocation import Invoker

        original = self._original = Invoker.invoke
        times = self.durations_ms

        async def timed_invoke(invoker: Any, spec: Any, trigger: Any) -> Any:
            result = await original(invoker, spec, trigger)
            times.append(result.duration_ms)
            return result

        Invoker.invoke = timed_invoke  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from devhost.invocation import Invoker

        Invoker.invoke = self._original  # type: ignore[method-assign]
