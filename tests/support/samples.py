"""The example payloads in samples/ (the README's and the tests')."""

from __future__ import annotations

import json
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample(name: str) -> dict:
    """samples/<name>.json, parsed."""
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def sample_names() -> list[str]:
    """Every file in samples/, by name without .json."""
    return sorted(path.stem for path in SAMPLES.glob("*.json"))
