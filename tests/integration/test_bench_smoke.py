"""The benchmarks keep running: every registered one in quick mode (a few samples each) against a real
Azurite, the local host, the relay double and child processes. No timing is asserted (speed targets
belong to scripts/bench); only that each benchmark runs and reports finite figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

pytestmark = pytest.mark.azurite

ROOT = Path(__file__).resolve().parents[2]


def test_every_registered_benchmark_runs_in_quick_mode_and_reports_finite_figures(tmp_path):
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # every quick benchmark starts its own workers; on a loaded CI machine a minute or more
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    document = json.loads(results.read_text(encoding="utf-8"))
    assert document["broken"] == {}
    assert document["quick"] is True
    reported = {measurement["name"].split(".")[0] for measurement in document["measurements"]}
    assert reported == set(BENCHMARKS)
    assert all(math.isfinite(measurement["value"]) for measurement in document["measurements"])
    assert all(
        measurement["passed"] is not None
        for measurement in document["measurements"]
        if measurement["target"] is not None
    )
