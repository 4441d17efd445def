"""Run the benchmarks: `python -m bench [--only NAME ...]` (scripts/bench does this in the venv).

Prints one line per measurement (PASS/FAIL against its target, INFO when it has none), writes
.benchmarks/results.json and exits 1 when a target is missed or a benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from bench import cold_start, e2e_latency, memory, throughput
from bench.common import ROOT, Measurement

BENCHMARKS: dict[str, Callable[[], list[Measurement]]] = {
    "cold_start": cold_start.run,
    "validation_mapping": throughput.run,
    "e2e": e2e_latency.run,
    "memory": memory.run,
}
RESULTS_PATH = ROOT / ".benchmarks" / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    arguments = parser.parse_args(argv)
    chosen = arguments.only or list(BENCHMARKS)

    started = time.perf_counter()
    measurements: list[Measurement] = []
    broken: dict[str, str] = {}
    for name in chosen:
        print(f"==> {name}", flush=True)
        benchmark_started = time.perf_counter()
        try:
            results = BENCHMARKS[name]()
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
    _write_results(measurements, broken, duration_s)
    print(f"==> {len(measurements)} measurements in {duration_s:.0f} s; "
          f"{len(failed)} targets missed, {len(broken)} benchmarks broken; {RESULTS_PATH.relative_to(ROOT)}")
    for name in failed:
        print(f"missed: {name}")
    return 1 if failed or broken else 0


def _write_results(measurements: list[Measurement], broken: dict[str, str], duration_s: float) -> None:
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(duration_s, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measurements": [m.to_json() for m in measurements],
        "broken": broken,
    }
    RESULTS_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
