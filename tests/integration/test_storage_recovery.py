"""Storage that goes away and comes back: an Azurite of the test's own is stopped and restarted under the
running product (the local host serving function_app.py). While it is down, requests answer 503 with a
JSON body and Retry-After (never 500) and /api/health says storage is unavailable; once it is back,
requests succeed again without restarting the host. Restarted in memory, Azurite has lost the ledger
table and the retry queue: the adapters and the queue listener create them again."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

import sap_simulator as simulator
from devtools.azurite import AzuriteEndpoints, install_azurite
from devtools.fake_salesforce import salesforce_id18
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.listing import ListingQuery
from shared.core.retry_message import RetryKind, RetryMessage
from shared.settings import Settings
from shared.storage.clients import queue_service_client, table_service_client
from shared.storage.port import LedgerConflict, LedgerUnavailable, RetryQueueUnavailable
from shared.storage.queue import StorageRetryQueue
from shared.storage.table_ledger import TableLedger
from tests.support.network import free_ports
from tests.support.product import local_app_settings, local_host_serving_the_app
from tests.support.samples import sample

pytestmark = [pytest.mark.azurite, pytest.mark.e2e]

WAIT_SECONDS = 60.0


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT_SECONDS) -> object:
    """Polls until condition() is truthy; the deadline only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


class OwnAzurite:
    """An Azurite for one test, on free ports, that the test may stop and start again (same ports).
    `location` keeps its data on disk across restarts; without it every start is empty (in memory)."""

    def __init__(self, work_dir: Path, location: Path | None = None) -> None:
        blob, queue, table = free_ports(3)
        self.endpoints = AzuriteEndpoints(blob_port=blob, queue_port=queue, table_port=table)
        self.location = location
        self.work_dir = work_dir
        self._process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        persistence = ["--location", str(self.location)] if self.location else ["--inMemoryPersistence"]
        ports = self.endpoints
        return [
            str(install_azurite()),
            "--skipApiVersionCheck",
            "--silent",
            "--disableTelemetry",
            "--loose",
            *persistence,
            "--blobHost",
            ports.host,
            "--blobPort",
            str(ports.blob_port),
            "--queueHost",
            ports.host,
            "--queuePort",
            str(ports.queue_port),
            "--tableHost",
            ports.host,
            "--tablePort",
            str(ports.table_port),
        ]

    def _accepting(self) -> bool:
        try:
            for port in self.endpoints.ports().values():
                with socket.create_connection((self.endpoints.host, port), timeout=0.5):
                    pass
        except OSError:
            return False
        return True

    def start(self) -> None:
        assert self._process is None
        with (self.work_dir / "azurite.log").open("ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self._accepting() or self._process.poll() is not None, "Azurite to listen")
        assert self._process.poll() is None, f"Azurite exited; see {self.work_dir / 'azurite.log'}"

    def stop(self) -> None:
        """Returns once every Azurite process is gone: a stopping Azurite still answers on connections it
        had open, so "down" starts only when nothing of it is left."""
        process, self._process = self._process, None
        if process is None:
            return
        # Its own session (start_new_session): the group holds the npm shim and node, nothing of ours.
        group = process.pid
        if self.location is not None:  # data on disk: let it write; in memory there is nothing to keep
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            deadline = time.monotonic() + 3  # graceful shutdown waits for our idle keep-alive connections
            while self._group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.05)
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        process.wait(timeout=10)
        wait_for(lambda: not self._group_alive(group), "Azurite's processes to end", timeout=10)
        wait_for(lambda: not self._accepting(), "Azurite's ports to close", timeout=10)

    @staticmethod
    def _group_alive(group: int) -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def own_azurite(tmp_path: Path) -> Iterator[OwnAzurite]:
    azurite = OwnAzurite(tmp_path)
    azurite.start()
    try:
        yield azurite
    finally:
        azurite.stop()


@pytest.fixture
def own_azurite_on_disk(tmp_path: Path) -> Iterator[OwnAzurite]:
    (tmp_path / "data").mkdir()
    azurite = OwnAzurite(tmp_path, location=tmp_path / "data")
    azurite.start()
    try:
        yield azurite
    finally:
        azurite.stop()


