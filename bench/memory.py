"""Memory: peak RSS of the worker after 1,000 creates, and of the on-premise agent after 1,000 creates.

Each is a fresh child process, so nothing this runner loaded counts:
* the worker: `python -m devhost` serving function_app (ledger and retry queue in this run's Azurite,
  the SAP simulator behind the rfc adapter with a pool of 8), 1,000 creates over HTTP from 8 clients;
* the agent: `python -m agent` (the simulator, AGENT_CONCURRENCY=8) listening on a relay double in this
  process, 1,000 creates sent through the relay transport the function app uses, from 8 threads.
Peak RSS is the child's VmHWM (/proc/<pid>/status, Linux), read before it is stopped; the growth over
the last 900 creates (after the first 100 loaded every reference table and filled every pool) shows
whether anything accumulates per request.

Bounds: a Flex Consumption instance has 2,048 MB (the default; 4,096 is the other size) for the
Functions host and the worker, which serves many requests at once: 200 MB for the worker leaves the
host and a second worker process room. The agent runs on a small VM or container next to SAP beside
other services; 150 MB keeps it a minor tenant there. Growth: under 10 MB per 900 creates (a leak of
10 kB per request would show as 9 MB).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench.common import ROOT, Measurement
from bench.harness import Creator, app_settings, azurite, free_ports, remove_storage

NAME = "memory"
CREATES = 1000
QUICK_CREATES = 20
WARM_CREATES = 100
QUICK_WARM_CREATES = 5
CLIENTS = 8
WORKER_TARGET_MB = 200.0
AGENT_TARGET_MB = 150.0
GROWTH_TARGET_MB = 10.0
START_TIMEOUT_SECONDS = 60


def peak_rss_mb(pid: int) -> float:
    """VmHWM of another process; a platform without /proc cannot measure a child (RuntimeError)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        raise RuntimeError("memory: reading a child's peak RSS needs /proc (Linux)")
    for line in status.read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"memory: no VmHWM in {status}")


def _child_environment(values: dict[str, str]) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SAP_", "SALESFORCE_", "RETRY_", "LEDGER_", "AzureWebJobs", "AGENT_"))
    }
    environment.pop("PYTHONPATH", None)
    environment.update(values)
    return environment


@contextlib.contextmanager
def _child(arguments: list[str], environment: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=_child_environment(environment),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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


def _wait_until(check: Any, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"memory: the {what} exited ({process.returncode}) before it was ready")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"memory: the {what} was not ready within {START_TIMEOUT_SECONDS} s")


def worker(creates: int, warm: int) -> dict[str, float]:
    [port] = free_ports(1)
    settings = app_settings(
        azurite().connection_string, SAP_POOL_SIZE=str(CLIENTS), PYTHON_THREADPOOL_THREAD_COUNT=str(CLIENTS)
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        with _child(["-m", "devhost", "--port", str(port)], settings) as process:
            _wait_until(
                lambda: requests.get(f"{base_url}/api/health", timeout=5).status_code == 200, process, "local host"
            )
            after_start = peak_rss_mb(process.pid)
            client = Creator(base_url)
            client.concurrently("Mw", warm, CLIENTS)
            after_warm = peak_rss_mb(process.pid)
            client.concurrently("Mx", creates - warm, CLIENTS)
            peak = peak_rss_mb(process.pid)
            if client.unexpected:
                raise RuntimeError(f"memory (worker): answers other than 201: {client.describe_unexpected()}")
    finally:
        remove_storage(settings["AzureWebJobsStorage"], settings["LEDGER_TABLE_NAME"], settings["RETRY_QUEUE_NAME"])
    return {"start": after_start, "warm": after_warm, "peak": peak}


def agent(creates: int, warm: int) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    from bench.common import load_samples
    from bench.harness import account_id
    from devtools.relay_double import RelayDoubleThread
    from shared.core.mapping import map_customer_request
    from shared.core.validation import parse_customer_request
    from shared.sap.relay import RelaySapGateway
    from shared.settings import load_settings

    key_name, key, namespace = "RootManageSharedAccessKey", "bench-memory-key", "bench-memory.servicebus.windows.net"
    proof_key = "bench-memory-proof-" + "x" * 40
    url = f"https://{namespace}/sap"
    organization = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization
    samples = load_samples()

    def creation(series: str, number: int) -> Any:
        payload = dict(samples[number % len(samples)], accountId=account_id(series, number))
        return map_customer_request(parse_customer_request(payload), organization)

    with RelayDoubleThread({key_name: key}, namespace=namespace, response_timeout_seconds=30) as double:
        environment = {
            "AGENT_RELAY_URL": url,
            "AGENT_RELAY_KEY_NAME": key_name,
            "AGENT_RELAY_KEY": key,
            "AGENT_RELAY_BASE_URL": f"ws://{double.host}:{double.port}",
            "AGENT_PROOF_KEY": proof_key,
            "AGENT_CONCURRENCY": str(CLIENTS),
            "SAP_TRANSPORT": "simulator",
        }
        gateway = RelaySapGateway(url, key_name, key, proof_key=proof_key, base_url=double.base_url)
        with _child(["-m", "agent"], environment) as process:
            _wait_until(lambda: double.listener_count() > 0, process, "agent")
            after_start = peak_rss_mb(process.pid)
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                list(pool.map(lambda number: gateway.create_customer(creation("Aw", number)), range(warm)))
                after_warm = peak_rss_mb(process.pid)
                list(pool.map(lambda number: gateway.create_customer(creation("Ax", number)), range(creates - warm)))
            peak = peak_rss_mb(process.pid)
    return {"start": after_start, "warm": after_warm, "peak": peak}


def run(quick: bool = False) -> list[Measurement]:
    creates, warm = (QUICK_CREATES, QUICK_WARM_CREATES) if quick else (CREATES, WARM_CREATES)
    measurements: list[Measurement] = []
    for label, measure, target in (("worker", worker, WORKER_TARGET_MB), ("agent", agent, AGENT_TARGET_MB)):
        result = measure(creates, warm)
        measurements.append(
            Measurement(
                f"memory.{label}_peak_rss_after_{creates}_creates",
                result["peak"],
                "MB",
                target,
                note=f"after start {result['start']:.0f} MB, after {warm} creates {result['warm']:.0f} MB",
            )
        )
        measurements.append(
            Measurement(
                f"memory.{label}_growth_over_last_{creates - warm}_creates",
                result["peak"] - result["warm"],
                "MB",
                GROWTH_TARGET_MB,
                note="nothing may accumulate per request",
            )
        )
    return measurements
