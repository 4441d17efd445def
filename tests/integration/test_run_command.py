"""`scripts/run`: the Quick start's run command, driven as a newcomer would, plus its settings and .funcignore."""

from __future__ import annotations

import contextlib
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
    admin_environment,
    azurite_endpoints,
    embedded_defaults,
    host_command,
    host_environment,
    parse_arguments,
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

    def wait_for_lines(self, prefix: str, count: int) -> list[str]:
        """The first `count` lines starting with prefix (fewer when the command ended or the deadline passed)."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if len(found) >= count or self.process.poll() is not None:
                return [line for line in self.lines if line.startswith(prefix)][:count]
            time.sleep(0.1)
        return [line for line in self.lines if line.startswith(prefix)][:count]

    def started_pids(self, nth: int = 1) -> dict[str, int | None]:
        """The pids of the nth start of the host (a restarted host prints the line again)."""
        lines = self.wait_for_lines(PIDS_LINE_PREFIX, nth)
        assert len(lines) == nth, self.output()
        pids = dict(re.findall(r"(\w+)=(\S+)", lines[-1]))
        return {name: int(value) if value.isdigit() else None for name, value in pids.items()}

    def printed_exports(self) -> str:
        """The `export ...` line the run prints for the operations commands."""
        line = next((line.strip() for line in self.lines if line.strip().startswith("export ")), None)
        assert line is not None, self.output()
        return line

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        """As Ctrl-C would; what it started and left (a failed test) is killed by pid afterwards."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for line in [line for line in self.lines if line.startswith(PIDS_LINE_PREFIX)]:
            for value in re.findall(r"=(\d+)", line):
                # The host and Azurite run in sessions of their own: their group ids are their pids.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(value), signal.SIGKILL)

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


def free_azurite_endpoints() -> azurite.AzuriteEndpoints:
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(3)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        blob, queue_port, table = (probe.getsockname()[1] for probe in probes)
    return azurite.AzuriteEndpoints(blob_port=blob, queue_port=queue_port, table_port=table)


@pytest.fixture
def run_environment() -> dict[str, str]:
    return isolated_run_environment()