@dataclass
class Product:
    base_url: str
    sap: simulator.SimulatedSap
    azurite: OwnAzurite
    queue_name: str
    table_name: str

    def post(self, payload: dict) -> requests.Response:
        return requests.post(f"{self.base_url}/api/customers", json=payload, timeout=60)

    def health(self) -> requests.Response:
        return requests.get(f"{self.base_url}/api/health", timeout=30)

    def queue_exists(self) -> bool:
        service = QueueServiceClient.from_connection_string(self.azurite.endpoints.connection_string)
        return any(queue.name == self.queue_name for queue in service.list_queues(retry_total=0))

    def table_exists(self) -> bool:
        service = TableServiceClient.from_connection_string(self.azurite.endpoints.connection_string)
        return any(table.name == self.table_name for table in service.list_tables(retry_total=0))


def _run_product(azurite: OwnAzurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Product]:
    suffix = uuid.uuid4().hex[:10]
    queue_name, table_name = f"retry{suffix}", f"ledger{suffix}"
    settings = local_app_settings(
        azurite.endpoints.connection_string,
        queue_name,
        table_name,
        RETRY_MAX_ATTEMPTS="12",
        RETRY_AFTER_SECONDS="5",
        SALESFORCE_WRITEBACK="off",
    )
    with local_host_serving_the_app(settings, monkeypatch) as (base_url, system):
        yield Product(base_url, system, azurite, queue_name, table_name)


@pytest.fixture
def product(own_azurite: OwnAzurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Product]:
    yield from _run_product(own_azurite, monkeypatch)


@pytest.fixture
def product_on_disk(own_azurite_on_disk: OwnAzurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Product]:
    yield from _run_product(own_azurite_on_disk, monkeypatch)


_counter = iter(range(1, 10_000_000))
_counter_lock = threading.Lock()


def new_account() -> dict:
    with _counter_lock:
        index = next(_counter)
    account_id = salesforce_id18(f"001Dn{uuid.uuid4().int % 10**3:03d}{index:07d}")
    return dict(sample("german-account"), accountId=account_id, name=f"Kunde {index} GmbH")


@dataclass
class Answer:
    phase: str  # when the request was sent: "up", "down" (Azurite stopped) or "back" (restarted)
    status: int
    body: str
    headers: dict[str, str]
    finished_in: str = ""  # the phase when the answer arrived


@dataclass
class Load:
    """Clients posting new accounts without pause, each answer tagged with the phase it was sent in."""

    product: Product
    clients: int = 4
    phase: str = "up"
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _client(self) -> None:
        while not self._stop.is_set():
            sent_in = self.phase
            try:
                response = self.product.post(new_account())
            except requests.RequestException as error:  # the host itself must never drop a request
                answer = Answer(sent_in, -1, repr(error), {})
            else:
                answer = Answer(sent_in, response.status_code, response.text, dict(response.headers))
            answer.finished_in = self.phase
            with self._lock:
                self.answers.append(answer)

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def count(self, status: int, phase: str) -> int:
        with self._lock:
            return sum(1 for a in self.answers if a.status == status and a.phase == phase)


