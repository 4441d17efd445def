"""Run the benchmarks: `python -m bench [--quick] [--only NAME ...]` (scripts/bench does this in the venv).

Prints one line per measurement (PASS/FAIL against its target, INFO when it has none), writes
.benchmarks/results.json (or --results PATH) and exits 1 when a target is missed, 2 when a benchmark
could not run. `--quick` runs each with a few samples only: a smoke test of the bench code (the test
suite runs it), whose verdicts mean nothing, so it exits 0 unless a benchmark broke.

A benchmark is a module bench/<name>.py with `run(quick: bool) -> list[Measurement]`; adding one is
adding its name to BENCHMARKS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import ROOT, Measurement

BENCHMARKS = (
    "overhead",
    "sap_throughput",
    "s4_throughput",
    "relay",
    "cold_start",
    "retry_drain",
    "memory",
    "push_latency",
    "initial_load",
    "scale_out",
)
# Run at full size only when named in --only (the default run takes their quick variant).
FULL_WHEN_NAMED = ("initial_load",)
RESULTS_PATH = ROOT / ".benchmarks" / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="a few samples each: checks the bench code runs")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_PATH,
        help=f"where to write the JSON results (default: {RESULTS_PATH.relative_to(ROOT)})",
    )
    arguments = parser.parse_args(argv)
    chosen = arguments.only or list(BENCHMARKS)
    full = {name for name in arguments.only or () if name in FULL_WHEN_NAMED}
    try:
        return _run(chosen, arguments.quick, arguments.results, full)
    finally:
        from bench.harness import stop_azurite

        stop_azurite()


def _run(chosen: list[str], quick: bool, results_path: Path, full: set[str] | None = None) -> int:
    print(f"==> {_machine_line()}", flush=True)
    if quick:
        print("==> quick mode: a few samples each, to check the bench code runs; the verdicts mean nothing")
    started = time.perf_counter()
    measurements: list[Measurement] = []
    broken: dict[str, str] = {}
    for name in chosen:
        print(f"==> {name}", flush=True)
        benchmark_started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            results = module.run(quick=quick, full=True) if name in (full or ()) else module.run(quick=quick)
        except Exception as error:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            broken[name] = f"{type(error).__name__}: {error}"
            print(f"ERROR {name}: {broken[name]}", flush=True)
            continue
        for measurement in results:
            print(measurement.line(), flush=True)
        print(f"      ({time.perf_counter() - benchmark_started:.1f} s)", flush=True)
        measurements.extend(results)

    duration_s = time.perf_counter() - started
    failed = [m.name for m in measurements if m.passed is False]
    _write_results(results_path, measurements, broken, duration_s, quick)
    print(
        f"==> {len(measurements)} measurements in {duration_s:.0f} s; "
        f"{len(failed)} targets missed, {len(broken)} benchmarks broken; {results_path}"
    )
    for name in failed:
        print(f"missed: {name}")
    if broken:
        return 2
    return 1 if failed and not quick else 0


def _machine_line() -> str:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}; "
        f"load average {load} (figures are ratios taken within this run)"
    )


def _write_results(
    path: Path, measurements: list[Measurement], broken: dict[str, str], duration_s: float, quick: bool
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "quick": quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(duration_s, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "measurements": [m.to_json() for m in measurements],
        "broken": broken,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
