"""Cold start: import and index function_app, against the same for a hello-world v2 app (bench/hello_app).

On Flex Consumption a new instance's Python worker imports function_app and indexes it (finds the
FunctionApp, lists its functions and their bindings) before it serves anything. Each run is a fresh
interpreter, like a fresh instance; the two apps alternate, so a busy moment of this shared machine
falls on both alike. The figure is the ratio of the medians.

Both sides pay for importing azure.functions. The real worker has imported it already when it indexes
the app (azure-functions-python-worker, azure_functions_worker/loader.py: `from azure.functions import
FunctionsApp`), so the product's own share is also reported with azure.functions imported first.

The start imports the settings and the triggers' decorators only; what a create needs (the use cases,
validation and its reference data, the storage SDKs and their HTTP client, the SAP adapter) is
imported by the first request. So that this cost is seen rather than gone, the first create after a
start is reported too (no target), in fresh processes against this run's Azurite: its time, that of
the creates after it, and start plus first request.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, SAMPLE_NAMES, Measurement

NAME = "cold_start"
RUNS = 7
QUICK_RUNS = 1
TARGET_RATIO = 1.5
HELLO_APP = Path(__file__).resolve().parent / "hello_app"

# Run with `python -c` so nothing but what the worker itself would have is imported before the clock.
_CHILD = """
import sys, time
PRELOAD
started = time.perf_counter()
import function_app
imported = time.perf_counter()
import azure.functions as func
apps = [value for value in vars(function_app).values() if isinstance(value, func.FunctionRegister)]
metadata = [function.get_function_json() for app in apps for function in app.get_functions()]
indexed = time.perf_counter()
import json
print(json.dumps({"import_ms": (imported - started) * 1000, "index_ms": (indexed - imported) * 1000,
                  "functions": len(metadata)}))
"""

# The first request after the cold start loads the reference data validation needs (countries,
# subdivisions, postal code rules, phone metadata): reported, in its own fresh process.
_FIRST_REQUEST = """
import json, time
from pathlib import Path
import function_app  # noqa: F401
from shared import bootstrap
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request

organization = bootstrap.settings().sap_organization
payloads = [json.loads(Path("samples", name + ".json").read_text("utf-8")) for name in NAMES]

def one(payload):
    begin = time.perf_counter()
    map_customer_request(parse_customer_request(payload), organization)
    return (time.perf_counter() - begin) * 1000

first = [one(payload) for payload in payloads]
steady = [min(one(payload) for _ in range(20)) for payload in payloads]
print(json.dumps({"first_ms": sum(first) - sum(steady)}))
"""


# The first creates after a start, each in a fresh process: the CreateSAPCustomer function called as
# the worker calls it, over this run's Azurite and the SAP simulator (the relay would add its agent's
# round trip, not a different first-use cost: its HTTP client is the one the storage SDKs import).
_FIRST_CREATE = """
import json, statistics, sys, time
payloads = json.loads(sys.stdin.read())
started = time.perf_counter()
import function_app  # noqa: F401
ready = time.perf_counter()
import azure.functions as func
from functions.customers import create_sap_customer

def create(payload):
    request = func.HttpRequest("POST", "http://localhost/api/customers", headers={"Content-Type": "application/json"},
                               body=json.dumps(payload).encode())
    begin = time.perf_counter()
    response = create_sap_customer(request)
    elapsed = (time.perf_counter() - begin) * 1000
    if response.status_code != 201:
        raise SystemExit(f"create answered {response.status_code}: {response.get_body()[:300]!r}")
    return elapsed

