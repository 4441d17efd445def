"""`scripts/run`: the product on this machine with one command, on embedded defaults.

Starts Azurite (or reuses a running one), then the functions host: `func start` when Azure Functions
Core Tools are installed, otherwise the local host (`python -m devhost`). Waits until
GET /api/health answers, prints copy-paste commands, and streams the host's log. Ctrl-C (or SIGTERM)
stops everything this run started, and only that.

    scripts/run                               # port 7071, SAP simulator, write-back off
    scripts/run --port 7072 --sap-faults "communication_before=0.3"
    scripts/run --salesforce fake             # write-back on, to a fake Salesforce in this process
    SAP_TRANSPORT=rfc SAP_ASHOST=... scripts/run   # variables already set win over the defaults
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from devtools import azurite

if TYPE_CHECKING:
    from devtools.fake_salesforce import FakeSalesforce

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SETTINGS_FILE = "local.settings.example.json"
LOCAL_SETTINGS_FILE = "local.settings.json"
STORAGE_SETTING = "AzureWebJobsStorage"
SAMPLES_DIR = "samples"
DEFAULT_PORT = 7071
HEALTH_TIMEOUT_SECONDS = 60.0
# The host finishes running invocations on SIGINT; an idle one stops in well under a second.
HOST_STOP_GRACE_SECONDS = 10.0
OUTPUT_TAIL_LINES = 40
# Written once the host is spawned, so tests and scripts can check that a stop left nothing behind.
PIDS_LINE_PREFIX = "started pids:"
READY_LINE = "==> ready"

_console_lock = threading.Lock()


def say(text: str = "") -> None:
    """One line (or block) to the console, never interleaved with a line of the host's output."""
    # OSError: the terminal is gone (SIGHUP), and the clean-up must still run.
    with _console_lock, contextlib.suppress(OSError):
        print(text, flush=True)


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived: unwind and stop what this run started."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class RunError(Exception):
    """The run cannot go on; the message says why and what to do."""


def _raise_stop(signal_number: int, _frame: FrameType | None) -> None:
    raise StopRequested(signal_number)


# ----------------------------------------------------------------------------- settings


