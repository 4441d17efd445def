"""`scripts/run`: the Quick start's run command, driven as a newcomer would, plus its settings and .funcignore."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devtools import azurite
from devtools.run import (
    PIDS_LINE_PREFIX,
    READY_LINE,
    embedded_defaults,
    host_command,
    host_environment,
    sample_accounts,
    uses_local_storage,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUN_COMMAND = PROJECT_ROOT / "scripts" / "run"
# Bounds a broken run only (Azurite may have to start); a healthy one is ready in a few seconds.
START_DEADLINE_SECONDS = 60.0
STOP_DEADLINE_SECONDS = 20.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has exited; it only waits for a parent that may not be ours to reap it.
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class RunningCommand:
    """scripts/run as a child in its own process group, its output collected line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _arrivals: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, *arguments: str, environment: dict[str, str]) -> RunningCommand:
        process = subprocess.Popen(
            [str(RUN_COMMAND), *arguments], cwd=PROJECT_ROOT, env=environment, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        running = cls(process)
        threading.Thread(target=running._collect, daemon=True).start()
        return running

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._arrivals.put(line)
        self._arrivals.put(None)

    def wait_for_line(self, prefix: str) -> str | None:
        """The first line starting with prefix; None when the command ended without printing one."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if line.startswith(prefix):
                    return line
            seen = len(self.lines)
            try:
                if self._arrivals.get(timeout=0.5) is None:
                    return next((line for line in self.lines if line.startswith(prefix)), None)
            except queue.Empty:
                continue
        return None

    def started_pids(self) -> dict[str, int | None]:
        line = self.wait_for_line(PIDS_LINE_PREFIX)
        assert line is not None, self.output()
        pids = dict(re.findall(r"(\w+)=(\S+)", line))
        return {name: int(value) if value.isdigit() else None for name, value in pids.items()}

    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _paste(command_line: str) -> tuple[int, dict]:
    """Run a printed curl command from the repository root; (HTTP status, JSON body)."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    done = subprocess.run([*shlex.split(command_line), "--noproxy", "*", "-w", "\n%{http_code}"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30, check=False)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


@pytest.fixture
def run_environment() -> dict[str, str]:
    """The developer's environment minus our settings, with a ledger table and retry queue of this test's
    own: an Azurite that outlives one run (a developer's, or the test session's) keeps its tables."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in embedded_defaults() and not name.startswith(("SAP_", "SALESFORCE_"))}
    suffix = uuid.uuid4().hex[:12]
    environment["LEDGER_TABLE_NAME"] = f"runledger{suffix}"
    environment["RETRY_QUEUE_NAME"] = f"run-retry-{suffix}"
    return environment


@pytest.fixture
def started_runs() -> Iterator[list[RunningCommand]]:
    runs: list[RunningCommand] = []
    yield runs
    for run in runs:  # a failed assertion must not leave a host (or an Azurite) behind
        run.kill()


@pytest.mark.e2e
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["ctrl-c", "sigterm", "terminal-closed"])
def test_run_serves_the_readme_requests_and_a_stop_ends_all_it_started(run_environment, started_runs, stop_signal):
    azurite_was_running = all(state == "azurite" for state in azurite.azurite_status().values())
    port = _free_port()
    run = RunningCommand.start("--port", str(port), environment=run_environment)
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
    assert not _process_exists(host_pid)
    assert not _group_exists(host_pid)
    if pids["azurite"] is None:
        # Reused: someone else's Azurite, which this run must leave running.
        assert azurite_was_running
        assert all(state == "azurite" for state in azurite.azurite_status().values())
    else:
        assert not _process_exists(pids["azurite"])
        assert not _group_exists(pids["azurite"])


@pytest.mark.e2e
def test_a_host_that_dies_on_its_own_ends_the_run_with_exit_1(run_environment, started_runs):
    run = RunningCommand.start("--port", str(_free_port()), environment=run_environment)
    started_runs.append(run)
    pids = run.started_pids()
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    assert pids["host"] is not None

    os.kill(pids["host"], signal.SIGKILL)

    assert run.process.wait(timeout=STOP_DEADLINE_SECONDS) == 1, run.output()
    assert "exited on its own" in run.output()
    if pids["azurite"] is not None:
        assert not _process_exists(pids["azurite"])


@pytest.mark.e2e
def test_a_host_that_cannot_start_ends_the_run_with_its_last_output(run_environment, started_runs):
    run_environment["SAP_TRANSPORT"] = "rfc"  # without SAP logon settings: function_app.py refuses to load
    run = RunningCommand.start("--port", str(_free_port()), environment=run_environment)
    started_runs.append(run)
    pids = run.started_pids()

    assert run.process.wait(timeout=START_DEADLINE_SECONDS) == 1
    output = run.output()
    assert "SAP_ASHOST" in output.rsplit("Last lines of the host's output:", 1)[-1]
    assert pids["host"] is not None and not _process_exists(pids["host"])
    if pids["azurite"] is not None:
        assert not _process_exists(pids["azurite"])


def test_defaults_are_the_values_of_the_example_local_settings():
    example = json.loads((PROJECT_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    assert set(example) <= {"IsEncrypted", "Values", "Host", "ConnectionStrings"}  # what Core Tools reads
    defaults = embedded_defaults()
    assert defaults == example["Values"]
    assert defaults["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert defaults["SAP_TRANSPORT"] == "simulator"
    assert defaults["SALESFORCE_WRITEBACK"] == "off"


def test_settings_the_user_set_win_over_defaults_and_options_win_over_both():
    defaults = {"SAP_TRANSPORT": "simulator", "SAP_SIMULATOR_FAULTS": "", "LEDGER_TABLE_NAME": "sapcustomerledger"}
    user = {"SAP_TRANSPORT": "rfc", "SAP_SIMULATOR_FAULTS": "down=true", "NO_PROXY": "corp.example"}
    merged = host_environment(user, defaults, {"SAP_SIMULATOR_FAULTS": "latency_ms=20"})

    assert merged["SAP_TRANSPORT"] == "rfc"
    assert merged["LEDGER_TABLE_NAME"] == "sapcustomerledger"
    assert merged["SAP_SIMULATOR_FAULTS"] == "latency_ms=20"
    assert merged["NO_PROXY"].split(",") == ["corp.example", "127.0.0.1", "localhost"]


def test_the_local_host_is_the_fallback_when_core_tools_are_missing():
    assert host_command(7071, "/usr/local/bin/func") == ["/usr/local/bin/func", "start", "--port", "7071"]
    assert host_command(7072, None)[1:] == ["-m", "devhost", "--app-dir", ".", "--port", "7072"]


def test_azurite_is_needed_only_for_development_storage():
    assert uses_local_storage(None)
    assert uses_local_storage("UseDevelopmentStorage=true")
    assert uses_local_storage(azurite.AzuriteEndpoints().connection_string)
    assert not uses_local_storage("DefaultEndpointsProtocol=https;AccountName=prodsync;AccountKey=abc==;")


def test_the_fake_salesforce_is_seeded_with_every_sample_that_has_an_account_id():
    accounts = sample_accounts(PROJECT_ROOT / "samples")
    assert "001Dn00000AbCdEIAV" in {account["accountId"] for account in accounts}


# ----------------------------------------------------------------------------- .funcignore


def _core_tools_ignore(text: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Core Tools' reading of .funcignore (its GitIgnoreParser, a port of codemix/gitignore-parser):
    each pattern matches from the start of the relative path, with no end anchor."""
    positive, negative = [], []
    for line in (raw.strip() for raw in text.split("\n")):
        if not line or line.startswith("#"):
            continue
        target = negative if line.startswith("!") else positive
        line = line.removeprefix("!").removeprefix("/")
        escaped = re.sub(r"[\-\[\]/{}()+?.\\^$|]", lambda match: "\\" + match.group(0), line)
        target.append(escaped.replace("**", "(.+)").replace("*", "([^/]+)"))

    def compile_any(patterns: list[str]) -> re.Pattern[str]:
        return re.compile("^((" + ")|(".join(patterns) + "))") if patterns else re.compile("$^")

    return compile_any(positive), compile_any(negative)


def _published(path: str, ignore: tuple[re.Pattern[str], re.Pattern[str]]) -> bool:
    positive, negative = ignore
    return bool(negative.match(path)) or not positive.match(path)


def test_funcignore_publishes_the_app_and_nothing_for_development():
    ignore = _core_tools_ignore((PROJECT_ROOT / ".funcignore").read_text(encoding="utf-8"))
    app_files = ["function_app.py", "host.json", "requirements.txt"] + [
        path.relative_to(PROJECT_ROOT).as_posix()
        for folder in ("functions", "shared") for path in sorted((PROJECT_ROOT / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".md")
    ]
    assert "shared/reference/sap_regions.json" in app_files
    assert [path for path in app_files if not _published(path, ignore)] == []

    development_files = [
        ".venv/bin/python", ".tools/node_modules/.bin/azurite", ".git/HEAD", ".gitignore", ".ci/run",
        "tests/unit/test_mapping.py", "bench/bench_mapping.py", "devhost/host.py", "devtools/run.py",
        "samples/german-account.json", "scripts/run", "local.settings.json", "local.settings.example.json",
        "functions/__pycache__/customers.cpython-311.pyc", "shared/sap/__pycache__/rfc.cpython-312.pyc",
        "README.md", "devhost/README.md", "pyproject.toml", "requirements-dev.txt", ".pytest_cache/README.md",
    ]
    assert [path for path in development_files if _published(path, ignore)] == []