def isolated_run_environment() -> dict[str, str]:
    """The developer's environment minus our settings, with an Azurite of this test's own on free ports
    (the run starts it, so a developer's Azurite and scripts/run never meet the test) and a ledger table and
    retry queue of its own."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in embedded_defaults() and not name.startswith(("SAP_", "SALESFORCE_"))}
    suffix = uuid.uuid4().hex[:12]
    environment["LEDGER_TABLE_NAME"] = f"runledger{suffix}"
    environment["RETRY_QUEUE_NAME"] = f"run-retry-{suffix}"
    environment["AzureWebJobsStorage"] = free_azurite_endpoints().connection_string
    return environment


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


@pytest.mark.e2e
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["ctrl-c", "sigterm", "terminal-closed"])
def test_run_serves_the_readme_requests_and_a_stop_ends_all_it_started(run_environment, data_dir, started_runs,
                                                                       stop_signal):
    port = _free_port()
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
    assert not _process_exists(host_pid)
    assert not _group_exists(host_pid)
    assert pids["azurite"] is not None  # on this test's own ports: started by the run
    assert not _process_exists(pids["azurite"])
    assert not _group_exists(pids["azurite"])
    assert (data_dir / "azurite").is_dir(), "the run keeps its storage on disk in the data dir"


@pytest.fixture
def someone_elses_azurite(run_environment: dict[str, str]) -> Iterator[azurite.AzuriteEndpoints]:
    """An Azurite on the test's ports that this test process (not the run) started, in memory; not through
    ensure_azurite, whose stop_azurite would also end the test session's Azurite."""
    endpoints = azurite_endpoints(run_environment["AzureWebJobsStorage"])
    command = [str(azurite.install_azurite()), "--inMemoryPersistence", "--silent", "--skipApiVersionCheck",
               "--loose", "--disableTelemetry",
               "--blobHost", endpoints.host, "--blobPort", str(endpoints.blob_port),
               "--queueHost", endpoints.host, "--queuePort", str(endpoints.queue_port),
               "--tableHost", endpoints.host, "--tablePort", str(endpoints.table_port)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
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
def test_a_run_reuses_an_azurite_it_did_not_start_and_leaves_it_running(run_environment, data_dir, started_runs,
                                                                        someone_elses_azurite):
    run = RunningCommand.start("--port", str(_free_port()), "--data-dir", str(data_dir), environment=run_environment)
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
    run = RunningCommand.start("--port", str(_free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    pids = run.started_pids()

    assert run.process.wait(timeout=START_DEADLINE_SECONDS) == 1
    output = run.output()
    assert "SAP_ASHOST" in output.rsplit("Last lines of the host's output:", 1)[-1]
    assert "Traceback" not in output, "a setting the app refuses is one line, not a traceback"
    assert pids["host"] is not None and not _process_exists(pids["host"])
    if pids["azurite"] is not None:
        assert not _process_exists(pids["azurite"])


@pytest.mark.e2e
def test_the_readmes_admin_snippets_run_as_pasted_after_the_printed_export_line(run_environment, data_dir,
                                                                                started_runs):
    run = RunningCommand.start("--port", str(_free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    create = next(line.strip() for line in run.lines if "german-account.json" in line and "curl " in line)
    assert _paste(create)[0] == 201
    exports = run.printed_exports()
    assert "AzureWebJobsStorage=" in exports and run_environment["LEDGER_TABLE_NAME"] in exports

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    snippets = [line.split("#", 1)[0].strip() for block in re.findall(r"```bash\n(.*?)```", readme, re.S)
                for line in block.splitlines() if line.startswith(".venv/bin/python -m admin ")]
    # MESSAGE_ID is a placeholder, and a replay without --yes asks a person.
    runnable = [snippet for snippet in snippets if "MESSAGE_ID" not in snippet
                and not ("replay" in snippet and "--yes" not in snippet)]
    assert any(" status " in snippet for snippet in runnable) and any("poison list" in snippet for snippet in runnable)

    # A terminal with nothing set: only what the developer has anyway, then the printed line.
    terminal = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    for snippet in runnable:
        done = subprocess.run(["bash", "-c", f"{exports}\n{snippet}"], cwd=PROJECT_ROOT, env=terminal,
                              capture_output=True, text=True, timeout=60, check=False)
        # 2 is "bad arguments or settings" (AzureWebJobsStorage: required), 3 "storage unreachable"; 1 is
        # an answer about the data (e.g. nothing to resolve), which is the command working.
        assert done.returncode in (0, 1), f"{snippet}\n{done.stdout}\n{done.stderr}"
        if " status " in snippet or "poison list" in snippet:
            assert done.returncode == 0, f"{snippet}\n{done.stdout}\n{done.stderr}"
        if " status " in snippet:
            assert "created" in done.stdout, done.stdout


@pytest.mark.e2e
def test_a_bare_down_fault_in_the_environment_starts_and_the_banner_says_faults_are_active(
        run_environment, data_dir, started_runs):
    run_environment["SAP_SIMULATOR_FAULTS"] = "down"  # as the README lists it
    run = RunningCommand.start("--port", str(_free_port()), "--data-dir", str(data_dir), environment=run_environment)
    started_runs.append(run)
    assert run.wait_for_line(READY_LINE) is not None, run.output()
    banner = run.output().split(READY_LINE, 1)[1]
    assert "SAP simulator faults ACTIVE: down" in banner

    create = next(line.strip() for line in run.lines if "german-account.json" in line and "curl " in line)
    status, answer = _paste(create)
    assert status == 202 and answer["trackingId"], answer


@pytest.mark.parametrize(("how", "expected"), [
    ("environment", "error: SAP_SIMULATOR_FAULTS: unknown fault 'explode'"),
    ("option", "error: SAP_SIMULATOR_FAULTS: 'latency_ms' needs a value, e.g. latency_ms=20"),
])
def test_a_mistyped_fault_setting_stops_the_run_with_one_line_before_anything_starts(run_environment, data_dir,
                                                                                    how, expected):
    arguments = ["--port", str(_free_port()), "--data-dir", str(data_dir)]
    if how == "environment":
        run_environment["SAP_SIMULATOR_FAULTS"] = "explode"
    else:
        arguments += ["--sap-faults", "latency_ms"]
    done = subprocess.run([str(RUN_COMMAND), *arguments], cwd=PROJECT_ROOT, env=run_environment,
                          capture_output=True, text=True, timeout=60, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert [line for line in output.splitlines() if line.startswith("error:")] == [
        next(line for line in output.splitlines() if line.startswith(expected))]
    assert "Traceback" not in output and "***" not in output
    assert PIDS_LINE_PREFIX not in output


def test_the_local_host_reports_a_setting_the_app_refuses_in_one_line(run_environment):
    environment = {**run_environment, **embedded_defaults(), "SAP_SIMULATOR_FAULTS": "down=maybe",
                   "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "devhost", "--app-dir", ".",
                           "--port", str(_free_port())], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=60, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output
    assert errors[0].endswith("cannot start: function_app.py refused its settings: SAP_SIMULATOR_FAULTS: 'maybe' "
                              "is not a valid value for down: expected true or false (or the bare name for true)")
    assert "Traceback" not in output


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
    # With a simulator state file the same devhost runs behind a wrapper that keeps SAP's customers there.
    wrapped = host_command(7073, None, Path("/data/sap-simulator.jsonl"))
    assert wrapped[1] == "-c" and "serve_local_host" in wrapped[2]
    assert wrapped[3:] == ["--sap-state", "/data/sap-simulator.jsonl", "--app-dir", ".", "--port", "7073"]
    assert host_command(7071, "/usr/local/bin/func", Path("/x")) == ["/usr/local/bin/func", "start", "--port", "7071"]


def test_azurite_is_needed_only_for_development_storage():
    assert uses_local_storage(None)
    assert uses_local_storage("UseDevelopmentStorage=true")
    assert uses_local_storage(azurite.AzuriteEndpoints().connection_string)
    assert not uses_local_storage("DefaultEndpointsProtocol=https;AccountName=prodsync;AccountKey=abc==;")


def test_the_azurite_a_run_starts_is_on_the_ports_its_storage_setting_names():
    assert azurite_endpoints("UseDevelopmentStorage=true") == azurite.AzuriteEndpoints()
    assert azurite_endpoints(None) == azurite.AzuriteEndpoints()
    own = azurite.AzuriteEndpoints(blob_port=21000, queue_port=21001, table_port=21002)
    assert azurite_endpoints(own.connection_string) == own
    only_queue = "AccountName=devstoreaccount1;QueueEndpoint=http://localhost:21001/devstoreaccount1"
    assert azurite_endpoints(only_queue) == azurite.AzuriteEndpoints(queue_port=21001)


def test_local_data_is_kept_in_the_checkouts_git_ignored_dot_local_by_default():
    arguments = parse_arguments([])
    assert arguments.data_dir == PROJECT_ROOT / ".local" and not arguments.fresh
    assert azurite.default_location() == PROJECT_ROOT / ".local" / "azurite"
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", ".local/azurite/__azurite_db_queue__.json",
                              ".local/sap-simulator.jsonl"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=False)
    assert ignored.stdout.split() == [".local/azurite/__azurite_db_queue__.json", ".local/sap-simulator.jsonl"]


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536", "http"])
def test_a_port_outside_1_to_65535_is_a_usage_error_before_anything_starts(port, run_environment):
    done = subprocess.run([str(RUN_COMMAND), "--port", port], cwd=PROJECT_ROOT, env=run_environment,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "usage: scripts/run" in done.stderr
    assert "argument --port:" in done.stderr and "is not a port number (1-65535)" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert PIDS_LINE_PREFIX not in done.stdout and "Azurite" not in done.stdout


def test_the_admin_settings_line_names_this_runs_storage_table_and_queue():
    defaults = embedded_defaults()
    assert admin_environment(defaults) == ("export AzureWebJobsStorage=UseDevelopmentStorage=true "
                                           "RETRY_QUEUE_NAME=sap-customer-retry LEDGER_TABLE_NAME=sapcustomerledger")
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert admin_environment(defaults) in readme, "the README shows the line a default run prints"
    explicit = admin_environment({**defaults, "AzureWebJobsStorage": "A=1;B=2;"})
    assert explicit.startswith("export AzureWebJobsStorage='A=1;B=2;' ")


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


def test_funcignore_keeps_the_local_run_data_out_of_a_publish():
    ignore = _core_tools_ignore((PROJECT_ROOT / ".funcignore").read_text(encoding="utf-8"))
    local_data = [".local/azurite/__azurite_db_queue__.json", ".local/azurite/__queuestorage__/x",
                  ".local/sap-simulator.jsonl"]
    assert [path for path in local_data if _published(path, ignore)] == []


def test_funcignore_publishes_the_app_and_nothing_for_development():
    ignore = _core_tools_ignore((PROJECT_ROOT / ".funcignore").read_text(encoding="utf-8"))
    app_files = ["function_app.py", "host.json", "requirements.txt"] + [
        path.relative_to(PROJECT_ROOT).as_posix()
        for folder in ("functions", "shared") for path in sorted((PROJECT_ROOT / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".md")
    ]
    assert "shared/core/reference/sap_regions.json" in app_files
    assert [path for path in app_files if not _published(path, ignore)] == []

    development_files = [
        ".venv/bin/python", ".tools/node_modules/.bin/azurite", ".git/HEAD", ".gitignore", ".ci/run",
        "tests/unit/test_mapping.py", "bench/bench_mapping.py", "devhost/host.py", "devtools/run.py",
        "samples/german-account.json", "scripts/run", "local.settings.json", "local.settings.example.json",
        "functions/__pycache__/customers.cpython-311.pyc", "shared/sap/__pycache__/rfc.cpython-312.pyc",
        "README.md", "devhost/README.md", "pyproject.toml", "requirements-dev.txt", ".pytest_cache/README.md",
    ]
    assert [path for path in development_files if _published(path, ignore)] == []
