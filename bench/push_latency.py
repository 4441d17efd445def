"""Push path latency: from a Salesforce outbound message received to the SAP number recorded, against
the same account sent through the HTTP action (POST /api/customers, what the Power Automate flow calls),
and the acknowledgement Salesforce waits for while a batch of accounts is being created.

`python -m bench.push_latency [--accounts N]` prints a table and the same numbers as JSON.

Where things run (issue 27: each as production places it, as far as this machine allows):
* the app in `python -m devhost` children over the run's Azurite (ledger and retry queue), the SAP
  simulator with no latency inside the worker that creates (the harshest drain on storage), write-back
  off. The queue trigger polls as host.json says (maxPollingInterval 2 s, the Functions host's back-off
  from 100 ms after an empty poll), because that polling is what the push path adds;
* the HTTP functions and the queue trigger in two children of their own (the others disabled by their
  `AzureWebJobs.<FUNCTION_NAME>.Disabled` app setting, devhost/config.py): the deployed app runs on Flex
  Consumption (infra/main.bicep), whose per-function scaling puts every HTTP function in one group of
  instances and every other function (the queue trigger) on instances of its own ("Per-function
  scaling", learn.microsoft.com/azure/azure-functions/flex-consumption-plan, source MicrosoftDocs/azure-docs
  articles/azure-functions/flex-consumption-plan.md). Until issue 27 the bench ran devhost in its own
  process, so the acknowledgement shared one Python process (its GIL, one event loop) with the 24
  creates of the drain and with the bench's client: a contention no deployment on Flex Consumption
  has. Reported beside it: one child serving both (the Dedicated plan of the `appServiceHybridConnection`
  option, where one instance runs every function, and one thread pool of the Python worker runs every
  sync invocation: azure-functions-python-worker dispatcher.py `_sync_call_tp`);
* the bench's clients in this process. "Recorded" is the ledger's `updatedAt` of the entry that turned
  `created` (the status API), so no polling of ours is counted; all clocks are this machine's.

Series:
* push, single: one notification per message, one account at a time, each after a random pause of
  0-2 s (a person saving an account now and then: the queue trigger is found idle or backing off);
* push, batch: one message of 100 notifications (a data load); the acknowledgement's time too;
* while creating: after each batch message's acknowledgement, until its 100 accounts are created,
  messages of one account, each followed, 15 ms later, by the two storage writes that message waits
  for (the QUEUED claim's conditional insert and the queue put of a message of the same size, with the
  product's clients) made by this process alone into a table and queue of their own, 15 ms before the
  next message: the limit Azurite sets the acknowledgement at that moment, interleaved sample by sample;
* http: the same accounts one at a time through POST /api/customers, which creates before it answers.
What Salesforce adds before its message leaves (its own queue, seconds by its documentation) and what
the Power Automate trigger adds before the HTTP action runs (its polling interval, a minute or more)
are outside this machine and not in these numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.common import ROOT, Measurement, account_id15, load_samples, percentile

SINGLE_ACCOUNTS = 25
BATCH_ACCOUNTS = 100
MAX_PAUSE_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 30
RECORDED_TIMEOUT_SECONDS = 60
QUICK_ACCOUNTS = 3
QUICK_PAUSE_SECONDS = 0.2
# Batches whose creation the acknowledgements are measured during (one batch leaves a dozen samples).
BATCHES = 3
ONE_INSTANCE_BATCHES = 2
QUICK_BATCHES = 1
# Messages of one account sent while a batch's accounts are being created: one, then the storage writes
# alone, each this long after the other's answer; at most this many pairs per batch (a drain that stalls
# ends the series instead of the run).
DURING_GAP_SECONDS = 0.015
MAX_PAIRS_PER_BATCH = 150
QUICK_PAIRS = 3
CREATED_CHECK_EVERY = 4  # pairs between two looks at the ledger: are the batch's accounts created?
ACK_TARGET_MS = 100.0  # issue 27: the acknowledgement within 100 ms at p99 while 100 accounts are being created
PICKUP_TARGET = 1.2  # issue 27: p99 to recorded within 1.2 x the queue trigger's pickup bound
ORGANIZATION_ID = "00D5g000004XyZ1EAK"
RESENDS = 5
RESEND_PAUSE_SECONDS = 1.0
QUEUE_FUNCTION = "RetryCreateSAPCustomer"  # functions/retry.py: the queue trigger, scaled on its own


def _remove_storage(connection_string: str, table_names: list[str], queue_names: list[str]) -> None:
    # A reused (developer's own) Azurite keeps its data; leave nothing behind there.
    from bench.harness import remove_storage

    for table_name, queue_name in zip(table_names, queue_names, strict=True):
        remove_storage(connection_string, table_name, queue_name)


def _payloads(series: str, count: int) -> list[dict[str, Any]]:
    samples = load_samples()
    return [_payload(samples, series, number) for number in range(count)]


def _payload(samples: list[dict[str, Any]], series: str, number: int) -> dict[str, Any]:
    from devtools.fake_salesforce import salesforce_id18

    return dict(
        samples[number % len(samples)],
        accountId=salesforce_id18(account_id15(series, number)),
        name=f"Bench {series} {number}",
    )


def _recorded_at(session: requests.Session, base_url: str, account_id: str) -> datetime:
    """When the ledger recorded the account as created (its updatedAt), waiting until it has."""
    deadline = time.monotonic() + RECORDED_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = session.get(f"{base_url}/api/customers/{account_id}", timeout=REQUEST_TIMEOUT_SECONDS)
        if answer.status_code == 200 and answer.json()["status"] == "created":
            return datetime.fromisoformat(answer.json()["updatedAt"])
        time.sleep(0.05)
    raise TimeoutError(f"{account_id} was not created within {RECORDED_TIMEOUT_SECONDS} s")


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


def _push(session: requests.Session, base_url: str, payloads: list[dict[str, Any]]) -> tuple[datetime, float, int]:
    """Post one outbound message carrying these accounts, as Salesforce delivers it: (when it was first sent,
    ms until the attempt that was acknowledged was, how often it was sent again).

    A 503 (storage unavailable) is sent again, as Salesforce sends every unacknowledged message again (for up
    to 24 hours, functions/push.py); here after RESEND_PAUSE_SECONDS. It happens on Azurite when a pooled
    connection is reused just as Azurite closes it (its keep-alive timeout is 5 s, DEFAULT_TABLE_KEEP_ALIVE_
    TIMEOUT in its constants): the reset POST is not retried by azure-core (POST is not in its retry
    policy's method allowlist, a conditional insert must not be sent twice blind), so the endpoint answers
    503 and the message comes again. Any other answer breaks the run."""
    from tests.support.outbound_messages import account_fields_of, outbound_message, soap_headers

    body = outbound_message([account_fields_of(payload) for payload in payloads], organization_id=ORGANIZATION_ID)
    sent = datetime.now(UTC)
    for resends in range(RESENDS + 1):
        if resends:
            time.sleep(RESEND_PAUSE_SECONDS)
        started = time.perf_counter()
        answer = session.post(
            f"{base_url}/api/salesforce/outbound-messages",
            data=body,
            headers=soap_headers(),
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        ack_ms = (time.perf_counter() - started) * 1000
        if answer.status_code == 200 and b"<Ack>true</Ack>" in answer.content:
            return sent, ack_ms, resends
        if answer.status_code != 503:
            break
    raise RuntimeError(f"outbound message not acknowledged: {answer.status_code} {answer.text[:200]}")


class StorageWrites:
    """The two storage writes a one-account message waits for (shared.usecases.push `_queue`): the
    conditional insert of the QUEUED claim carrying the request, then the queue put of the create message
    carrying that stored entry; by the product's own ledger and queue clients, in this process, into a
    table and a queue of their own that nothing drains (so the drain is not made larger), entities and
    messages of the same shape and size."""

    def __init__(self, settings: dict[str, str]) -> None:
        from shared.settings.loading import load_settings
        from shared.storage.queue import storage_retry_queue_from_settings
        from shared.storage.table_ledger import table_ledger_from_settings

        config = load_settings(settings, sap_required=False)
        self._ledger = table_ledger_from_settings(config)
        self._queue = storage_retry_queue_from_settings(config)
        self._samples = load_samples()
        self._written = 0

    def time_ms(self) -> float | None:
        """Milliseconds for the two writes of a new account; None when storage refused one (as the endpoint
        would have answered 503: see `_push`)."""
        from shared.core.ledger import LedgerEntry, LedgerStatus
        from shared.core.retry_message import RetryKind, RetryMessage
        from shared.core.salesforce_id import normalize_account_id
        from shared.core.validation import parse_customer_request
        from shared.storage.port import LedgerUnavailable, RetryQueueUnavailable
        from shared.usecases.services import new_retry_token, new_tracking_id

        payload = _payload(self._samples, "Sw", self._written)
        self._written += 1
        request = parse_customer_request(payload)  # what the endpoint has done before its writes
        account_id = normalize_account_id(payload["accountId"])
        started = time.perf_counter()
        now = datetime.now(UTC)
        token = new_retry_token()
        claim = LedgerEntry(
            account_id=account_id,
            status=LedgerStatus.QUEUED,
            tracking_id=new_tracking_id(),
            created_at=now,
            updated_at=now,
            retry_token=token,
            payload=request.to_payload(),
            change_modstamp=now,
        )
        try:
            stored = self._ledger.claim(claim)
        except LedgerUnavailable:
            return None
        message = RetryMessage(
            kind=RetryKind.CREATE,
            account_id=account_id,
            tracking_id=stored.tracking_id,
            payload=request.to_payload(),
            attempt=stored.attempts,
            first_seen_at=stored.created_at.isoformat(),
            retry_token=token,
        )
        try:
            self._queue.enqueue(message.with_written_entry(stored), 0)
        except RetryQueueUnavailable:
            return None
        return (time.perf_counter() - started) * 1000


@dataclass
class WhileCreating:
    """Acknowledgements and the storage writes alone, interleaved: those sent before their batch's last
    create was recorded, and those sent after it (left out of the figures, unless a quick run's 3
    accounts were created before the first: then all, so the figures stay finite)."""

    acks: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    acks_after: list[float] = field(default_factory=list)
    writes_after: list[float] = field(default_factory=list)
    left_out: int = 0  # messages answered 503 and sent again, or writes alone that storage refused

    def figures(self) -> tuple[list[float], list[float]]:
        if self.acks:
            return self.acks, self.writes
        return self.acks_after, self.writes_after


def _while_creating(
    session: requests.Session,
    base_url: str,
    writes: StorageWrites,
    ledger: Any,
    series: str,
    batches: int,
    batch_size: int,
    max_pairs: int,
) -> tuple[WhileCreating, list[float]]:
    """For each batch: its message, then (acknowledgement, storage writes) pairs until the batch's accounts
    are created (a look at the ledger every few pairs), kept when sent before the batch's last account was
    recorded. Returns them and the batch acknowledgements."""
    result, batch_acks = WhileCreating(), []
    for number in range(batches):
        batch = _payloads(f"{series}{number}", batch_size)
        singles = iter(_payloads(f"{series[0]}{chr(ord('a') + number)}", max_pairs))
        batch_acks.append(_push(session, base_url, batch)[1])
        pairs: list[tuple[datetime, float, float]] = []
        for count in range(max_pairs):
            sent, ack_ms, resends = _push(session, base_url, [next(singles)])
            time.sleep(DURING_GAP_SECONDS)
            writes_ms = writes.time_ms()
            time.sleep(DURING_GAP_SECONDS)
            if resends or writes_ms is None:
                result.left_out += 1  # a 503 sent again (or the writes alone refused): no latency of either
            else:
                pairs.append((sent, ack_ms, writes_ms))
            if count % CREATED_CHECK_EVERY == CREATED_CHECK_EVERY - 1 and _created(ledger, f"{series}{number}"):
                break
        last_created = max(_recorded_at(session, base_url, payload["accountId"]) for payload in batch)
        for sent, ack_ms, writes_ms in pairs:
            while_creating = sent < last_created
            (result.acks if while_creating else result.acks_after).append(ack_ms)
            (result.writes if while_creating else result.writes_after).append(writes_ms)
        for payload in _payloads(f"{series[0]}{chr(ord('a') + number)}", count + 1):
            _recorded_at(session, base_url, payload["accountId"])  # the next batch starts on an empty queue
    return result, batch_acks


def _created(ledger: Any, series: str) -> bool:
    """Whether every account of this series is created: no ledger entry of it in another status (the
    series' accounts are one PartitionKey range, "001" + series; bench.common.account_id15)."""
    prefix = f"001{series}"
    pending = ledger.query_entities(
        f"PartitionKey ge '{prefix}' and PartitionKey lt '{prefix}~' and Status ne 'created'",
        select=["PartitionKey"],
        results_per_page=1,
    )
    return next(iter(pending), None) is None


def _measure(
    base_url: str,
    writes: StorageWrites,
    ledger: Any,
    single: int,
    batch_size: int,
    pause_seconds: float,
    rng: random.Random,
    batches: int,
    max_pairs: int,
) -> dict[str, Any]:
    session = requests.Session()
    # Warm-up: build the services, create table and queue, load reference data, on both ways in.
    for payload in _payloads("Wp", 2):
        _push(session, base_url, [payload])
        _recorded_at(session, base_url, payload["accountId"])
    for payload in _payloads("Wh", 2):
        session.post(f"{base_url}/api/customers", json=payload, timeout=REQUEST_TIMEOUT_SECONDS).raise_for_status()
    writes.time_ms()

    push_single, push_ack, idle_writes, resent = [], [], [], 0
    for payload in _payloads("Ps", single):
        time.sleep(rng.uniform(0, pause_seconds))
        sent, ack_ms, resends = _push(session, base_url, [payload])
        if resends:
            resent += 1  # its recorded time counts from the first send; no acknowledgement time
        else:
            push_ack.append(ack_ms)
        push_single.append(_ms(sent, _recorded_at(session, base_url, payload["accountId"])))
        writes_ms = writes.time_ms()  # nothing draining: what the two writes cost on a quiet Azurite
        if writes_ms is not None:
            idle_writes.append(writes_ms)

    batch = _payloads("Pb", batch_size)
    time.sleep(pause_seconds)
    sent, batch_ack_ms, _ = _push(session, base_url, batch)
    push_batch = [_ms(sent, _recorded_at(session, base_url, payload["accountId"])) for payload in batch]

    during, batch_acks = _while_creating(session, base_url, writes, ledger, "B", batches, batch_size, max_pairs)

    http_single = []
    for payload in _payloads("Hs", single):
        sent = datetime.now(UTC)
        answer = session.post(f"{base_url}/api/customers", json=payload, timeout=REQUEST_TIMEOUT_SECONDS)
        if answer.status_code != 201:
            raise RuntimeError(f"create answered {answer.status_code}: {answer.text[:200]}")
        http_single.append(_ms(sent, _recorded_at(session, base_url, payload["accountId"])))
    return {
        "push_single": push_single,
        "push_ack": push_ack,
        "idle_writes": idle_writes,
        "single_resent": resent,
        "push_batch": push_batch,
        "batch_ack_ms": batch_ack_ms,
        "batch_acks": batch_acks,
        "http_single": http_single,
        "during": during,
    }


@dataclass(frozen=True)
class Deployment:
    """One app deployment's storage (its own ledger table and retry queue) and the settings of its workers."""

    settings: dict[str, str]

    @property
    def table_name(self) -> str:
        return self.settings["LEDGER_TABLE_NAME"]

    @property
    def queue_name(self) -> str:
        return self.settings["RETRY_QUEUE_NAME"]


def _deployment(connection_string: str, directory: str) -> Deployment:
    """A deployment's settings; its workers share one simulated SAP database (SAP_SIMULATOR_STATE_FILE), as
    instances share one SAP: with a database each, two would hand out the same customer number."""
    suffix = uuid.uuid4().hex[:12]
    return Deployment(
        {
            "AzureWebJobsStorage": connection_string,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "SAP_TRANSPORT": "simulator",
            "SAP_SIMULATOR_FAULTS": "latency_ms=0",
            "SAP_SIMULATOR_STATE_FILE": str(Path(directory) / f"sap-{suffix}.sqlite"),
            "LEDGER_TABLE_NAME": f"benchpush{suffix}",
            "RETRY_QUEUE_NAME": f"bench-push-{suffix}",
            "SALESFORCE_WRITEBACK": "off",
            "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID,
        }
    )


def _functions(settings: dict[str, str]) -> list[tuple[str, bool]]:
    """The app's functions as devhost indexes them: (name, is an HTTP function)."""
    from bench.harness import environment
    from devhost.app_loader import HTTP_TRIGGER, ImportState, load_functions

    state = ImportState()
    try:
        with environment(settings):  # function_app checks its settings at import
            return [(spec.name, spec.kind == HTTP_TRIGGER) for spec in load_functions(ROOT)]
    finally:
        state.restore()


def _disabled_settings(functions: list[tuple[str, bool]], enabled: str) -> dict[str, str]:
    """`AzureWebJobs.<name>.Disabled=true` for every function but these: "http" keeps the HTTP functions
    (one scale group), "queue" the queue trigger (instances of its own), "all" every function."""
    from devhost.config import disabled_setting_name

    def kept(name: str, is_http: bool) -> bool:
        return enabled == "all" or (is_http if enabled == "http" else name == QUEUE_FUNCTION)

    return {disabled_setting_name(name): "true" for name, is_http in functions if not kept(name, is_http)}


@contextlib.contextmanager
def _worker(arguments: list[str], settings: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child with its console in `log_path` (read back when the run breaks: what did the worker say?)."""
    from bench.memory import _child_environment

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=ROOT,
            env=_child_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _complaints(log_paths: list[Path], limit: int = 6) -> str:
    """The workers' last warning and error lines (the app logs no personal data: shared/log.py)."""
    lines = []
    for path in log_paths:
        with contextlib.suppress(OSError):
            found = [
                line
                for line in path.read_text(errors="replace").splitlines()
                if " WARNING " in line or " ERROR " in line
            ]
            lines += [f"{path.stem}: {line}" for line in found[-limit:]]
    return "\n".join(lines) or "(no warning or error in the workers' logs)"


@contextlib.contextmanager
def _workers(roles: list[tuple[Deployment, str]], log_directory: str) -> Iterator[list[str]]:
    """`python -m devhost` children, one per (deployment, enabled functions), started side by side; their
    base URLs once each listens (the HTTP ones answer the health check; a queue-only one answers 404).
    Should the run break meanwhile, the error carries the workers' last warnings."""
    from bench.harness import free_ports
    from bench.memory import _wait_until

    ports = free_ports(len(roles))
    functions = _functions(roles[0][0].settings)
    log_paths = [Path(log_directory) / f"worker-{number}-{enabled}.log" for number, (_, enabled) in enumerate(roles)]
    with contextlib.ExitStack() as stack:
        processes = []
        for (deployment, enabled), port, log_path in zip(roles, ports, log_paths, strict=True):
            settings = {**deployment.settings, **_disabled_settings(functions, enabled)}
            # --max-polling-interval 0: host.json's maxPollingInterval as it is, as in Azure.
            arguments = ["-m", "devhost", "--port", str(port), "--max-polling-interval", "0"]
            processes.append(stack.enter_context(_worker(arguments, settings, log_path)))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for (_, enabled), url, process in zip(roles, urls, processes, strict=True):
            expected = 404 if enabled == "queue" else 200
            _wait_until(
                lambda url=url, expected=expected: requests.get(f"{url}/api/health", timeout=5).status_code == expected,
                process,
                f"push_latency's {enabled} worker",
            )
        try:
            yield urls
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\n{_complaints(log_paths)}") from error


def _one_worker(
    base_url: str, writes: StorageWrites, connection_string: str, deployment: Deployment, batch_size: int
) -> WhileCreating:
    """The acknowledgements while creating with one worker serving the HTTP functions and the queue trigger:
    the layout of the Dedicated plan (appServiceHybridConnection), where one instance runs every function."""
    from azure.data.tables import TableClient

    session = requests.Session()
    for payload in _payloads("Wt", 2):  # its first requests build its services
        _push(session, base_url, [payload])
        _recorded_at(session, base_url, payload["accountId"])
    ledger = TableClient.from_connection_string(connection_string, deployment.table_name)
    during, _ = _while_creating(
        session, base_url, writes, ledger, "T", ONE_INSTANCE_BATCHES, batch_size, MAX_PAIRS_PER_BATCH
    )
    return during


def run(quick: bool = False, single: int | None = None, seed: int = 15) -> list[Measurement]:
    """The bench's entry (bench/__main__.py BENCHMARKS): `quick` sends a few accounts only, to check
    the code runs."""
    if single is None:
        single = QUICK_ACCOUNTS if quick else SINGLE_ACCOUNTS
    batch_size = QUICK_ACCOUNTS if quick else BATCH_ACCOUNTS
    pause_seconds = QUICK_PAUSE_SECONDS if quick else MAX_PAUSE_SECONDS
    max_pairs = QUICK_PAIRS if quick else MAX_PAIRS_PER_BATCH
    from azure.data.tables import TableClient

    from bench.harness import azurite as bench_azurite
    from bench.harness import quiet_logs

    quiet_logs()
    azurite = bench_azurite()  # the bench's own Azurite on free ports (python -m bench stops it at the end)
    directory = tempfile.TemporaryDirectory(prefix="bench-push-")
    split, together, probe = (_deployment(azurite.connection_string, directory.name) for _ in range(3))
    deployments = [split, together, probe]
    try:
        writes = StorageWrites(probe.settings)
        # A quick run leaves the one-worker layout out (a third child to start; the same code measures it).
        roles = [(split, "http"), (split, "queue")] + ([] if quick else [(together, "all")])
        with _workers(roles, directory.name) as urls:
            ledger = TableClient.from_connection_string(azurite.connection_string, split.table_name)
            series = _measure(
                urls[0],
                writes,
                ledger,
                single,
                batch_size,
                pause_seconds,
                random.Random(seed),
                QUICK_BATCHES if quick else BATCHES,
                max_pairs,
            )
            if not quick:
                series["together"] = _one_worker(urls[2], writes, azurite.connection_string, together, batch_size)
    finally:
        _remove_storage(
            azurite.connection_string,
            [deployment.table_name for deployment in deployments],
            [deployment.queue_name for deployment in deployments],
        )
        directory.cleanup()
    return _measurements(series, single, batch_size, pause_seconds)


def _pickup_bound_seconds() -> float:
    """host.json's maxPollingInterval: the longest an idle queue trigger waits before it looks again."""
    from devhost.config import read_host_config

    return read_host_config(ROOT).queues.max_polling_interval_seconds


def _measurements(series: dict[str, Any], single: int, batch_size: int, pause_seconds: float) -> list[Measurement]:
    bound_ms = _pickup_bound_seconds() * 1000
    during: WhileCreating = series["during"]
    acks, writes = during.figures()
    measurements = [
        Measurement(
            "push_latency.ack_p99_while_creating",
            percentile(acks, 0.99),
            "ms",
            ACK_TARGET_MS,
            note=f"{len(during.acks)} messages of 1 account acknowledged while the {batch_size} accounts of a batch "
            f"were being created ({len(series['batch_acks'])} batches; HTTP functions and queue trigger in workers "
            f"of their own, as Flex Consumption scales them; p50 {statistics.median(acks):.1f} ms; "
            f"{during.left_out} left out: answered 503 and sent again, see _push)",
        ),
        Measurement(
            "push_latency.ack_p99_vs_storage_writes_while_creating",
            percentile(acks, 0.99) / percentile(writes, 0.99),
            "x",
            note=f"over the same two storage writes by the bench alone, interleaved with the messages (p99 "
            f"{percentile(writes, 0.99):.0f} ms; of {len(writes)} samples each p99 is the largest, so it swings); "
            f"ratio at p90 {percentile(acks, 0.9) / percentile(writes, 0.9):.2f}, at p50 "
            f"{statistics.median(acks) / statistics.median(writes):.2f} (the endpoint's own HTTP, parsing and "
            "hand-offs between processes and threads on two busy cores)",
        ),
        Measurement(
            "push_latency.storage_writes_p99_while_creating",
            percentile(writes, 0.99),
            "ms",
            note="the claim's conditional insert and the queue put alone, same moments: what Azurite under the "
            "drain allows any acknowledgement",
        ),
        Measurement(
            "push_latency.push_single_p99_vs_pickup_bound",
            percentile(series["push_single"], 0.99) / bound_ms,
            "x",
            PICKUP_TARGET,
            note=f"message to number recorded, p99, over host.json's maxPollingInterval ({bound_ms:.0f} ms); "
            "SAP at 0 ms a call, so SAP's own time (the simulator's few ms) is not subtracted",
        ),
    ]
    if "together" in series:
        together_acks, together_writes = series["together"].figures()
        measurements.append(
            Measurement(
                "push_latency.ack_p99_while_creating_one_worker",
                percentile(together_acks, 0.99),
                "ms",
                note=f"{len(together_acks)} messages, one worker serving the HTTP functions and the queue trigger "
                f"(the Dedicated plan's layout): p50 {statistics.median(together_acks):.1f} ms; its storage writes "
                f"alone p99 {percentile(together_writes, 0.99):.0f} ms; {series['together'].left_out} left out (503)",
            )
        )
    for key, name, note in (
        (
            "push_single",
            "push_latency.push_single_recorded",
            f"{single} messages of 1 account, 0-{pause_seconds:g} s apart",
        ),
        ("push_batch", "push_latency.push_batch_recorded", f"1 message of {batch_size} accounts"),
        ("http_single", "push_latency.http_single_recorded", f"{single} POST /api/customers one after another"),
        (
            "push_ack",
            "push_latency.push_single_ack",
            "the acknowledgement Salesforce waits for (60 s timeout), nothing draining; its two storage writes "
            f"alone p50 {statistics.median(series['idle_writes']):.1f} ms, p99 "
            f"{percentile(series['idle_writes'], 0.99):.1f} ms; {series['single_resent']} answered 503 and sent "
            "again (left out)",
        ),
    ):
        values = series[key]
        measurements.append(Measurement(f"{name}_p50", statistics.median(values), "ms", note=note))
        measurements.append(Measurement(f"{name}_p99", percentile(values, 0.99), "ms"))
    measurements.append(
        Measurement(
            "push_latency.push_batch_ack",
            series["batch_ack_ms"],
            "ms",
            note=f"acknowledging {batch_size} notifications",
        )
    )
    measurements.append(
        Measurement(
            "push_latency.push_over_http_p50",
            statistics.median(series["push_single"]) / statistics.median(series["http_single"]),
            "x",
            note="push to recorded over the HTTP action to recorded, p50: the queue trigger's polling (no target: "
            "what decides the real latency, Salesforce's send and the flow trigger's polling, is outside)",
        )
    )
    return measurements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push_latency", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts",
        type=int,
        default=SINGLE_ACCOUNTS,
        help=f"accounts in each one-at-a-time series (default {SINGLE_ACCOUNTS})",
    )
    arguments = parser.parse_args(argv)
    try:
        measurements = run(single=arguments.accounts)
    finally:
        from bench.harness import stop_azurite

        stop_azurite()
    for measurement in measurements:
        print(measurement.line())
    print(json.dumps([m.to_json() for m in measurements], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