def assert_storage_503(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.headers.get("Content-Type", "").startswith("application/json"), answer
    body = json.loads(answer.body)
    assert body["error"] == "unavailable" and body["message"], body
    assert int(answer.headers["Retry-After"]) > 0, answer


def _load_through_an_outage(product: Product) -> list[Answer]:
    """Posts under load: Azurite up, stopped, started again; returns every answer."""
    with Load(product) as load:
        wait_for(lambda: load.count(201, "up") >= 4, "201s before the outage")
        product.azurite.stop()
        load.phase = "down"
        wait_for(lambda: load.count(503, "down") >= 4, "503s while Azurite is down")
        health = product.health()
        assert health.status_code == 503, health.text
        assert health.json()["storage"] == "unavailable" and health.headers["Retry-After"]
        # "back" from before Azurite listens again: a request retrying inside the storage SDK completes
        # as soon as it does (a create is three table round trips), before start() has seen it listen.
        load.phase = "back"
        product.azurite.start()
        wait_for(lambda: load.count(201, "back") >= 4, "201s after Azurite is back")
    return load.answers


def _assert_outage_answers(answers: list[Answer]) -> None:
    assert not [a for a in answers if a.status == 500 or a.status < 0], "a request failed with 500 or no answer"
    # Everything is one of: created, or storage unavailable (503 with JSON and Retry-After).
    assert {a.status for a in answers} <= {201, 503}, {a.status for a in answers}
    for answer in answers:
        if answer.status == 503:
            assert_storage_503(answer)
    # Sent and answered while Azurite was down: nothing could be recorded, so only 503s.
    during_outage = [a for a in answers if a.phase == a.finished_in == "down"]
    assert during_outage and all(a.status == 503 for a in during_outage), [a for a in during_outage if a.status != 503]


def test_posts_answer_503_json_while_azurite_is_down_and_201_after_it_restarts_empty_without_restarting_the_host(
    product: Product,
):
    answers = _load_through_an_outage(product)

    _assert_outage_answers(answers)
    assert product.table_exists(), "the ledger table was created again after the in-memory restart"
    health = product.health()
    assert health.status_code == 200 and health.json()["storage"] == "available", health.text


def test_posts_answer_503_json_while_azurite_is_down_and_201_after_it_restarts_with_its_data_on_disk(
    product_on_disk: Product,
):
    answers = _load_through_an_outage(product_on_disk)

    _assert_outage_answers(answers)
    assert product_on_disk.health().status_code == 200


def test_health_reports_storage_unavailable_quickly_while_azurite_is_down_and_available_once_back(product: Product):
    body = product.health().json()
    assert body["status"] == "healthy" and body["storage"] == "available"
    assert body["checks"]["storage"]["ledger"]["ok"] and body["checks"]["storage"]["retryQueue"]["ok"]

    product.azurite.stop()
    started = time.monotonic()
    down = product.health()
    elapsed = time.monotonic() - started

    assert down.status_code == 503 and down.headers["Retry-After"]
    body = down.json()
    assert body["status"] == "unhealthy" and body["storage"] == "unavailable"
    assert body["checks"]["storage"]["ledger"]["ok"] is False and body["checks"]["storage"]["retryQueue"]["ok"] is False
    assert "unavailable" in body["checks"]["storage"]["ledger"]["error"]
    assert elapsed < 5, f"the health probe took {elapsed:.1f} s with storage down"

    product.azurite.start()  # in memory: table and queue are gone, which is still healthy storage
    back = product.health()
    assert back.status_code == 200 and back.json()["storage"] == "available", back.text


def test_queue_listener_logs_one_short_line_per_failure_with_backoff_and_recreates_its_queue(
    product: Product, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="devhost.queue")
    product.azurite.stop()
    outage_started = time.monotonic()
    time.sleep(5)
    outage = time.monotonic() - outage_started
    product.azurite.start()  # in memory: the retry queue is gone

    wait_for(product.queue_exists, "the queue listener to create its queue again")
    wait_for(lambda: any("works again" in r.getMessage() for r in caplog.records), "the listener to poll again")
    listener_lines = [r for r in caplog.records if r.name == "devhost.queue"]
    assert all(not r.exc_info and "\n" not in r.getMessage() for r in listener_lines), (
        "the queue listener logged a traceback or a multi-line message"
    )
    failures = [r.getMessage() for r in listener_lines if "next try in" in r.getMessage()]
    assert any("connection refused" in line for line in failures), failures
    # Backing off (1, 2, 4 s, ... up to 10 s), not a line every poll.
    delays = [float(line.rsplit("next try in ", 1)[1].split()[0]) for line in failures]
    assert delays == [min(2.0**index, 10.0) for index in range(len(delays))], failures
    assert 2 <= len(failures) <= 4 and outage >= 5, failures
    assert any("creating it again" in r.getMessage() for r in listener_lines)

    # And the listener works on the recreated queue: a create queued while SAP is down finishes.
    product.sap.faults.down = True
    payload = new_account()
    queued = product.post(payload)
    assert queued.status_code == 202, queued.text
    product.sap.faults.down = False
    status_url = f"{product.base_url}/api/customers/{payload['accountId']}"
    wait_for(
        lambda: requests.get(status_url, timeout=30).json().get("status") == "created",
        "the queue trigger to create the customer",
    )


# --- the adapters on their own -----------------------------------------------------------------------------


def _entry(account_id: str) -> LedgerEntry:
    now = datetime.now(UTC)
    return LedgerEntry(
        account_id=account_id, status=LedgerStatus.PENDING, tracking_id=uuid.uuid4().hex, created_at=now, updated_at=now
    )


def _message(account_id: str) -> RetryMessage:
    return RetryMessage(
        kind=RetryKind.CREATE,
        account_id=account_id,
        tracking_id=uuid.uuid4().hex,
        payload={},
        attempt=1,
        first_seen_at=datetime.now(UTC).isoformat(),
    )


def _adapters(azurite: OwnAzurite, **client_options: object) -> tuple[TableLedger, StorageRetryQueue]:
    """The app's own adapters and clients (storage_clients' defaults), on a table and queue of their own."""
    settings = Settings(storage_connection=azurite.endpoints.connection_string)
    name = f"t{uuid.uuid4().hex[:12]}"
    return (
        TableLedger(table_service_client(settings, **client_options), name),
        StorageRetryQueue(queue_service_client(settings, **client_options), name),
    )


def test_ledger_and_retry_queue_create_their_table_and_queue_again_after_azurite_restarts_empty(
    own_azurite: OwnAzurite,
):
    ledger, queue = _adapters(own_azurite)
    first = ledger.claim(_entry(new_account()["accountId"]))
    queue.enqueue(_message(first.account_id))

    own_azurite.restart()  # in memory: table and queue are gone, the adapters still think they exist

    assert ledger.get(first.account_id) is None
    second = ledger.claim(_entry(new_account()["accountId"]))
    assert ledger.get(second.account_id).tracking_id == second.tracking_id
    queue.enqueue(_message(second.account_id))
    assert queue.approximate_count() == 1

    own_azurite.restart()

    with pytest.raises(LedgerConflict):  # the row went with the table: a conflict to re-read, not an outage
        ledger.update(second.evolve(status=LedgerStatus.CREATED))
    assert ledger.claim(_entry(second.account_id)).account_id == second.account_id
    queue.send_to_poison(_message(second.account_id))  # the poison queue is created again as well
    assert queue.approximate_count(queue.poison_queue_name) == 1


def _public_methods(cls: type) -> set[str]:
    return {name for name, member in vars(cls).items() if callable(member) and not name.startswith("_")}


def test_every_ledger_and_retry_queue_call_raises_its_unavailable_error_while_azurite_is_down(own_azurite: OwnAzurite):
    ledger, queue = _adapters(own_azurite, retry_total=0)  # no retries: the mapping is under test, not the wait
    stored = ledger.claim(_entry(new_account()["accountId"]))
    queue.enqueue(_message(stored.account_id))

    own_azurite.stop()

    ledger_calls = {
        "get": lambda: ledger.get(stored.account_id),
        "claim": lambda: ledger.claim(_entry(new_account()["accountId"])),
        "update": lambda: ledger.update(stored.evolve(status=LedgerStatus.CREATED)),
        "delete": lambda: ledger.delete(stored),
        "hold_customer": lambda: ledger.hold_customer("0000100001", stored.account_id),
        "holder_of": lambda: ledger.holder_of("0000100001"),
        "find": lambda: ledger.find([LedgerStatus.PENDING]),
        "list_entries": lambda: ledger.list_entries(ListingQuery()),
        "probe": ledger.probe,
    }
    queue_calls = {
        "enqueue": lambda: queue.enqueue(_message(stored.account_id)),
        "send_to_poison": lambda: queue.send_to_poison(_message(stored.account_id)),
        "approximate_count": queue.approximate_count,
        "depth": queue.depth,
        "poison_depth": queue.poison_depth,
        "peek_poison": queue.peek_poison,
        "replay_poison": queue.replay_poison,
        "probe": queue.probe,
    }
    # "every": a call the adapters gain must be added here
    assert set(ledger_calls) == _public_methods(TableLedger)
    assert set(queue_calls) == _public_methods(StorageRetryQueue)
    for name, operation in ledger_calls.items():
        with pytest.raises(LedgerUnavailable):
            operation()
            pytest.fail(f"TableLedger.{name} returned while Azurite was down")
    for name, operation in queue_calls.items():
        with pytest.raises(RetryQueueUnavailable):
            operation()
            pytest.fail(f"StorageRetryQueue.{name} returned while Azurite was down")


def test_with_the_apps_client_settings_an_unreachable_storage_fails_a_call_within_a_few_seconds(
    own_azurite: OwnAzurite,
):
    ledger, queue = _adapters(own_azurite)
    own_azurite.stop()

    for operation, error in (
        (lambda: ledger.get(new_account()["accountId"]), LedgerUnavailable),
        (lambda: queue.enqueue(_message(new_account()["accountId"])), RetryQueueUnavailable),
    ):
        started = time.monotonic()
        with pytest.raises(error):
            operation()
        assert time.monotonic() - started < 6, "a request waiting on storage must get its 503 promptly"