def embedded_defaults(project_root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The "Values" of local.settings.example.json: one place for the defaults of both hosts."""
    return read_settings_values(project_root / EXAMPLE_SETTINGS_FILE)


def read_settings_values(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read {path}: {error}") from error
    values = document.get("Values") if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise RunError(f"{path}: \"Values\" must be an object")
    return {name: "" if value is None else str(value) for name, value in values.items()}


def host_environment(
    environ: Mapping[str, str],
    defaults: Mapping[str, str],
    options: Mapping[str, str],
) -> dict[str, str]:
    """Defaults < variables the user already set < what the command-line options ask for."""
    merged = {**defaults, **environ, **options}
    # Piped output of a Python child is block-buffered; log lines must reach the console as they happen.
    merged["PYTHONUNBUFFERED"] = "1"
    # Everything this run talks to is on this machine; a developer's HTTP(S)_PROXY must not catch it.
    no_proxy = [entry for entry in merged.get("NO_PROXY", "").split(",") if entry.strip()]
    merged["NO_PROXY"] = ",".join(dict.fromkeys([*no_proxy, "127.0.0.1", "localhost"]))
    return merged


def uses_local_storage(connection: str | None) -> bool:
    """Whether the storage setting points at Azurite (so this run must see that one is running)."""
    if connection is None:
        return True
    compact = connection.replace(" ", "").lower()
    return "usedevelopmentstorage=true" in compact or azurite.ACCOUNT_NAME in compact


# ----------------------------------------------------------------------------- the functions host


def host_command(port: int, func_executable: str | None) -> list[str]:
    if func_executable is not None:
        return [func_executable, "start", "--port", str(port)]
    return [sys.executable, "-m", "devhost", "--app-dir", ".", "--port", str(port)]


@dataclass
class HostProcess:
    """The functions host as a child in its own process group, its output streamed to the console."""

    command: Sequence[str]
    environment: Mapping[str, str]
    cwd: Path
    console: IO[str] = field(default_factory=lambda: sys.stdout)
    process: subprocess.Popen[bytes] | None = None
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=OUTPUT_TAIL_LINES))
    _pump: threading.Thread | None = None

    def start(self) -> HostProcess:
        # Own session: a Ctrl-C in the terminal reaches only this runner, which then stops the host's
        # whole group (func start has a language worker below it) in order.
        self.process = subprocess.Popen(
            list(self.command), cwd=self.cwd, env=dict(self.environment), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._pump = threading.Thread(target=self._stream_output, name="host-output", daemon=True)
        self._pump.start()
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the host is not started")
        return self.process.pid

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def _stream_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.tail.append(line)
            with _console_lock:
                self.console.write(line + "\n")
                self.console.flush()

    def wait_for_output(self, timeout: float = 2.0) -> None:
        """Let the last lines of an exited host reach the console (and the tail) before reporting."""
        if self._pump is not None:
            self._pump.join(timeout)

    def stop(self, grace_seconds: float = HOST_STOP_GRACE_SECONDS) -> None:
        if self.process is None:
            return
        group = self.process.pid  # the session leader's pid is its group id
        if self.process.poll() is None:
            _signal_group(group, signal.SIGINT)
            try:
                self.process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                self.process.wait()
        # The leader may be gone while a worker it started still runs in the group.
        _signal_group(group, signal.SIGKILL)
        self.wait_for_output()


def _signal_group(group: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal_number)


def _health_answers(url: str) -> bool:
    # No proxies: the request goes to this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_healthy(host: HostProcess, url: str, timeout_seconds: float = HEALTH_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        code = host.exit_code()
        if code is not None:
            raise RunError(f"the functions host exited with code {code} while starting")
        if _health_answers(url):
            return
        time.sleep(0.2)
    raise RunError(f"the functions host did not answer GET {url} with 200 within {timeout_seconds:.0f} s")


# ----------------------------------------------------------------------------- fake Salesforce


def sample_accounts(samples_dir: Path) -> list[dict[str, object]]:
    """The sample payloads that carry an account Id (the invalid one has a wrong Id on purpose)."""
    accounts = []
    for path in sorted(samples_dir.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            payload = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(payload, dict) and isinstance(payload.get("accountId"), str):
                accounts.append(payload)
    return accounts


def start_fake_salesforce(samples_dir: Path) -> tuple[FakeSalesforce, list[str], dict[str, str]]:
    """The fake (started), the 18-character Ids seeded from the samples, and the settings that reach it."""
    from devtools.fake_salesforce import FakeSalesforce

    fake = FakeSalesforce().start()
    seeded = []
    for payload in sample_accounts(samples_dir):
        try:
            seeded.append(fake.add_account(str(payload["accountId"]), Name=str(payload.get("name") or ""),
                                           Type="Customer"))
        except ValueError:
            continue  # an Id with a wrong checksum suffix: nothing Salesforce could hold
    settings = {
        "SALESFORCE_WRITEBACK": "function",
        "SALESFORCE_AUTH": "client_credentials",
        "SALESFORCE_LOGIN_URL": fake.base_url,
        "SALESFORCE_INSTANCE_URL": fake.base_url,
        "SALESFORCE_CLIENT_ID": fake.credentials.client_id,
        "SALESFORCE_CLIENT_SECRET": fake.credentials.client_secret,
        # The fake's certificate comes from its own CA; only the Salesforce adapter trusts it.
        "SALESFORCE_CA_BUNDLE": fake.ca_path,
    }
    return fake, seeded, settings


def fake_salesforce_help(settings: Mapping[str, str], account_id: str) -> str:
    base_url = settings["SALESFORCE_INSTANCE_URL"]
    ca = shlex.quote(settings["SALESFORCE_CA_BUNDLE"])
    token_command = (
        f"curl -s --cacert {ca} {base_url}/services/oauth2/token -d grant_type=client_credentials "
        f"-d client_id={settings['SALESFORCE_CLIENT_ID']} -d client_secret={settings['SALESFORCE_CLIENT_SECRET']}"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    return "\n".join([
        f"Fake Salesforce at {base_url} (write-back on); the SAP number lands in SAP_Customer_Number__c:",
        f"  TOKEN=$({token_command})",
        f"  curl -s --cacert {ca} -H \"Authorization: Bearer $TOKEN\" "
        f"{base_url}/services/data/v61.0/sobjects/Account/{account_id}",
    ])


# ----------------------------------------------------------------------------- the banner


def ready_banner(port: int, environment: Mapping[str, str], samples_dir: Path) -> str:
    base_url = f"http://localhost:{port}"
    german = samples_dir / "german-account.json"
    try:
        status_id = json.loads(german.read_text(encoding="utf-8"))["accountId"]
    except (OSError, ValueError, KeyError):
        status_id = "001Dn00000AbCdEIAV"
    post = f"curl -s -X POST {base_url}/api/customers -H 'Content-Type: application/json' --data @{SAMPLES_DIR}/"
    transport = environment.get("SAP_TRANSPORT") or "simulator"
    writeback = environment.get("SALESFORCE_WRITEBACK") or "off"
    return "\n".join([
        "",
        f"{READY_LINE}: the functions answer on {base_url} (SAP {transport}, write-back {writeback}).",
        "Try it (from the repository root):",
        "  # create a customer: 201 with its SAP customerNumber; run it again: 200 with the same number",
        f"  {post}german-account.json",
        "  # an invalid account: 400 with one error per field",
        f"  {post}invalid-account.json",
        "  # what the ledger knows about the account",
        f"  curl -s {base_url}/api/customers/{status_id}",
        "Ctrl-C stops everything this command started.",
        "",
    ])


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    """What this run started, so that a stop ends exactly that."""

    host: HostProcess | None = None
    fake_salesforce: FakeSalesforce | None = None
    azurite_pid: int | None = None

    def stop(self) -> None:
        if self.host is not None:
            self.host.stop()
        if self.fake_salesforce is not None:
            self.fake_salesforce.stop()
        # Only ever the Azurite this process started (also one a Ctrl-C caught halfway through starting).
        azurite.stop_azurite()


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/run", description=__doc__.split("\n\n")[1])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port of the functions (default: 7071)")
    parser.add_argument("--salesforce", choices=["off", "fake"], default="off",
                        help="fake: write SAP numbers back to a fake Salesforce started with this command")
    parser.add_argument("--sap-faults", default=None, metavar="FAULTS",
                        help='SAP simulator fault injection, e.g. "communication_before=0.1,latency_ms=20"')
    return parser.parse_args(argv)


def _check_sap_faults(text: str) -> None:
    from shared.sap.simulator.faults import FaultPlan, FaultSettingsError

    try:
        FaultPlan.parse(text)
    except FaultSettingsError as error:
        raise RunError(str(error)) from None


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _serve(arguments: argparse.Namespace, run: Run, project_root: Path) -> int:
    if not _port_is_free(arguments.port):
        raise RunError(f"port {arguments.port} is in use (another scripts/run or func start?); "
                       "stop it or pick another with --port")
    options: dict[str, str] = {}
    if arguments.sap_faults is not None:
        _check_sap_faults(arguments.sap_faults)
        options["SAP_SIMULATOR_FAULTS"] = arguments.sap_faults

    func_executable = shutil.which("func")
    local_settings = project_root / LOCAL_SETTINGS_FILE
    if func_executable is not None and not local_settings.exists():
        shutil.copyfile(project_root / EXAMPLE_SETTINGS_FILE, local_settings)
        say(f"==> created {LOCAL_SETTINGS_FILE} from {EXAMPLE_SETTINGS_FILE} (func start reads it; "
            "put your own settings there)")
    file_values = read_settings_values(local_settings) if local_settings.exists() else {}
    if func_executable is not None:
        defaults: dict[str, str] = {}  # Core Tools read local.settings.json themselves
    else:
        # The local host reads local.settings.json too (variables already set win), so a developer's own
        # file keeps priority over the embedded defaults.
        defaults = {name: value for name, value in embedded_defaults(project_root).items() if name not in file_values}
    storage = {**file_values, **defaults, **os.environ}.get(STORAGE_SETTING)

    if uses_local_storage(storage):
        say("==> Azurite (storage emulator)")
        try:
            azurite.ensure_azurite(project_root)
        except azurite.AzuriteError as error:
            raise RunError(str(error)) from None
        run.azurite_pid = azurite.started_azurite_pid()
        if run.azurite_pid is None:
            say("    (not started by this run, so it keeps running afterwards)")

    fake_account_id = None
    if arguments.salesforce == "fake":
        run.fake_salesforce, seeded, salesforce_settings = start_fake_salesforce(project_root / SAMPLES_DIR)
        options.update(salesforce_settings)
        fake_account_id = seeded[0] if seeded else None

    if func_executable is not None:
        # Core Tools start the Python worker with the first python on PATH: it must be this venv's.
        options["VIRTUAL_ENV"] = sys.prefix
        options["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    environment = host_environment(os.environ, defaults, options)
    command = host_command(arguments.port, func_executable)
    host_name = "func start" if func_executable else "the local host (python -m devhost; no func on PATH)"
    say(f"==> functions: {host_name} on port {arguments.port}")
    run.host = HostProcess(command, environment, project_root).start()
    say(f"{PIDS_LINE_PREFIX} host={run.host.pid} azurite={run.azurite_pid or 'reused'}")

    health_url = f"http://127.0.0.1:{arguments.port}/api/health"
    try:
        wait_until_healthy(run.host, health_url)
    except RunError:
        run.host.wait_for_output(timeout=0.5)
        say("\nerror: the functions did not come up. Last lines of the host's output:")
        say("\n".join(f"  | {line}" for line in run.host.tail))
        raise

    say(ready_banner(arguments.port, environment, project_root / SAMPLES_DIR))
    if fake_account_id is not None:
        say(fake_salesforce_help(options, fake_account_id) + "\n")

    assert run.host.process is not None
    code = run.host.process.wait()
    run.host.wait_for_output()
    say(f"error: the functions host exited on its own (code {code}); stopping the rest")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    # devtools.azurite reports its npm install and start through logging; nothing else needs to.
    logging.basicConfig(level=logging.WARNING, format="    %(message)s", stream=sys.stdout)
    logging.getLogger(azurite.__name__).setLevel(logging.INFO)
    project_root = PROJECT_ROOT
    os.chdir(project_root)  # the printed commands use paths relative to the repository root
    run = Run()
    # SIGHUP: the terminal was closed; the children run in sessions of their own and would outlive it.
    stop_signals = [signal.SIGINT, signal.SIGTERM, *(getattr(signal, name) for name in ("SIGHUP", "SIGQUIT")
                                                     if hasattr(signal, name))]
    previous = {number: signal.signal(number, _raise_stop) for number in stop_signals}
    try:
        return _serve(arguments, run, project_root)
    except StopRequested:
        say("\n==> stopping")
        return 0
    except RunError as error:
        say(f"error: {error}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave a child behind.
        for number in previous:
            signal.signal(number, signal.SIG_IGN)
        run.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":
    sys.exit(main())
