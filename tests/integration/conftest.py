"""Integration tests: real Azurite, fake Salesforce over HTTPS, the local host, the run command.
Fixtures for the run command here; the others in tests/conftest.py; helpers in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.run_command import RunningCommand, isolated_run_environment


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