first = create(payloads[0])
after = [create(payload) for payload in payloads[1:]]
print(json.dumps({"start_ms": (ready - started) * 1000, "first_ms": first, "after_ms": statistics.median(after)}))
"""
FIRST_CREATE_RUNS = 3
FIRST_CREATE_FOLLOWING = 5  # creates after the first one, in the same process


def child_environment(sap_transport: str = "relay") -> dict[str, str]:
    """The app settings of a deployment; nothing is contacted at import. "relay" is what runs in Azure
    (the simulator refuses to run there): its transport is built at start, so its imports count."""
    from devtools.azurite import AzuriteEndpoints

    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SAP_", "SALESFORCE_", "RETRY_", "LEDGER_", "AzureWebJobs", "AGENT_"))
    }
    environment.update(
        {
            "SAP_TRANSPORT": sap_transport,
            "AzureWebJobsStorage": AzuriteEndpoints().connection_string,
            "RETRY_QUEUE_NAME": "sap-customer-retry",
            "FUNCTIONS_WORKER_RUNTIME": "python",
        }
    )
    if sap_transport == "relay":
        # A placeholder namespace and key: never contacted (the first SAP call would be).
        environment.update(
            {
                "SAP_RELAY_URL": "https://bench-cold-start.servicebus.windows.net/sap",
                "SAP_AGENT_PROOF_KEY": "cold-start-proof-key-" + "x" * 40,
            }
        )
    environment.pop("PYTHONPATH", None)
    return environment


def _child(app_dir: Path, preload: bool, sap_transport: str = "relay") -> dict[str, float]:
    code = _CHILD.replace("PRELOAD", "import azure.functions" if preload else "")
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=app_dir,
        env=child_environment(sap_transport),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    if completed.returncode != 0:
        raise RuntimeError(
            f"cold-start child ({app_dir.name}) failed ({completed.returncode}): {completed.stderr[-2000:]}"
        )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["total_ms"] = result["import_ms"] + result["index_ms"]
    result["wall_ms"] = wall_ms
    return result


def first_create(app_dir: Path = ROOT, runs: int = FIRST_CREATE_RUNS) -> dict[str, float]:
    """Medians over `runs` fresh processes (each with its own ledger table and retry queue, made
    beforehand as a deployment has them) of: the start, the first create, the creates after it."""
    from bench.common import load_samples
    from bench.harness import account_id, app_settings, azurite, remove_storage

    german = load_samples()[0]  # one shape throughout: what differs is first use, not the data
    results: list[dict[str, float]] = []
    for _ in range(runs):
        settings = app_settings(azurite().connection_string)
        environment = {**child_environment("simulator"), **settings}
        payloads = [
            {**german, "accountId": account_id("cs", number)}  # each run has a ledger of its own
            for number in range(1 + FIRST_CREATE_FOLLOWING)
        ]
        _provision(settings)
        try:
            completed = subprocess.run(
                [sys.executable, "-c", _FIRST_CREATE],
                cwd=app_dir,
                env=environment,
                input=json.dumps(payloads),
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        finally:
            remove_storage(settings["AzureWebJobsStorage"], settings["LEDGER_TABLE_NAME"], settings["RETRY_QUEUE_NAME"])
        if completed.returncode != 0:
            raise RuntimeError(f"first-create child failed ({completed.returncode}): {completed.stderr[-2000:]}")
        results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(result[key] for result in results) for key in results[0]}


def _provision(settings: dict[str, str]) -> None:
    """The ledger table and the retry queue, as a deployment has them before an instance starts."""
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    connection = settings["AzureWebJobsStorage"]
    TableServiceClient.from_connection_string(connection).create_table(settings["LEDGER_TABLE_NAME"])
    QueueServiceClient.from_connection_string(connection).create_queue(settings["RETRY_QUEUE_NAME"])


def run(quick: bool = False) -> list[Measurement]:
    runs = QUICK_RUNS if quick else RUNS
    for app_dir in (ROOT, HELLO_APP):
        _child(app_dir, preload=False)  # discarded: writes the .pyc files a deployed package already has
    ours: list[dict[str, float]] = []
    hello: list[dict[str, float]] = []
    ours_own: list[dict[str, float]] = []
    hello_own: list[dict[str, float]] = []
    ours_simulator: list[dict[str, float]] = []
    for _ in range(runs):  # alternating, so all see the same machine
        ours.append(_child(ROOT, preload=False))
        hello.append(_child(HELLO_APP, preload=False))
        ours_own.append(_child(ROOT, preload=True))
        hello_own.append(_child(HELLO_APP, preload=True))
        ours_simulator.append(_child(ROOT, preload=False, sap_transport="simulator"))

    def median(results: list[dict[str, float]], key: str = "total_ms") -> float:
        return statistics.median(result[key] for result in results)

    code = _FIRST_REQUEST.replace("NAMES", repr(list(SAMPLE_NAMES)))
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_environment("simulator"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"first-request child failed ({completed.returncode}): {completed.stderr[-2000:]}")
    first_ms = float(json.loads(completed.stdout.strip().splitlines()[-1])["first_ms"])

    first = first_create(runs=1 if quick else FIRST_CREATE_RUNS)

    functions = int(ours[0]["functions"])
    return [
        Measurement(
            "cold_start.import_and_index_vs_hello_world",
            median(ours) / median(hello),
            "x",
            TARGET_RATIO,
            note=f"SAP_TRANSPORT=relay, as deployed: function_app {median(ours):.0f} ms ({functions} "
            f"functions; import {median(ours, 'import_ms'):.0f} + index {median(ours, 'index_ms'):.1f}) "
            f"over hello world "
            f"{median(hello):.0f} ms; medians of {runs} fresh processes each",
        ),
        Measurement(
            "cold_start.simulator_transport_vs_hello_world",
            median(ours_simulator) / median(hello),
            "x",
            note=f"SAP_TRANSPORT=simulator (local only): {median(ours_simulator):.0f} ms; no relay "
            "transport, so no HTTP client at start",
        ),
        Measurement(
            "cold_start.process_vs_hello_world",
            median(ours, "wall_ms") / median(hello, "wall_ms"),
            "x",
            note=f"interpreter start + import + index, wall clock: {median(ours, 'wall_ms'):.0f} ms over "
            f"{median(hello, 'wall_ms'):.0f} ms",
        ),
        Measurement(
            "cold_start.own_share_after_azure_functions",
            median(ours_own) - median(hello_own),
            "ms",
            note=f"with azure.functions imported first, as the worker has it: {median(ours_own):.0f} ms "
            f"against hello world {median(hello_own):.1f} ms",
        ),
        Measurement(
            "cold_start.first_requests_reference_data",
            first_ms,
            "ms",
            note="first DE, US and JP requests minus warm ones: reference data loaded on first use",
        ),
        Measurement(
            "cold_start.first_create_after_start",
            first["first_ms"],
            "ms",
            note=f"the first create of a fresh process (simulator, Azurite): it imports what the start "
            f"left out; the {FIRST_CREATE_FOLLOWING} after it {first['after_ms']:.0f} ms each "
            f"(median)",
        ),
        Measurement(
            "cold_start.start_and_first_create",
            first["start_ms"] + first["first_ms"],
            "ms",
            note=f"import and index {first['start_ms']:.0f} ms + first create {first['first_ms']:.0f} ms; "
            f"medians of {1 if quick else FIRST_CREATE_RUNS} fresh processes",
        ),
    ]
