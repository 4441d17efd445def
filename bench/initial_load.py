"""Initial load (issue 27, item 1): `python -m admin reconcile --apply` over Customer accounts without an
SAP number in the fake Salesforce, then their drain by the queue trigger into the SAP simulator.

What runs, each in a process of its own (as an operator's terminal and a Functions instance are):
* the fake Salesforce (devtools/fake_salesforce.py, this process, HTTPS) holds the accounts and pages
  the query 2,000 records at a time with `nextRecordsUrl`, as Salesforce's REST API does ("Query
  Options Header", REST API Developer Guide: "The default is 2,000; the minimum is 200, and the
  maximum is 2,000"; "Change the Batch Size in Queries", SOQL and SOSL Reference);
* `python -m admin reconcile --apply --no-progress` reads every page and, on its own 8 threads
  (shared.usecases.reconcile.WORKERS), claims each account QUEUED and queues its create;
* `python -m devhost` (the local Functions host) then drains the queue through
  RetryCreateSAPCustomer into the simulator (SAP_SIMULATOR_FAULTS latency_ms=200 per connect and
  call, SAP_POOL_SIZE=8 sessions), its customers in a SQLite state file (sap_simulator/store.py) that
  this process reads to count them.

Figures, each against a limit of the same run:
* enqueue rate (accounts / the reconcile's wall time, its start and every query page included) over
  the raw queue put rate: the same number of messages of the same size sent by the product's queue
  client on as many threads as the reconcile uses, before and after the reconcile (≥ 0.5: a
  reconcile makes a table insert and a queue put per account);
* creates/s over N / (calls per create x latency), N = 8 (≥ 0.9). Calls per create: 2 (the create and
  its commit), what sap_throughput counts for a create; the simulator runs in the worker's process
  here, where its call counter cannot be read, and a create that made more calls would lower the
  limit, so 2 is the stricter bound;
* peak RSS (VmHWM) of the reconcile and of the worker, growth after the first 10% of the accounts
  (queued, resp. created) to the end (≤ 10 MB);
* customers created over accounts (exactly 1: each account's name is its own, so a name seen twice in
  SAP is a duplicate).

`--only initial_load` runs 100,000 accounts (the full figure: about 1.5 hours at the SAP bound of 20
creates/s), the default run 10,000 (about 10 minutes), `--quick` 100 at 20 ms per call (about 15 s,
most of it the two processes starting).
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.common import Measurement
from bench.harness import app_settings, azurite, free_ports, quiet_logs, remove_storage, unique
from bench.memory import _child, _wait_until, peak_rss_mb

NAME = "initial_load"
FULL_ACCOUNTS = 100_000
ACCOUNTS = 10_000
QUICK_ACCOUNTS = 100
LATENCY_MS = 200
QUICK_LATENCY_MS = 20
SESSIONS = 8
CALLS_PER_CREATE = 2
RECONCILE_THREADS = 8  # shared.usecases.reconcile.WORKERS
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
    try:
        with ThreadPoolExecutor(max_workers=RECONCILE_THREADS) as pool:
            started = time.perf_counter()
            list(pool.map(lambda _: client.send_message(body), range(count)))
            return count / (time.perf_counter() - started)
    finally:
        remove_storage(settings["AzureWebJobsStorage"], None, name)


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
            rss = peak_rss_mb(process.pid)
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


def _sap_customers(state_file: Path) -> int:
    """Customers in the simulator's database, the IDES reference customers included."""
    if not state_file.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{state_file}?mode=ro", uri=True, timeout=10)) as database:
        try:
            return database.execute("SELECT count(*) FROM customers").fetchone()[0]
        except sqlite3.OperationalError:  # the worker has not made its schema yet
            return 0


def _reconcile(settings: dict[str, str], salesforce: Any, accounts: int) -> dict[str, float]:
    environment = dict(
        settings,
        SALESFORCE_AUTH="client_credentials",
        SALESFORCE_LOGIN_URL=salesforce.base_url,
        SALESFORCE_CLIENT_ID=salesforce.credentials.client_id,
        SALESFORCE_CLIENT_SECRET=salesforce.credentials.client_secret,
        SALESFORCE_CA_BUNDLE=salesforce.ca_path,
    )
    started = time.perf_counter()
    with _child(["-m", "admin", "reconcile", "--apply", "--no-progress", "--show", "0"], environment) as process:
        _, warm, peak = _follow(process, lambda: _queued(settings), accounts, "the reconcile")
        code = process.wait(timeout=TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"initial_load: the reconcile exited {code}")
    return {"seconds": seconds, "warm": warm, "peak": peak}


def _drain(settings: dict[str, str], state_file: Path, accounts: int) -> dict[str, float]:
    from sap_simulator.records import ides_reference_customers

    reference = len(ides_reference_customers())
    [port] = free_ports(1)
    base_url = f"http://127.0.0.1:{port}"
    with _child(["-m", "devhost", "--port", str(port)], settings) as process:
        _wait_until(lambda: requests.get(f"{base_url}/api/health", timeout=5).status_code == 200, process, "worker")
        seconds, warm, peak = _follow(
            process, lambda: max(_sap_customers(state_file) - reference, 0), accounts, "the drain"
        )
        if process.poll() is not None:
            raise RuntimeError(f"initial_load: the worker exited ({process.returncode}) during the drain")
        deadline = time.monotonic() + 30
        while _queued(settings) and time.monotonic() < deadline:  # deletes of the last messages
            time.sleep(POLL_SECONDS)
        time.sleep(1.0)  # a create still running would show as a duplicate below
    return {"seconds": seconds, "warm": warm, "peak": peak}


