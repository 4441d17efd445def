"""The go-live check rehearsed against a local run (issue 24's `python -m admin preflight`, docs/operations.md): the
two `export` lines `scripts/run --salesforce fake` prints (the operations commands' settings, then this run's SAP
settings) and the printed command, pasted as printed into another process, pass every check that a run on local
doubles can pass: exit code 0, no check failed. The fake org's outbound message points at the run's functions."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from devtools.run import READY_LINE
from devtools.run.environment import PROJECT_ROOT
from tests.support.network import free_port
from tests.support.run_command import RunningCommand

# The product's own settings: the command must get them from the printed lines only, never from this machine.
_PRODUCT_PREFIXES = ("SAP_", "AGENT_", "SALESFORCE_", "AzureWebJobs", "RETRY_", "LEDGER_", "APPLICATIONINSIGHTS_")


@pytest.mark.e2e
def test_the_printed_lines_make_preflight_pass_against_a_run_with_the_fake_salesforce(
    run_environment, data_dir, started_runs
):
    port = free_port()
    run = RunningCommand.start(
        "--salesforce", "fake", "--port", str(port), "--data-dir", str(data_dir), environment=run_environment
    )
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    exports = [line.strip() for line in run.lines if line.strip().startswith("export ")]
    command = next(line.strip() for line in run.lines if "-m admin preflight" in line)
    assert len(exports) == 2 and "SAP_TRANSPORT=simulator" in exports[1], run.output()
    assert command == f".venv/bin/python -m admin preflight --app-url http://localhost:{port}"

    environment = {name: value for name, value in os.environ.items() if not name.startswith(_PRODUCT_PREFIXES)}
    for line in exports:
        environment.update(item.split("=", 1) for item in shlex.split(line.removeprefix("export ")))
    done = subprocess.run(
        [sys.executable, *shlex.split(command)[1:], "--json"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    body = json.loads(done.stdout)
    assert [c for c in body["checks"] if c["verdict"] == "failed"] == []
    checks = {(c["area"], c["check"]): c["verdict"] for c in body["checks"]}
    # Reached, not skipped: SAP through the run's simulator state, and the push path's message at the run.
    assert checks[("sap", "logon")] == "passed" and checks[("storage", "ledger_table")] == "passed"
    assert checks[("salesforce", "outbound_message")] == "passed"
