"""Cold start: how long a fresh worker takes to import function_app, and what the first request adds.

On Flex Consumption a new instance imports function_app before it serves anything, and the first
request after that pays for the reference data (countries, subdivisions, address rules, phone
metadata) that validation loads lazily. Each run is a fresh interpreter, like a fresh instance.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, SAMPLE_NAMES, Measurement

RUNS = 5
IMPORT_TARGET_MS = 400.0
STEADY_REPEATS = 20

# Run with `python -c` so nothing but `time` is imported before function_app is timed.
_CHILD = """
import time
started = time.perf_counter()
import function_app  # noqa: F401
imported = time.perf_counter()
import json
from pathlib import Path
from shared import bootstrap
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request

organisation = bootstrap.settings().sap_organisation
payloads = [json.loads(Path("samples", name + ".json").read_text("utf-8")) for name in NAMES]

def one(payload):
    begin = time.perf_counter()
    map_customer_request(parse_customer_request(payload), organisation)
    return (time.perf_counter() - begin) * 1000

first = [one(payload) for payload in payloads]
steady = [min(one(payload) for _ in range(REPEATS)) for payload in payloads]
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": first, "steady_ms": steady}))
"""


def child_environment() -> dict[str, str]:
    """The app settings of a plain simulator deployment; storage is named but not contacted at import."""
    from devtools.azurite import AzuriteEndpoints

    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("SAP_", "SALESFORCE_", "RETRY_", "LEDGER_"))}
    environment.update({"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": AzuriteEndpoints().connection_string,
                        "RETRY_QUEUE_NAME": "sap-customer-retry", "FUNCTIONS_WORKER_RUNTIME": "python"})
    return environment


def _run_child(extra_flags: list[str] | None = None) -> tuple[dict[str, object], float, str]:
    code = _CHILD.replace("NAMES", repr(list(SAMPLE_NAMES))).replace("REPEATS", str(STEADY_REPEATS))
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, *(extra_flags or []), "-c", code], cwd=ROOT, env=child_environment(),
                               capture_output=True, text=True, timeout=120, check=False)
    wall_ms = (time.perf_counter() - started) * 1000
    if completed.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1]), wall_ms, completed.stderr


def heaviest_imports(importtime_output: str, count: int = 5) -> list[tuple[str, float]]:
    """function_app's direct imports with the largest cumulative time, from `python -X importtime`."""
    rows: list[tuple[int, str, float]] = []
    for line in importtime_output.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header line
        name_field = parts[2].rstrip()
        rows.append((len(name_field) - len(name_field.lstrip()), name_field.strip(), int(parts[1]) / 1000))
    app_index = next((i for i, row in enumerate(rows) if row[1] == "function_app"), None)
    if app_index is None:
        return []
    app_indent = rows[app_index][0]
    # Children are printed before their parent; walk back until the previous sibling of function_app.
    children: list[tuple[str, float]] = []
    for indent, name, cumulative_ms in reversed(rows[:app_index]):
        if indent <= app_indent:
            break
        if indent == app_indent + 2:
            children.append((name, cumulative_ms))
    return sorted(children, key=lambda child: child[1], reverse=True)[:count]


def run() -> list[Measurement]:
    _run_child()  # discarded: writes the .pyc files a deployed package already has
    runs = [_run_child() for _ in range(RUNS)]
    import_ms = statistics.median(float(result["import_ms"]) for result, _, _ in runs)  # type: ignore[arg-type]
    process_ms = statistics.median(wall_ms for _, wall_ms, _ in runs)
    first_ms = [result["first_ms"] for result, _, _ in runs]
    steady_ms = [result["steady_ms"] for result, _, _ in runs]
    first_extra = statistics.median(float(first[0]) - float(steady[0])  # type: ignore[index]
                                    for first, steady in zip(first_ms, steady_ms, strict=True))
    all_countries_extra = statistics.median(sum(first) - sum(steady)  # type: ignore[arg-type]
                                            for first, steady in zip(first_ms, steady_ms, strict=True))

    _, _, importtime = _run_child(["-X", "importtime"])
    heaviest = ", ".join(f"{name} {ms:.0f} ms" for name, ms in heaviest_imports(importtime, 3))
    return [
        Measurement("cold_start.import_function_app", import_ms, "ms", IMPORT_TARGET_MS,
                    note=f"median of {RUNS} fresh processes; heaviest: {heaviest}"),
        Measurement("cold_start.process_start_and_import", process_ms, "ms",
                    note="interpreter start + import + first requests, wall clock"),
        Measurement("cold_start.first_request_extra", first_extra, "ms",
                    note="first parse+map (German sample) minus a warm one: reference data loading"),
        Measurement("cold_start.first_requests_3_countries_extra", all_countries_extra, "ms",
                    note="same for the first DE, US and JP requests together"),
    ]