def measure(accounts: int, latency_ms: int) -> dict[str, Any]:
    from devtools.fake_salesforce import FakeSalesforce
    from sap_simulator.store import created_customers_in

    quiet_logs()
    with tempfile.TemporaryDirectory(prefix="bench-initial-load-") as directory:
        state_file = Path(directory) / "sap.sqlite"
        settings = app_settings(
            azurite().connection_string,
            SAP_POOL_SIZE=str(SESSIONS),
            SAP_SIMULATOR_FAULTS=f"latency_ms={latency_ms}",
            SAP_SIMULATOR_STATE_FILE=str(state_file),
            PYTHON_THREADPOOL_THREAD_COUNT="24",  # host.json's batchSize 16 + newBatchThreshold 8 in flight
        )
        try:
            with FakeSalesforce() as salesforce:  # 2,000 records per query page, as Salesforce's default
                for number in range(accounts):
                    salesforce.add_account(f"001Il{number:010d}", **customer(number))
                pages_before = salesforce.query_requests
                reconcile = _reconcile(settings, salesforce, accounts)
                pages = salesforce.query_requests - pages_before
            queue = _queue_client(settings, settings["RETRY_QUEUE_NAME"])
            body = next(iter(queue.peek_messages(max_messages=1))).content
            # The limit right after the reconcile and again after the drain (the machine is shared).
            raw_first = _raw_put_rate(settings, body, accounts)
            drain = _drain(settings, state_file, accounts)
            raw_second = _raw_put_rate(settings, body, accounts)
            created = created_customers_in(state_file)
        finally:
            remove_storage(settings["AzureWebJobsStorage"], settings["LEDGER_TABLE_NAME"], settings["RETRY_QUEUE_NAME"])
    names = [record.address.get("NAME", "") for record in created]
    return {
        "accounts": accounts,
        "pages": pages,
        "reconcile": reconcile,
        "drain": drain,
        "raw_put": 2 / (1 / raw_first + 1 / raw_second),
        "raw_passes": (raw_first, raw_second),
        "body_bytes": len(body),
        "created": len(created),
        "duplicates": len(names) - len(set(names)),
    }


def run(quick: bool = False, full: bool = False) -> list[Measurement]:
    accounts = QUICK_ACCOUNTS if quick else FULL_ACCOUNTS if full else ACCOUNTS
    latency_ms = QUICK_LATENCY_MS if quick else LATENCY_MS
    result = measure(accounts, latency_ms)
    reconcile, drain = result["reconcile"], result["drain"]
    enqueue_rate = accounts / reconcile["seconds"]
    create_rate = accounts / drain["seconds"]
    limit = SESSIONS / (CALLS_PER_CREATE * latency_ms / 1000)
    first, second = result["raw_passes"]
    prefix = f"{NAME}.{accounts}"
    return [
        Measurement(
            f"{prefix}_enqueue_vs_raw_put",
            enqueue_rate / result["raw_put"],
            "x",
            ENQUEUE_TARGET_SHARE,
            at_least=True,
            note=f"{enqueue_rate:.0f} accounts/s queued by `admin reconcile --apply` ({reconcile['seconds']:.1f} s, "
            f"{result['pages']} query pages) over {result['raw_put']:.0f} puts/s of {result['body_bytes']}-byte "
            f"messages on {RECONCILE_THREADS} threads (passes {first:.0f}, {second:.0f})",
        ),
        Measurement(
            f"{prefix}_drain_vs_sap_limit",
            create_rate / limit,
            "x",
            DRAIN_TARGET_SHARE,
            at_least=True,
            note=f"{create_rate:.2f} creates/s over {limit:.1f} = {SESSIONS} / ({CALLS_PER_CREATE} calls x "
            f"{latency_ms / 1000:g} s); {drain['seconds']:.1f} s, one worker process",
        ),
        Measurement(
            f"{prefix}_created_vs_accounts",
            result["created"] / accounts,
            "x",
            1.0,
            note=f"{result['created']} SAP customers for {accounts} accounts, {result['duplicates']} duplicates "
            "(exactly 1 and 0 are required)",
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
            reconcile["peak"] - reconcile["warm"],
            "MB",
            GROWTH_TARGET_MB,
            note=f"peak {reconcile['peak']:.0f} MB, after {WARM_SHARE:.0%} queued {reconcile['warm']:.0f} MB",
        ),
        Measurement(
            f"{prefix}_worker_rss_growth",
            drain["peak"] - drain["warm"],
            "MB",
            GROWTH_TARGET_MB,
            note=f"peak {drain['peak']:.0f} MB, after {WARM_SHARE:.0%} created {drain['warm']:.0f} MB",
        ),
    ]
