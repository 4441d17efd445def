"""Initial load (issue 27, item 1): `python -m admin reconcile --apply` over Customer accounts without an
SAP number in the fake Salesforce, and their creates in SAP by the queue trigger.

What runs, each in a process of its own (as an operator's terminal and a Functions instance are):
* the fake Salesforce (devtools/fake_salesforce.py, this process, HTTPS) holds the accounts and pages
  the query 2,000 records at a time with `nextRecordsUrl`, as Salesforce's REST API does ("Query
  Options Header", REST API Developer Guide: "The default is 2,000; the minimum is 200, and the
  maximum is 2,000"; "Change the Batch Size in Queries", SOQL and SOSL Reference);
* `python -m admin reconcile --apply` reads every page and, on its own 8 threads
  (shared.usecases.reconcile.WORKERS), claims each account QUEUED and queues its create;
* `python -m devhost` (the local Functions host, SAP_TRANSPORT=relay as deployed) creates them through
  RetryCreateSAPCustomer, the relay double and one agent (bench/agent_rig.py, this process) with 8 SAP
  sessions over the simulator at 200 ms per connect and call, so the worker's memory is the app's
  alone and this process counts SAP's calls, customers and sessions.

Two phases, because Azurite cannot drain a deep queue: its receive filters and sorts every message of
the queue (LokiQueueMetadataStore.getMessages and clearExpiredMessages in Azurite's
dist/src/queue/persistence), measured here at 0.6 s for 16 messages with 2,000 queued, 2.4 s with
10,000 and 8.5 s with 30,000 (puts and table inserts stay flat), while an Azure queue's target is
2,000 messages/s whatever its length ("Scalability and performance targets for Queue Storage").
Worse, every queue operation of Azurite's costs in proportion to the messages it holds in *any* queue
(its LokiJS messages collection is indexed on the account name, the same for all of them, so each find
and index update walks them all), and deleting a queue of N messages costs about N^2: each phase runs on
a fresh Azurite (bench.harness.fresh_azurite), stopped rather than emptied.
1. The enqueue alone: the reconcile with `--window 0` (no bound) and nothing draining, into a ledger
   and a queue of its own. Its rate over the raw put rate, the same messages by
   the product's queue client on as many threads (≥ 0.5: a reconcile makes a table insert and a queue
   put per account); its peak RSS growth.
2. Day one: the worker running, then the reconcile with its default window (200 messages queued at
   most: what keeps live creates from waiting behind the load, and what lets Azurite drain it). Creates/s
   from the reconcile's start to SAP's last customer over N / (calls per create x latency), N = 8 and
   the calls counted by the agent's simulator (≥ 0.9); the worker's peak RSS growth after the first
   10% created (≤ 10 MB); SAP customers over accounts (exactly 1: each account's name is its own, so a
   name seen twice in SAP is a duplicate).

`--only initial_load` runs 100,000 accounts (the full figure: about 1 hour 40 minutes, 83 minutes of
it the SAP bound of 20 creates/s), the default run 10,000 (about 10 minutes), `--quick` 100 at 20 ms
per call (most of its seconds the processes starting).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.agent_rig import AgentRig, agent_rig
from bench.common import Measurement
from bench.harness import app_settings, free_ports, fresh_azurite, quiet_logs, stop_azurite, unique
from bench.memory import _child, _wait_until, peak_rss_mb

NAME = "initial_load"
FULL_ACCOUNTS = 100_000
ACCOUNTS = 10_000
QUICK_ACCOUNTS = 100
LATENCY_MS = 200
QUICK_LATENCY_MS = 20
SESSIONS = 8
RECONCILE_THREADS = 8  # shared.usecases.reconcile.WORKERS
WINDOW = 200  # admin reconcile's default --window (shared.usecases.reconcile_pacing.DEFAULT_WINDOW)
RAW_PUTS = 10_000  # the put rate is flat in the queue's depth (measured to 30,000 on Azurite)
ENQUEUE_TARGET_SHARE = 0.5
DRAIN_TARGET_SHARE = 0.9
GROWTH_TARGET_MB = 10.0
WARM_SHARE = 0.1
POLL_SECONDS = 0.25
TIMEOUT_SECONDS = 3 * 3600
# No progress for this long is a stall, not a slow run: the benchmark stops and says so (it was seen
# with Azurite in memory holding 10,000 messages, whose queue then took over 60 s to answer).
STALL_SECONDS = 180


def customer(number: int) -> dict[str, str]:
    """A German customer account without an SAP number; the name is the account's own."""
    return {
        "Name": f"Initial Load Kunde {number} GmbH",
        "Type": "Customer",
        "BillingStreet": f"Industriestraße {number % 500 + 1}",
        "BillingCity": "München",
        "BillingPostalCode": "80331",
        "BillingState": "Bayern",
        "BillingCountry": "Germany",
        "Phone": "089 1234567",
        "SAP_Company_Code__c": "1000",
        "SAP_Sales_Organization__c": "1000",
        "SAP_Distribution_Channel__c": "10",
        "SAP_Division__c": "00",
    }


