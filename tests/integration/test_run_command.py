"""`scripts/run`: the Quick start's run command, driven as a newcomer would, where it keeps its data and
the fake Salesforce it seeds. Its pieces that start nothing (settings, ports, .funcignore) are checked in
tests/unit/test_run_command.py; the run command as a child process is tests/support/run_command.py."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from devtools import azurite
from devtools.fake_salesforce import salesforce_id18
from devtools.run import (
    PIDS_LINE_PREFIX,
    READY_LINE,
    azurite_endpoints,
    embedded_defaults,
    parse_arguments,
    start_fake_salesforce,
)
from tests.support.network import free_port
from tests.support.run_command import (
    PROJECT_ROOT,
    RUN_COMMAND,
    START_DEADLINE_SECONDS,
    STOP_DEADLINE_SECONDS,
    RunningCommand,
    group_exists,
    process_exists,
)
from tests.support.samples import SAMPLES, sample, sample_names


def _paste(command_line: str) -> tuple[int, dict]:
    """Run a printed curl command from the repository root; (HTTP status, JSON body)."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    done = subprocess.run(
        [*shlex.split(command_line), "--noproxy", "*", "-w", "\n%{http_code}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "stop_signal", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "terminal-closed"]
)
def test_run_serves_the_readme_requests_and_a_stop_ends_all_it_started(
    run_environment, data_dir, started_runs, stop_signal
):
    port = free_port()
    run = RunningCommand.start("--port", str(port), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    pids = run.started_pids()
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    assert "--data @samples/german-account.json" in run.output()

    # The commands exactly as printed, as a newcomer would paste them (curl is on Linux and macOS).
    printed = [line.strip() for line in run.lines if line.strip().startswith("curl ")]
    create = next(line for line in printed if "german-account.json" in line)
    invalid = next(line for line in printed if "invalid-account.json" in line)

    status, created = _paste(create)
    assert status == 201, created
    customer_number = created["customerNumber"]
    assert re.fullmatch(r"\d{10}", customer_number)

    status, replayed = _paste(create)
    assert status == 200, replayed
    assert replayed["customerNumber"] == customer_number

    status, rejected = _paste(invalid)
    assert status == 400, rejected
    fields = {error["field"] for error in rejected["errors"]}
    assert {"name", "country"} <= fields

    os.kill(run.process.pid, stop_signal)
    assert run.process.wait(timeout=STOP_DEADLINE_SECONDS) == 0, run.output()

    host_pid = pids["host"]
    assert host_pid is not None
    assert not process_exists(host_pid)
    assert not group_exists(host_pid)
    assert pids["azurite"] is not None  # on this test's own ports: started by the run
    assert not process_exists(pids["azurite"])
    assert not group_exists(pids["azurite"])
    assert (data_dir / "azurite").is_dir(), "the run keeps its storage on disk in the data dir"


@pytest.fixture
def someone_elses_azurite(run_environment: dict[str, str]) -> Iterator[azurite.AzuriteEndpoints]:
    """An Azurite on the test's ports that this test process (not the run) started, in memory; not through
    ensure_azurite, whose stop_azurite would also end the test session's Azurite."""
    endpoints = azurite_endpoints(run_environment["AzureWebJobsStorage"])
    command = [
        str(azurite.install_azurite()),
        "--inMemoryPersistence",
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
        "--blobHost",
        endpoints.host,
        "--blobPort",
        str(endpoints.blob_port),
        "--queueHost",
        endpoints.host,
        "--queuePort",
        str(endpoints.queue_port),
        "--tableHost",
        endpoints.host,
        "--tablePort",
        str(endpoints.table_port),
    ]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not all(state == "azurite" for state in azurite.azurite_status(endpoints).values()):
            assert process.poll() is None and time.monotonic() < deadline, "Azurite did not start"
            time.sleep(0.2)
        yield endpoints
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.e2e
def test_a_run_reuses_an_azurite_it_did_not_start_and_leaves_it_running(
    run_environment, data_dir, started_runs, someone_elses_azurite
):
    run = RunningCommand.start("--port", str(free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    assert run.started_pids()["azurite"] is None
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    assert "not started by this run" in run.output()
    os.kill(run.process.pid, signal.SIGINT)
    assert run.process.wait(timeout=STOP_DEADLINE_SECONDS) == 0, run.output()
    assert all(state == "azurite" for state in azurite.azurite_status(someone_elses_azurite).values())


@pytest.mark.e2e
def test_a_host_that_cannot_start_ends_the_run_with_its_last_output(run_environment, data_dir, started_runs):
    run_environment["SAP_TRANSPORT"] = "rfc"  # without SAP logon settings: function_app.py refuses to load
    run = RunningCommand.start("--port", str(free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    pids = run.started_pids()

    assert run.process.wait(timeout=START_DEADLINE_SECONDS) == 1
    output = run.output()
    assert "SAP_ASHOST" in output.rsplit("Last lines of the host's output:", 1)[-1]
    assert "Traceback" not in output, "a setting the app refuses is one line, not a traceback"
    assert pids["host"] is not None and not process_exists(pids["host"])
    if pids["azurite"] is not None:
        assert not process_exists(pids["azurite"])


@pytest.mark.e2e
def test_the_admin_snippets_of_the_readme_and_the_operations_guide_run_as_pasted_after_the_printed_export_line(
    run_environment, data_dir, started_runs
):
    run = RunningCommand.start("--port", str(free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    create = next(line.strip() for line in run.lines if "german-account.json" in line and "curl " in line)
    assert _paste(create)[0] == 201
    exports = run.printed_exports()
    assert "AzureWebJobsStorage=" in exports and run_environment["LEDGER_TABLE_NAME"] in exports

    # The README's quick start and the operations guide it sends operators to (docs/operations.md).
    pages = ("README.md", "docs/operations.md")
    readme = "\n".join((PROJECT_ROOT / page).read_text(encoding="utf-8") for page in pages)
    snippets = [
        line.split("#", 1)[0].strip()
        for block in re.findall(r"```bash\n(.*?)```", readme, re.S)
        for line in block.splitlines()
        if line.startswith(".venv/bin/python -m admin ")
    ]
    # MESSAGE_ID is a placeholder, and a replay without --yes asks a person.
    # reconcile also needs the app's SALESFORCE_* settings, which a run without --salesforce fake has not
    # (tests/integration/test_reconcile_command.py runs it against the fake Salesforce).
    runnable = [
        snippet
        for snippet in snippets
        if "MESSAGE_ID" not in snippet
        and not ("replay" in snippet and "--yes" not in snippet)
        and " reconcile" not in snippet
    ]
    assert any(" status " in snippet for snippet in runnable) and any("poison list" in snippet for snippet in runnable)

    # A terminal with nothing set: only what the developer has anyway, then the printed line.
    terminal = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    for snippet in runnable:
        done = subprocess.run(
            ["bash", "-c", f"{exports}\n{snippet}"],
            cwd=PROJECT_ROOT,
            env=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # 2 is "bad arguments or settings" (AzureWebJobsStorage: required), 3 "storage unreachable"; 1 is
        # an answer about the data (e.g. nothing to resolve), which is the command working.
        assert done.returncode in (0, 1), f"{snippet}\n{done.stdout}\n{done.stderr}"
        if " status " in snippet or "poison list" in snippet:
            assert done.returncode == 0, f"{snippet}\n{done.stdout}\n{done.stderr}"
        if " status " in snippet:
            assert "created" in done.stdout, done.stdout


@pytest.mark.e2e
def test_a_bare_down_fault_in_the_environment_starts_and_the_banner_says_faults_are_active(
    run_environment, data_dir, started_runs
):
    run_environment["SAP_SIMULATOR_FAULTS"] = "down"  # as the README lists it
    run = RunningCommand.start("--port", str(free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    banner = run.output().split(READY_LINE, 1)[1]
    assert "SAP simulator faults ACTIVE: down" in banner

    create = next(line.strip() for line in run.lines if "german-account.json" in line and "curl " in line)
    status, answer = _paste(create)
    assert status == 202 and answer["trackingId"], answer


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("environment", "error: SAP_SIMULATOR_FAULTS: unknown fault 'explode'"),
        ("option", "error: SAP_SIMULATOR_FAULTS: 'latency_ms' needs a value, e.g. latency_ms=20"),
    ],
)
def test_a_mistyped_fault_setting_stops_the_run_with_one_line_before_anything_starts(
    run_environment, data_dir, how, expected
):
    arguments = ["--port", str(free_port()), "--data-dir", str(data_dir)]
    if how == "environment":
        run_environment["SAP_SIMULATOR_FAULTS"] = "explode"
    else:
        arguments += ["--sap-faults", "latency_ms"]
    done = subprocess.run(
        [str(RUN_COMMAND), *arguments],
        cwd=PROJECT_ROOT,
        env=run_environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert [line for line in output.splitlines() if line.startswith("error:")] == [
        next(line for line in output.splitlines() if line.startswith(expected))
    ]
    assert "Traceback" not in output and "***" not in output
    assert PIDS_LINE_PREFIX not in output


def test_the_local_host_reports_a_setting_the_app_refuses_in_one_line(run_environment):
    environment = {
        **run_environment,
        **embedded_defaults(),
        "SAP_SIMULATOR_FAULTS": "down=maybe",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "devhost", "--app-dir", ".", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output
    assert errors[0].endswith(
        "cannot start: function_app.py refused its settings: SAP_SIMULATOR_FAULTS: 'maybe' "
        "is not a valid value for down: expected true or false (or the bare name for true)"
    )
    assert "Traceback" not in output


def test_local_data_is_kept_in_the_checkouts_git_ignored_dot_local_by_default():
    arguments = parse_arguments([])
    assert arguments.data_dir == PROJECT_ROOT / ".local" and not arguments.fresh
    assert azurite.default_location() == PROJECT_ROOT / ".local" / "azurite"
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", ".local/azurite/__azurite_db_queue__.json", ".local/sap-simulator.jsonl"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ignored.stdout.split() == [".local/azurite/__azurite_db_queue__.json", ".local/sap-simulator.jsonl"]


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536", "http"])
def test_a_port_outside_1_to_65535_is_a_usage_error_before_anything_starts(port, run_environment):
    done = subprocess.run(
        [str(RUN_COMMAND), "--port", port],
        cwd=PROJECT_ROOT,
        env=run_environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "usage: scripts/run" in done.stderr
    assert "argument --port:" in done.stderr and "is not a port number (1-65535)" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert PIDS_LINE_PREFIX not in done.stdout and "Azurite" not in done.stdout


def test_the_fake_salesforce_is_seeded_with_every_sample_that_has_an_account_id():
    with_ids = [sample(name) for name in sample_names() if isinstance(sample(name).get("accountId"), str)]
    # An Id with a wrong checksum suffix (the invalid sample's, on purpose) is nothing Salesforce could hold.
    holdable = [
        payload
        for payload in with_ids
        if len(payload["accountId"]) == 15 or salesforce_id18(payload["accountId"]) == payload["accountId"]
    ]
    assert "001Dn00000AbCdEIAV" in {payload["accountId"] for payload in holdable}
    assert len(holdable) < len(with_ids), "the samples include one with a wrong Id"

    fake, seeded, _ = start_fake_salesforce(SAMPLES)
    try:
        assert sorted(seeded) == sorted(salesforce_id18(payload["accountId"]) for payload in holdable)
        for payload in holdable:
            account = fake.account(payload["accountId"])
            assert account is not None and account["Name"] == payload["name"], payload["accountId"]
    finally:
        fake.stop()


@pytest.mark.e2e
def test_with_the_fake_salesforce_the_printed_push_and_reconcile_commands_work_as_pasted(
    run_environment, data_dir, started_runs
):
    """--salesforce fake: the push path accepts the fake org's messages (SALESFORCE_ORGANIZATION_ID set, not
    a 503 for every message), and the printed export line carries what `admin reconcile` needs."""
    port = free_port()
    run = RunningCommand.start(
        "--salesforce", "fake", "--port", str(port), "--data-dir", str(data_dir), environment=run_environment
    )
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    push = run.wait_for_line("  .venv/bin/python -m devtools.outbound_messages ")
    assert push is not None, run.output()
    terminal = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}

    sent = subprocess.run(
        ["bash", "-c", f"{push.strip()} --noproxy '*' -w '\n%{{http_code}}'"],
        cwd=PROJECT_ROOT,
        env=terminal,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    body, _, status = sent.stdout.rpartition("\n")
    assert status == "200" and "<Ack>true</Ack>" in body, f"{sent.stdout}\n{sent.stderr}"
    account_id = salesforce_id18(sample("us-account")["accountId"])
    deadline = time.monotonic() + 40.0  # bounds a broken run only: the queue trigger polls every 2 s
    entry: dict = {}
    while time.monotonic() < deadline:
        answer = requests.get(f"http://127.0.0.1:{port}/api/customers/{account_id}", timeout=10)
        entry = answer.json() if answer.status_code == 200 else {}
        if entry.get("status") == "created" and entry.get("writeBack") == "done":
            break
        time.sleep(0.5)
    assert entry.get("status") == "created" and entry.get("writeBack") == "done", entry

    exports = run.printed_exports()
    for name in (
        "SALESFORCE_AUTH",
        "SALESFORCE_LOGIN_URL",
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_CLIENT_SECRET",
        "SALESFORCE_CA_BUNDLE",
        "AzureWebJobsStorage",
    ):
        assert f"{name}=" in exports, exports
    reconcile = "  .venv/bin/python -m admin reconcile"
    assert any(line.startswith(reconcile) for line in run.lines), run.output()
    done = subprocess.run(
        ["bash", "-c", f"{exports}\n.venv/bin/python -m admin reconcile --json"],
        cwd=PROJECT_ROOT,
        env=terminal,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # 5: the dry run found work, the seeded accounts the sync never saw (not the pushed one, now created)
    assert done.returncode == 5, f"{done.stdout}\n{done.stderr}"
    assert account_id not in done.stdout and salesforce_id18(sample("japanese-account")["accountId"]) in done.stdout


@pytest.mark.e2e
def test_the_relay_topology_serves_through_the_agent_restarts_a_killed_agent_and_a_stop_ends_all(
    run_environment, data_dir, started_runs
):
    run = RunningCommand.start(
        "--topology", "relay", "--port", str(free_port()), "--data-dir", str(data_dir), environment=run_environment
    )
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    pids = _pids_of(run)
    assert set(pids) >= {"agent", "host"}, run.output()
    assert "SAP relay" in run.output() and "agent | " in run.output(), "the agent's own log is shown, marked"

    create = next(line.strip() for line in run.lines if "german-account.json" in line and "curl " in line)
    status, created = _paste(create)
    assert status == 201, created

    os.kill(pids["agent"][0], signal.SIGKILL)
    assert run.wait_for_line(f"{READY_LINE} again: the agent listens") is not None, run.output()
    restarted = _pids_of(run)["agent"]
    assert len(restarted) == 2 and "killed by SIGKILL" in run.output()
    status, replayed = _paste(create)
    assert status == 200 and replayed["customerNumber"] == created["customerNumber"]
    # The SAP state is the agent's, in the data dir: the restarted agent holds the customer, once.
    from sap_simulator.store import created_customers_in

    assert [c.number for c in created_customers_in(data_dir / "sap-simulator.sqlite3")] == [created["customerNumber"]]

    os.kill(run.process.pid, signal.SIGTERM)
    assert run.process.wait(timeout=STOP_DEADLINE_SECONDS) == 0, run.output()
    for pid in [*restarted, *pids["host"], *pids.get("azurite", [])]:
        assert not process_exists(pid) and not group_exists(pid), pid


def _pids_of(run: RunningCommand) -> dict[str, list[int]]:
    """Every pid the run printed, by what it is (each start of the agent and of the host prints a line)."""
    found: dict[str, list[int]] = {}
    for line in run.lines:
        if line.startswith(PIDS_LINE_PREFIX):
            for name, value in re.findall(r"(\w+)=(\d+)", line):
                found.setdefault(name, []).append(int(value))
    return found
