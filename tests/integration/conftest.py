"""Integration tests: real Azurite, fake Salesforce over HTTPS, the local host, the run command.
Fixtures for the run command and the S/4 double here; the others in tests/conftest.py; helpers in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from s4_simulator import S4Simulator
from tests.support.run_command import RunningCommand, isolated_run_environment
from tests.support.s4 import ScriptedS4Simulator


@pytest.fixture
def run_environment() -> dict[str, str]:
    return isolated_run_environment()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """--data-dir of the runs of one test: never the checkout's .local/."""
    return tmp_path / "local"


@pytest.fixture
def started_runs() -> Iterator[list[RunningCommand]]:
    runs: list[RunningCommand] = []
    yield runs
    for run in runs:  # a failed assertion must not leave a host (or an Azurite) behind
        run.stop()


@pytest.fixture
def s4() -> Iterator[S4Simulator]:
    """A fresh S/4 double of the test's own (in memory, over real HTTP in this process)."""
    with S4Simulator() as simulator:
        yield simulator


@pytest.fixture
def double() -> Iterator[ScriptedS4Simulator]:
    """A fresh scriptable S/4 double of the test's own (tests/support/s4.py), for the Business Partner gateway's
    tests; a module with another double defines its own `double`."""
    with ScriptedS4Simulator() as served:
        yield served
