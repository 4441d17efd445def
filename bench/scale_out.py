"""Scale-out (issue 27, item 2): 4 worker processes, as 4 Functions instances of one app would run, on
one ledger table and one retry queue, creating customers at 200 ms per SAP call.

* Relay: the 4 workers (`python -m devhost`, SAP_TRANSPORT=relay) reach SAP through the relay double
  and one on-premise agent with AGENT_CONCURRENCY=8 and 8 pooled RFC connections (as agent/__main__.py
  builds it; the agent runs in this process, as in bench/relay.py, so its simulator's sessions can be
  counted). Checked: creates/s over the SAP bound 8 / (calls per create x 0.2 s) (≥ 0.9); the most
  SAP sessions ever open at once over the agent's cap (≤ 1: the cap is what protects SAP however many
  instances scale out); SAP customers over creates (exactly 1: none twice).
* rfc: the 4 workers with SAP_TRANSPORT=simulator (the rfc adapter) and SAP_POOL_SIZE=2 each, on one
  simulated SAP database (SAP_SIMULATOR_STATE_FILE, shared by processes as one SAP's database is,
  sap_simulator/store.py). Each worker's simulator keeps its sessions in its own process, where this
  process cannot count them, so what SAP sees is shown by Little's law: sessions busy on average =
  creates/s x calls per create x latency, over instances x pool (reported: every instance brings its
  own pool, so SAP sees 4 x 2 sessions; nothing caps them across instances on this transport), and
  creates/s over that bound (≥ 0.9). Calls per create: 2 (create, commit), as counted in the relay
  variant's simulator for the same creates.

Clients: 8 per worker (twice its share of the sessions), creates over keep-alive HTTP, round robin.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.agent_rig import agent_rig
from bench.common import Measurement, load_samples
from bench.harness import Creator, account_id, app_settings, azurite, free_ports, quiet_logs, remove_storage
from bench.memory import _child, _wait_until

NAME = "scale_out"
INSTANCES = 4
QUICK_INSTANCES = 2
AGENT_CONCURRENCY = 8
POOL_PER_INSTANCE = 2
CLIENTS_PER_INSTANCE = 8
LATENCY_MS = 200
QUICK_LATENCY_MS = 20
SECONDS = 6.0
QUICK_SECONDS = 0.5
TARGET_SHARE = 0.9


def _load(base_urls: list[str], series: str, creates: int) -> tuple[float, list[Creator]]:
    """`creates` creates spread round robin over the workers, CLIENTS_PER_INSTANCE threads each."""
    creators = [Creator(url) for url in base_urls]
    clients = CLIENTS_PER_INSTANCE * len(creators)
    sample = load_samples()[0]

    def create(number: int) -> int:
        # A name of its own per account: SAP (ECC) keeps no account Id, so a name seen twice is a duplicate.
        body = dict(sample, accountId=account_id(series, number), name=f"Scale Kunde {series}{number} GmbH")
        status, _, _ = creators[number % len(creators)].exchange("/api/customers", json.dumps(body).encode())
        return status

    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="bench-scale") as pool:
        started = time.perf_counter()
        statuses = list(pool.map(create, range(creates)))
        wall = time.perf_counter() - started
    unexpected = Counter(status for status in statuses if status != 201)
    if unexpected:
        raise RuntimeError(f"scale_out: answers other than 201: {dict(unexpected)}")
    return wall, creators


def _run_workers(settings: dict[str, str], instances: int, body: Any) -> Any:
    """Run `body(base_urls)` with `instances` `python -m devhost` children on these settings (started
    at once, then each waited for)."""
    from contextlib import ExitStack

    ports = free_ports(instances)
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    with ExitStack() as stack:
        processes = [stack.enter_context(_child(["-m", "devhost", "--port", str(port)], settings)) for port in ports]
        for process, url in zip(processes, urls, strict=True):
            _wait_until(
                lambda url=url: requests.get(f"{url}/api/health", timeout=5).status_code == 200, process, "worker"
            )
        return body(urls)


def relay(latency_ms: int, seconds: float, instances: int) -> dict[str, float]:
    with agent_rig(latency_ms, AGENT_CONCURRENCY) as rig:
        settings = app_settings(
            azurite().connection_string, PYTHON_THREADPOOL_THREAD_COUNT=str(CLIENTS_PER_INSTANCE + 4), **rig.settings
        )
        settings.pop("SAP_SIMULATOR_FAULTS")
        system = rig.system

        def body(urls: list[str]) -> dict[str, float]:
            _load(urls, "Sw", 2 * AGENT_CONCURRENCY)  # every worker's first requests, the agent's pool full
            calls_before, customers_before = rig.calls, system.customer_count
            creates = _creates(AGENT_CONCURRENCY, latency_ms, seconds, instances)
            wall, _ = _load(urls, "Sx", creates)
            created = system.customer_count - customers_before
            calls = rig.calls - calls_before
            names = [record.address.get("NAME", "") for record in system.created_customers()]
            return {
                "rate": creates / wall,
                "creates": creates,
                "created": created,
                "calls_per_create": calls / creates,
                "duplicates": len(names) - len(set(names)),
            }

        try:
            result = _run_workers(settings, instances, body)
        finally:
            remove_storage(settings["AzureWebJobsStorage"], settings["LEDGER_TABLE_NAME"], settings["RETRY_QUEUE_NAME"])
        result["peak_sessions"] = rig.sessions.peak
    result["limit"] = AGENT_CONCURRENCY / (result["calls_per_create"] * latency_ms / 1000)
    return result


def rfc(latency_ms: int, seconds: float, calls_per_create: float, instances: int) -> dict[str, float]:
    from sap_simulator.store import created_customers_in

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory:
        state_file = Path(directory) / "sap.sqlite"
        settings = app_settings(
            azurite().connection_string,
            SAP_POOL_SIZE=str(POOL_PER_INSTANCE),
            SAP_SIMULATOR_FAULTS=f"latency_ms={latency_ms}",
            SAP_SIMULATOR_STATE_FILE=str(state_file),
            PYTHON_THREADPOOL_THREAD_COUNT=str(CLIENTS_PER_INSTANCE + 4),
        )
        sessions = instances * POOL_PER_INSTANCE

        def body(urls: list[str]) -> dict[str, float]:
            _load(urls, "Rw", 2 * sessions)
            before = len(created_customers_in(state_file))
            creates = _creates(sessions, latency_ms, seconds, instances)
            wall, _ = _load(urls, "Rx", creates)
            records = created_customers_in(state_file)
            names = [record.address.get("NAME", "") for record in records]
            return {
                "rate": creates / wall,
                "creates": creates,
                "created": len(records) - before,
                "duplicates": len(names) - len(set(names)),
            }

        try:
            result = _run_workers(settings, instances, body)
        finally:
            remove_storage(settings["AzureWebJobsStorage"], settings["LEDGER_TABLE_NAME"], settings["RETRY_QUEUE_NAME"])
    result["limit"] = sessions / (calls_per_create * latency_ms / 1000)
    result["busy_sessions"] = result["rate"] * calls_per_create * latency_ms / 1000
    return result


def _creates(sessions: int, latency_ms: int, seconds: float, instances: int) -> int:
    guess = sessions / (2 * latency_ms / 1000)
    return max(2 * instances * CLIENTS_PER_INSTANCE, round(guess * seconds / instances) * instances)


def run(quick: bool = False) -> list[Measurement]:
    quiet_logs()
    latency_ms, seconds = (QUICK_LATENCY_MS, QUICK_SECONDS) if quick else (LATENCY_MS, SECONDS)
    # Quick: 2 workers per variant, the smoke test's seconds being mostly worker starts.
    instances = QUICK_INSTANCES if quick else INSTANCES
    via_relay = relay(latency_ms, seconds, instances)
    via_rfc = rfc(latency_ms, seconds, via_relay["calls_per_create"], instances)
    sessions = instances * POOL_PER_INSTANCE
    return [
        Measurement(
            f"{NAME}.relay_{instances}_workers_vs_limit",
            via_relay["rate"] / via_relay["limit"],
            "x",
            TARGET_SHARE,
            at_least=True,
            note=f"{via_relay['rate']:.2f} creates/s over {via_relay['limit']:.1f} = {AGENT_CONCURRENCY} / "
            f"({via_relay['calls_per_create']:.2f} calls x {latency_ms / 1000:g} s); {via_relay['creates']} creates "
            f"from {instances * CLIENTS_PER_INSTANCE} clients over {instances} workers, one agent",
        ),
        Measurement(
            f"{NAME}.relay_peak_sessions_vs_agent_cap",
            via_relay["peak_sessions"] / AGENT_CONCURRENCY,
            "x",
            1.0,
            note=f"at most {via_relay['peak_sessions']} SAP sessions open at once, cap AGENT_CONCURRENCY="
            f"{AGENT_CONCURRENCY}",
        ),
        Measurement(
            f"{NAME}.relay_created_vs_creates",
            via_relay["created"] / via_relay["creates"],
            "x",
            1.0,
            note=f"{via_relay['created']} SAP customers for {via_relay['creates']} creates, "
            f"{via_relay['duplicates']} duplicate names",
        ),
        Measurement(
            f"{NAME}.relay_duplicates",
            via_relay["duplicates"],
            "count",
            0.0,
            note="SAP customers of one account beyond the first",
        ),
        Measurement(
            f"{NAME}.rfc_{instances}x{POOL_PER_INSTANCE}_vs_limit",
            via_rfc["rate"] / via_rfc["limit"],
            "x",
            TARGET_SHARE,
            at_least=True,
            note=f"{via_rfc['rate']:.2f} creates/s over {via_rfc['limit']:.1f} = {instances} instances x "
            f"{POOL_PER_INSTANCE} pooled sessions / ({via_relay['calls_per_create']:.2f} calls x "
            f"{latency_ms / 1000:g} s); {via_rfc['creates']} creates",
        ),
        Measurement(
            f"{NAME}.rfc_busy_sessions_vs_instances_x_pool",
            via_rfc["busy_sessions"] / sessions,
            "x",
            note=f"SAP sessions busy on average (Little's law: creates/s x calls x latency) "
            f"{via_rfc['busy_sessions']:.1f} of {instances} x {POOL_PER_INSTANCE} = {sessions}: each instance "
            "brings its own pool, nothing caps them across instances on the rfc transport",
        ),
        Measurement(
            f"{NAME}.rfc_created_vs_creates",
            via_rfc["created"] / via_rfc["creates"],
            "x",
            1.0,
            note=f"{via_rfc['created']} SAP customers for {via_rfc['creates']} creates, {via_rfc['duplicates']} "
            "duplicate names",
        ),
        Measurement(
            f"{NAME}.rfc_duplicates",
            via_rfc["duplicates"],
            "count",
            0.0,
            note="SAP customers of one account beyond the first",
        ),
    ]