def _queue_client(settings: dict[str, str], queue_name: str) -> Any:
    from shared.settings import load_settings
    from shared.storage.clients import queue_service_client

    return queue_service_client(load_settings(settings)).get_queue_client(queue_name)


def _queued(settings: dict[str, str]) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return _queue_client(settings, settings["RETRY_QUEUE_NAME"]).get_queue_properties().approximate_message_count
    except ResourceNotFoundError:  # the reconcile makes the queue with its first message
        return 0


def _raw_put_rate(settings: dict[str, str], body: str, count: int) -> float:
    """Messages/s: `count` puts of `body` by the product's queue client on the reconcile's thread count."""
    name = unique("benchput")
    client = _queue_client(settings, name)
    client.create_queue()
    # Left in place: deleting a queue of N costs Azurite N^2; the phase's Azurite is stopped instead.
    with ThreadPoolExecutor(max_workers=RECONCILE_THREADS) as pool:
        started = time.perf_counter()
        list(pool.map(lambda _: client.send_message(body), range(count)))
        return count / (time.perf_counter() - started)


def _follow(
    process: subprocess.Popen[bytes], progress: Callable[[], int], target: int, what: str
) -> tuple[float, float, float]:
    """Poll until `progress()` reaches `target` (or the process ends): seconds taken, VmHWM once
    WARM_SHARE of the target was reached, VmHWM at the end."""
    started = last_progress = time.perf_counter()
    warm_rss = last_rss = None
    done = 0
    while True:
        before = done
        try:
            done = progress()
        except Exception:  # storage too slow to answer counts as no progress
            done = before
        if done != before:
            last_progress = time.perf_counter()
        elif time.perf_counter() - last_progress > STALL_SECONDS:
            raise RuntimeError(f"initial_load: {what} stalled at {done} of {target} for {STALL_SECONDS} s")
        finished = process.poll() is not None
        if not finished:
            try:
                rss = peak_rss_mb(process.pid)
            except RuntimeError:  # it ended between the poll and the read (a zombie has no VmHWM)
                finished = process.poll() is not None
                if not finished:
                    raise
            else:
                if warm_rss is None and done >= WARM_SHARE * target:
                    warm_rss = rss
                last_rss = rss
        if done >= target or finished:
            break
        if time.perf_counter() - started > TIMEOUT_SECONDS:
            raise RuntimeError(f"initial_load: {what} reached {done} of {target} in {TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)
    if last_rss is None:
        raise RuntimeError(f"initial_load: {what} ended before its peak RSS could be read")
    # Only a run too short to be polled at WARM_SHARE (the quick one) lacks the early reading.
    return time.perf_counter() - started, last_rss if warm_rss is None else warm_rss, last_rss


def _reconcile_child(
    settings: dict[str, str], salesforce: Any, window: int
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    environment = dict(
        settings,
        SALESFORCE_AUTH="client_credentials",
        SALESFORCE_LOGIN_URL=salesforce.base_url,
        SALESFORCE_CLIENT_ID=salesforce.credentials.client_id,
        SALESFORCE_CLIENT_SECRET=salesforce.credentials.client_secret,
        SALESFORCE_CA_BUNDLE=salesforce.ca_path,
    )
    arguments = ["-m", "admin", "reconcile", "--apply", "--no-progress", "--show", "0", "--window", str(window)]
    return _child(arguments, environment)


def _enqueue(settings: dict[str, str], salesforce: Any, accounts: int) -> dict[str, float]:
    """The reconcile alone, no window, nothing draining: how fast it queues (and its memory)."""
    started = time.perf_counter()
    with _reconcile_child(settings, salesforce, window=0) as process:
        _, warm, peak = _follow(process, lambda: _queued(settings), accounts, "the reconcile")
        code = process.wait(timeout=TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"initial_load: the reconcile exited {code}")
    return {"seconds": seconds, "warm": warm, "peak": peak}


def _load(settings: dict[str, str], salesforce: Any, rig: AgentRig, accounts: int, window: int) -> dict[str, float]:
    """Day one: a worker running, then the reconcile with its window; until SAP holds every account."""
    [port] = free_ports(1)
    base_url = f"http://127.0.0.1:{port}"
    customers_before, calls_before = rig.system.customer_count, rig.calls
    with _child(["-m", "devhost", "--port", str(port)], settings) as worker:
        _wait_until(lambda: requests.get(f"{base_url}/api/health", timeout=5).status_code == 200, worker, "worker")
        started = time.perf_counter()
        with _reconcile_child(settings, salesforce, window) as reconcile:
            _, warm, peak = _follow(
                worker, lambda: rig.system.customer_count - customers_before, accounts, "the initial load"
            )
            seconds = time.perf_counter() - started
            if worker.poll() is not None:
                raise RuntimeError(f"initial_load: the worker exited ({worker.returncode}) during the load")
            code = reconcile.wait(timeout=60)
        if code != 0:
            raise RuntimeError(f"initial_load: the windowed reconcile exited {code}")
        deadline = time.monotonic() + 30
        while _queued(settings) and time.monotonic() < deadline:  # deletes of the last messages
            time.sleep(POLL_SECONDS)
        time.sleep(1.0)  # a create still running would show as a duplicate below
    created = rig.system.customer_count - customers_before
    return {
        "seconds": seconds,
        "warm": warm,
        "peak": peak,
        "calls_per_create": (rig.calls - calls_before) / max(created, 1),
    }


def enqueue_phase(salesforce: Any, accounts: int) -> dict[str, Any]:
    """1. The enqueue alone, into a ledger and a queue of its own (the reconcile never calls SAP), on an Azurite
    of its own: every queue operation of Azurite's costs in proportion to the messages it holds in any queue,
    and deleting a queue of N costs N^2 (module docstring), so it is stopped, not emptied. The raw put rate
    right before and right after the reconcile, in the same Azurite."""
    settings = app_settings(fresh_azurite().connection_string)
    try:
        # The reconcile's message, as it will queue it: one account's, claimed and queued by the product.
        raw_before = _raw_put_rate(settings, _message_body(), min(accounts, RAW_PUTS))
        pages_before = salesforce.query_requests
        enqueue = _enqueue(settings, salesforce, accounts)
        pages = salesforce.query_requests - pages_before
        queue = _queue_client(settings, settings["RETRY_QUEUE_NAME"])
        body = next(iter(queue.peek_messages(max_messages=1))).content
        raw_after = _raw_put_rate(settings, body, min(accounts, RAW_PUTS))
    finally:
        stop_azurite()
    return {
        "enqueue": enqueue,
        "pages": pages,
        "raw_put": 2 / (1 / raw_before + 1 / raw_after),
        "raw_passes": (raw_before, raw_after),
        "body_bytes": len(body),
    }


def _message_body() -> str:
    """A create message as the reconcile queues it (shared.usecases.reconcile._claim_and_queue): one of this
    benchmark's accounts, validated, carrying its QUEUED entry with an ETag of Azurite's form, so the first
    raw pass, taken before any reconcile ran, puts messages of the same size."""
    import base64
    import uuid
    from datetime import UTC, datetime

    from devtools.fake_salesforce import salesforce_id18
    from shared.core.ledger import LedgerEntry, LedgerStatus
    from shared.core.retry_message import RetryKind, RetryMessage
    from shared.core.validation import parse_customer_request
    from shared.salesforce.account_query import REQUEST_PROPERTY_FIELDS  # the query's record -> request mapping
    from shared.usecases.reconcile import RECONCILE_NOTE

    record = {"Id": salesforce_id18(f"001Il{0:010d}"), **customer(0)}
    request = {prop: record.get(field) for prop, field in REQUEST_PROPERTY_FIELDS.items()}
    payload = parse_customer_request(request).to_payload()
    now = datetime.now(UTC)
    token = uuid.uuid4().hex
    etag = "W/\"datetime'" + now.strftime("%Y-%m-%dT%H%%3A%M%%3A%S.%f0Z") + "'\""
    entry = LedgerEntry(
        account_id=payload["accountId"],
        status=LedgerStatus.QUEUED,
        tracking_id=str(uuid.uuid4()),
        created_at=now,
        updated_at=now,
        retry_token=token,
        last_error=RECONCILE_NOTE,
        payload=payload,
        etag=etag,
    )
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id=entry.account_id,
        tracking_id=entry.tracking_id,
        payload=payload,
        attempt=0,
        first_seen_at=now.isoformat(),
        last_error=RECONCILE_NOTE,
        retry_token=token,
    )
    # As the peeked content of the reconcile's queue reads through the bench's plain client: base64, the
    # encoding the product's queue client applies (host.json messageEncoding).
    return base64.b64encode(message.with_written_entry(entry).to_json().encode()).decode("ascii")


def load_phase(salesforce: Any, accounts: int, latency_ms: int, window: int = WINDOW) -> dict[str, Any]:
    """2. Day one: the windowed reconcile beside a worker, SAP behind the relay and an agent, on a fresh Azurite."""
    with agent_rig(latency_ms, SESSIONS, numbers=accounts) as rig:
        settings = app_settings(fresh_azurite().connection_string, PYTHON_THREADPOOL_THREAD_COUNT="24", **rig.settings)
        settings.pop("SAP_SIMULATOR_FAULTS")  # the agent's simulator has the latency
        try:
            load = _load(settings, salesforce, rig, accounts, window)
        finally:
            stop_azurite()  # the next benchmark starts on an empty one
        names = [record.address.get("NAME", "") for record in rig.system.created_customers()]
        names = [name for name in names if name.startswith("Initial Load Kunde")]
        return {
            "load": load,
            "window": window,
            "created": len(names),
            "duplicates": len(names) - len(set(names)),
            "peak_sessions": rig.sessions.peak,
        }


def salesforce_with_accounts(accounts: int) -> Any:
    from devtools.fake_salesforce import FakeSalesforce

    salesforce = FakeSalesforce()  # 2,000 records per query page, as Salesforce's default
    for number in range(accounts):
        salesforce.add_account(f"001Il{number:010d}", **customer(number))
    return salesforce


def measure(accounts: int, latency_ms: int, window: int = WINDOW) -> dict[str, Any]:
    quiet_logs()
    with salesforce_with_accounts(accounts) as salesforce:
        enqueue = enqueue_phase(salesforce, accounts)
        load = load_phase(salesforce, accounts, latency_ms, window)
    return {"accounts": accounts, **enqueue, **load}


def run(quick: bool = False, full: bool = False) -> list[Measurement]:
    accounts = QUICK_ACCOUNTS if quick else FULL_ACCOUNTS if full else ACCOUNTS
    latency_ms = QUICK_LATENCY_MS if quick else LATENCY_MS
    result = measure(accounts, latency_ms)
    enqueue, load = result["enqueue"], result["load"]
    enqueue_rate = accounts / enqueue["seconds"]
    create_rate = accounts / load["seconds"]
    calls = load["calls_per_create"]
    limit = SESSIONS / (calls * latency_ms / 1000)
    first, second = result["raw_passes"]
    prefix = f"{NAME}.{accounts}"
    return [
        Measurement(
            f"{prefix}_enqueue_vs_raw_put",
            enqueue_rate / result["raw_put"],
            "x",
            ENQUEUE_TARGET_SHARE,
            at_least=True,
            note=f"{enqueue_rate:.0f} accounts/s queued by `admin reconcile --apply --window 0` alone "
            f"({enqueue['seconds']:.1f} s, {result['pages']} query pages, its start included) over "
            f"{result['raw_put']:.0f} puts/s of {result['body_bytes']}-byte messages on {RECONCILE_THREADS} threads "
            f"(passes before and after it {first:.0f}, {second:.0f})",
        ),
        Measurement(
            f"{prefix}_load_vs_sap_limit",
            create_rate / limit,
            "x",
            DRAIN_TARGET_SHARE,
            at_least=True,
            note=f"{create_rate:.2f} creates/s from the reconcile's start (--window {result['window']}) to SAP's "
            f"last customer ({load['seconds']:.1f} s) over {limit:.2f} = {SESSIONS} / ({calls:.2f} calls x "
            f"{latency_ms / 1000:g} s), calls counted by the agent's simulator; one worker, one agent",
        ),
        Measurement(
            f"{prefix}_created_vs_accounts",
            result["created"] / accounts,
            "x",
            1.0,
            note=f"{result['created']} SAP customers for {accounts} accounts, {result['duplicates']} duplicates "
            f"(exactly 1 and 0 are required); at most {result['peak_sessions']} SAP sessions at once",
        ),
        Measurement(
            f"{prefix}_duplicates",
            result["duplicates"],
            "count",
            0.0,
            note="SAP customers of one account beyond the first",
        ),
        Measurement(
            f"{prefix}_reconcile_rss_growth",
            enqueue["peak"] - enqueue["warm"],
            "MB",
            GROWTH_TARGET_MB,
            note=f"the reconcile alone: peak {enqueue['peak']:.0f} MB, after {WARM_SHARE:.0%} queued "
            f"{enqueue['warm']:.0f} MB",
        ),
        Measurement(
            f"{prefix}_worker_rss_growth",
            load["peak"] - load["warm"],
            "MB",
            GROWTH_TARGET_MB,
            note=f"peak {load['peak']:.0f} MB, after {WARM_SHARE:.0%} created {load['warm']:.0f} MB (SAP is in the "
            "agent's process, not the worker's)",
        ),
    ]
