"""What every benchmark shares: a measurement with its target, percentiles, sample payloads, quiet logs.

Standard library only: the cold-start and memory benchmarks run children that must not carry this
module's imports into what they measure.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_NAMES = ("german-account", "us-account", "japanese-account")


@dataclass(frozen=True)
class Measurement:
    """One measured figure; with a target it is checked (PASS/FAIL), without one it is only reported.

    Checked figures are ratios against a limit measured in the same run (unit "x", or "%" of a limit),
    so that a shared, busy machine slows both sides alike; `at_least` says the target is a floor
    (throughput) rather than a ceiling (overhead); the note says what the ratio is taken against.
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    at_least: bool = False
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def line(self) -> str:
        verdict = {None: "INFO", True: "PASS", False: "FAIL"}[self.passed]
        target = ""
        if self.target is not None:
            target = f"target {'>=' if self.at_least else '<='} {_number(self.target)} {self.unit}"
        note = f"  ({self.note})" if self.note else ""
        return f"{verdict:4}  {self.name:44} {_number(self.value):>9} {self.unit:5} {target:21}{note}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "target": self.target,
            "comparison": None if self.target is None else (">=" if self.at_least else "<="),
            "passed": self.passed,
            "note": self.note,
        }


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 300 values is the 285th smallest): never interpolated."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def load_samples() -> list[dict[str, Any]]:
    """The example payloads of samples/: a German, a US and a Japanese account (three reference-data paths)."""
    return [json.loads((ROOT / "samples" / f"{name}.json").read_text(encoding="utf-8")) for name in SAMPLE_NAMES]


def account_id15(series: str, number: int) -> str:
    """A 15-character Account Id ("001" key prefix), distinct per series (two letters) and number."""
    if len(series) != 2 or not series.isalnum():
        raise ValueError("series: two letters or digits")
    return f"001{series}{number:010d}"


def silence_log_output() -> None:
    """Send the root handlers' output to /dev/null: records are still built, filtered and formatted
    (a real cost of every request), but the terminal shows only the benchmark lines."""
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB.

    Linux keeps ru_maxrss across fork and exec, so a child started by a large parent (this runner)
    reports the parent's peak; VmHWM belongs to the new address space only. ru_maxrss is the fallback
    where /proc is missing (macOS reports it in bytes).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource
    import sys

    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def spread(values: Sequence[float]) -> str:
    """p50 / p99 / max of a series in ms, for a note."""
    return f"p50 {percentile(values, 0.5):.1f}, p99 {percentile(values, 0.99):.1f}, max {max(values):.1f} ms"
