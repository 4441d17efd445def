"""`scripts/run`: the product on this machine with one command, on embedded defaults.

Starts Azurite (or reuses a running one), then the functions host: `func start` when Azure Functions
Core Tools are installed, otherwise the local host (`python -m devhost`). Waits until
GET /api/health answers, prints copy-paste commands, and streams the host's log. Ctrl-C (or SIGTERM)
stops everything this run started, and only that.

Two topologies. local (the default): the functions call the SAP simulator in their own process.
relay: as in production, the functions (SAP_TRANSPORT=relay) reach SAP only through a hybrid
connection, here a relay double on loopback (devtools/relay_double.py, in this process), behind which
the on-premise agent (`python -m agent`, a process of its own) serves the SAP simulator; the double's
rules and the app's proof key are made up for the run.

Local data survives: Azurite keeps its storage in .local/azurite/ of the checkout (git-ignored) and the
SAP simulator its customers and number range in .local/sap-simulator.sqlite3 (sap_simulator/
store.py, SAP_SIMULATOR_STATE_FILE), so requests answered 202 are finished after a restart. A host or
agent that dies on its own (a crash, kill -9) is started again while the rest keeps running, and the
host's queue trigger finishes the queued retries; one that keeps dying ends the run. --fresh starts
with empty storage and an empty SAP.

    scripts/run                               # port 7071, SAP simulator, write-back off
    scripts/run --topology relay              # functions -> relay double -> agent -> SAP simulator
    scripts/run --port 7072 --sap-faults "communication_before=0.3"
    scripts/run --salesforce fake             # write-back on, to a fake Salesforce in this process
    scripts/run --fresh                       # empty storage and simulator first
    SAP_TRANSPORT=rfc SAP_ASHOST=... scripts/run   # variables already set win over the defaults
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
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
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from devtools import azurite

if TYPE_CHECKING:
    from devtools.fake_salesforce import FakeSalesforce
    from devtools.relay_double import RelayDoubleThread

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
# A host that exits on its own is started again, unless it did so this often within the window.
MAX_RESTARTS = 3
RESTART_WINDOW_SECONDS = 60.0
RESTART_LINE = "==> restarting the functions host"
AGENT_RESTART_LINE = "==> restarting the agent"
RESTART_LINES = {"host": RESTART_LINE, "agent": AGENT_RESTART_LINE}
CHILD_NAMES = {"host": "functions host", "agent": "agent"}
SUPERVISE_POLL_SECONDS = 0.2
# The SAP simulator's database (sap_simulator/store.py), in the data dir unless
# SAP_SIMULATOR_STATE_FILE names another file.
SAP_SIMULATOR_STATE_FILE = "sap-simulator.sqlite3"
TOPOLOGIES = ("local", "relay")
# --topology relay: the hybrid connection as the relay double plays it (tokens name this namespace).
RELAY_NAMESPACE = "relay-double.servicebus.windows.net"
RELAY_PATH = "sap"
RELAY_URL = f"https://{RELAY_NAMESPACE}/{RELAY_PATH}"
RELAY_SEND_RULE, RELAY_LISTEN_RULE = "sap-sync-send", "sap-sync-listen"
AGENT_READY_TIMEOUT_SECONDS = 30.0
# What `python -m admin` reads (docs/operations.md); printed with this run's values.
ADMIN_SETTINGS = (STORAGE_SETTING, "RETRY_QUEUE_NAME", "LEDGER_TABLE_NAME")

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


class DiedWhileStarting(RunError):
    """A child exited before it was ready: a crash or a kill like any other, for the supervisor."""


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


_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def azurite_endpoints(connection: str | None) -> azurite.AzuriteEndpoints:
    """The Azurite a local storage setting names: the default ports for UseDevelopmentStorage=true,
    else the ports of its explicit Blob/Queue/TableEndpoint (a service not named keeps its default)."""
    ports: dict[str, int] = {}
    for part in (connection or "").split(";"):
        key, _, value = part.partition("=")
        service = key.strip().lower().removesuffix("endpoint")
        if service not in ("blob", "queue", "table") or not key.strip().lower().endswith("endpoint"):
            continue
        parsed = urllib.parse.urlsplit(value.strip())
        if parsed.hostname not in _LOCAL_HOSTS or parsed.port is None:
            raise RunError(f"{STORAGE_SETTING}: {key.strip()} {value.strip()!r} is not an Azurite on this machine "
                           f"(expected http://127.0.0.1:PORT/{azurite.ACCOUNT_NAME})")
        ports[service] = parsed.port
    return azurite.AzuriteEndpoints(
        blob_port=ports.get("blob", azurite.DEFAULT_BLOB_PORT),
        queue_port=ports.get("queue", azurite.DEFAULT_QUEUE_PORT),
        table_port=ports.get("table", azurite.DEFAULT_TABLE_PORT),
    )


def display_path(path: Path, root: Path = PROJECT_ROOT) -> str:
    """A path as a developer would type it from the repository root."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def admin_environment(environment: Mapping[str, str], names: Sequence[str] = ADMIN_SETTINGS) -> str:
    """The `export` line that gives `python -m admin` the storage this run uses (docs/operations.md), and
    with a fake Salesforce its SALESFORCE_* settings too (made up per run), which `reconcile` needs."""
    assignments = [f"{name}={shlex.quote(environment[name])}" for name in names if environment.get(name)]
    return "export " + " ".join(assignments)


# ----------------------------------------------------------------------------- the functions host


def host_command(port: int, func_executable: str | None) -> list[str]:
    """func start, or the local host."""
    if func_executable is not None:
        return [func_executable, "start", "--port", str(port)]
    return [sys.executable, "-m", "devhost", "--app-dir", ".", "--port", str(port)]


def agent_command() -> list[str]:
    return [sys.executable, "-m", "agent"]


# ----------------------------------------------------------------------------- the SAP simulator's state


def sap_state_line(state_file: Path) -> str:
    """What the SAP simulator keeps from earlier runs (read before anything starts)."""
    from sap_simulator.store import SapStateError, created_customers_in

    try:
        count = len(created_customers_in(state_file)) if state_file.exists() else 0
    except SapStateError as error:
        raise RunError(f"{error} (or point SAP_SIMULATOR_STATE_FILE elsewhere)") from None
    return (f"SAP simulator: customers kept in {display_path(state_file)} (SQLite; {count} from earlier runs; "
            "scripts/run --fresh starts empty).")


def remove_sap_state(state_file: Path) -> None:
    """The state file and SQLite's companions (write-ahead log, shared memory index)."""
    for path in (state_file, state_file.with_name(state_file.name + "-wal"),
                 state_file.with_name(state_file.name + "-shm")):
        path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- the relay topology


@dataclass(frozen=True)
class RelaySetup:
    """The hybrid connection of a local relay topology: the relay double's address, its two rules (the
    app sends, the agent listens, as on Azure) and the app's proof key for the agent; all made up per
    run, never written anywhere."""

    base_url: str
    send_rule: tuple[str, str]
    listen_rule: tuple[str, str]
    proof_key: str
    url: str = RELAY_URL

    @classmethod
    def new(cls, base_url: str) -> RelaySetup:
        import secrets

        return cls(base_url=base_url, send_rule=(RELAY_SEND_RULE, secrets.token_urlsafe(32)),
                   listen_rule=(RELAY_LISTEN_RULE, secrets.token_urlsafe(32)), proof_key=secrets.token_urlsafe(32))

    @property
    def keys(self) -> dict[str, str]:
        return dict([self.send_rule, self.listen_rule])

    def host_settings(self) -> dict[str, str]:
        """The function app on SAP_TRANSPORT=relay, sending through the double with the Send rule."""
        return {"SAP_TRANSPORT": "relay", "SAP_RELAY_URL": self.url, "SAP_RELAY_KEY_NAME": self.send_rule[0],
                "SAP_RELAY_KEY": self.send_rule[1], "SAP_RELAY_BASE_URL": self.base_url,
                "SAP_AGENT_PROOF_KEY": self.proof_key}

    def agent_settings(self) -> dict[str, str]:
        return {"AGENT_RELAY_URL": self.url, "AGENT_RELAY_KEY_NAME": self.listen_rule[0],
                "AGENT_RELAY_KEY": self.listen_rule[1],
                "AGENT_RELAY_BASE_URL": "ws://" + self.base_url.removeprefix("http://"),
                "AGENT_PROOF_KEY": self.proof_key}


def relay_environments(environment: Mapping[str, str], relay: RelaySetup,
                       state_file: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """(the host's, the agent's) environment: the SAP simulator, its faults and its state file belong
    to the agent, which talks to SAP; the host reaches it only through the relay. A user's
    SAP_TRANSPORT=rfc (with the SAP_* logon) puts the agent in front of that SAP instead."""
    own = ("SAP_SIMULATOR_", "AGENT_")
    host = {name: value for name, value in environment.items() if not name.startswith(own)}
    host.update(relay.host_settings())
    agent = {name: value for name, value in environment.items() if not name.startswith("SAP_RELAY_")}
    agent.pop("SAP_AGENT_PROOF_KEY", None)
    if (agent.get("SAP_TRANSPORT") or "").strip().lower() != "rfc":
        agent["SAP_TRANSPORT"] = "simulator"
        if state_file is not None:
            agent["SAP_SIMULATOR_STATE_FILE"] = str(state_file)
    agent.update(relay.agent_settings())
    return host, agent


@dataclass
class HostProcess:
    """The functions host as a child in its own process group, its output streamed to the console."""

    command: Sequence[str]
    environment: Mapping[str, str]
    cwd: Path
    console: IO[str] = field(default_factory=lambda: sys.stdout)
    label: str = ""  # in front of each line of its output (the agent's, next to the host's)
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
                self.console.write(self.label + line + "\n")
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
            raise DiedWhileStarting(f"the functions host exited with code {code} while starting")
        if _health_answers(url):
            return
        time.sleep(0.2)
    raise RunError(f"the functions host did not answer GET {url} with 200 within {timeout_seconds:.0f} s")


def wait_until_listening(agent: HostProcess, listening: Callable[[], bool],
                         timeout_seconds: float = AGENT_READY_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        code = agent.exit_code()
        if code is not None:
            raise DiedWhileStarting(f"the agent exited with code {code} while starting")
        if listening():
            return
        time.sleep(0.1)
    raise RunError(f"the agent did not listen on the relay double within {timeout_seconds:.0f} s")


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
    from devtools.fake_salesforce import ORGANIZATION_ID, FakeSalesforce
    from devtools.outbound_messages import account_fields_of

    fake = FakeSalesforce().start()
    seeded = []
    for payload in sample_accounts(samples_dir):
        # The account as Salesforce holds it (name, billing address, phone, sales area; Type Customer), so
        # that `admin reconcile` reads what the flow would send, as the push path's message carries it.
        fields = account_fields_of({key: str(value) for key, value in payload.items() if value is not None})
        fields = {name: value for name, value in fields.items() if name not in ("Id", "LastModifiedDate")}
        try:
            seeded.append(fake.add_account(str(payload["accountId"]), **fields))
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
        # The fake org's Id: the push path accepts outbound messages of this org (unset, it answers every
        # message 503, as for an app whose org is not configured).
        "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID,
    }
    return fake, seeded, settings


PUSH_SAMPLE = "us-account.json"  # a seeded account the create example above does not use


def fake_salesforce_help(settings: Mapping[str, str], account_id: str, port: int) -> str:
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
        f"The push path accepts the fake org's outbound messages (SALESFORCE_ORGANIZATION_ID="
        f"{settings['SALESFORCE_ORGANIZATION_ID']}); send the one Salesforce would for {SAMPLES_DIR}/{PUSH_SAMPLE} "
        "(Ack true, then the queue trigger creates it and writes the number back):",
        f"  .venv/bin/python -m devtools.outbound_messages {SAMPLES_DIR}/{PUSH_SAMPLE} | curl -s -X POST "
        f"http://localhost:{port}/api/salesforce/outbound-messages -H 'Content-Type: text/xml; charset=utf-8' "
        "-H 'SOAPAction: \"\"' --data-binary @-",
    ])


# ----------------------------------------------------------------------------- the banner


def _faults_line(environment: Mapping[str, str]) -> str | None:
    faults = (environment.get("SAP_SIMULATOR_FAULTS") or "").strip()
    if not faults or (environment.get("SAP_TRANSPORT") or "simulator").strip().lower() != "simulator":
        return None
    return (f"SAP simulator faults ACTIVE: {faults} (SAP_SIMULATOR_FAULTS): expect 202s that the queue trigger "
            "finishes later, or failures")


def ready_banner(port: int, environment: Mapping[str, str], samples_dir: Path,
                 storage_lines: Sequence[str] = (), admin_settings: Sequence[str] = ADMIN_SETTINGS) -> str:
    base_url = f"http://localhost:{port}"
    german = samples_dir / "german-account.json"
    try:
        status_id = json.loads(german.read_text(encoding="utf-8"))["accountId"]
    except (OSError, ValueError, KeyError):
        status_id = "001Dn00000AbCdEIAV"
    post = f"curl -s -X POST {base_url}/api/customers -H 'Content-Type: application/json' --data @{SAMPLES_DIR}/"
    transport = environment.get("SAP_TRANSPORT") or "simulator"
    writeback = environment.get("SALESFORCE_WRITEBACK") or "off"
    faults = _faults_line(environment)
    return "\n".join([
        "",
        f"{READY_LINE}: the functions answer on {base_url} (SAP {transport}, write-back {writeback}).",
        *([faults] if faults else []),
        *storage_lines,
        "Try it (from the repository root):",
        "  # create a customer: 201 with its SAP customerNumber; run it again: 200 with the same number",
        f"  {post}german-account.json",
        "  # an invalid account: 400 with one error per field",
        f"  {post}invalid-account.json",
        "  # what the ledger knows about the account",
        f"  curl -s {base_url}/api/customers/{status_id}",
        "Operations commands (docs/operations.md) read this run's storage with these settings; in another terminal:",
        f"  {admin_environment(environment, admin_settings)}",
        f"  .venv/bin/python -m admin status {status_id}",
        *(["  .venv/bin/python -m admin reconcile   # dry run: the fake Salesforce's customers the sync never saw"]
          if "SALESFORCE_AUTH" in admin_settings else []),
        "Ctrl-C stops everything this command started.",
        "",
    ])


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    """What this run started, so that a stop ends exactly that."""

    host: HostProcess | None = None
    agent: HostProcess | None = None
    relay_double: RelayDoubleThread | None = None
    fake_salesforce: FakeSalesforce | None = None
    azurite_pid: int | None = None

    def stop(self) -> None:
        # The host first: its requests in flight still reach the agent, which then finishes its own.
        if self.host is not None:
            self.host.stop()
        if self.agent is not None:
            self.agent.stop()
        if self.relay_double is not None:
            self.relay_double.__exit__(None, None, None)
            self.relay_double = None
        if self.fake_salesforce is not None:
            self.fake_salesforce.stop()
        # Only ever the Azurite this process started (also one a Ctrl-C caught halfway through starting).
        azurite.stop_azurite()


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/run", description=__doc__.split("\n\n")[1])
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help="HTTP port of the functions, 1-65535 (default: 7071)")
    parser.add_argument("--topology", choices=TOPOLOGIES, default="local",
                        help="local: the functions call the SAP simulator in their own process (default); "
                             "relay: the functions call SAP over a local relay double and the on-premise agent "
                             "(python -m agent), which serves the simulator")
    parser.add_argument("--salesforce", choices=["off", "fake"], default="off",
                        help="fake: write SAP numbers back to a fake Salesforce started with this command")
    parser.add_argument("--sap-faults", default=None, metavar="FAULTS",
                        help='SAP simulator fault injection, e.g. "communication_before=0.1,latency_ms=20" or "down"')
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / azurite.LOCAL_DATA_DIR_NAME, metavar="DIR",
                        help="where local storage (DIR/azurite) and the SAP simulator's customers "
                             f"(DIR/{SAP_SIMULATOR_STATE_FILE}) are kept (default: .local in the checkout)")
    parser.add_argument("--fresh", action="store_true",
                        help="start with empty storage: delete what earlier runs kept in the data dir first")
    return parser.parse_args(argv)


def _check_sap_faults(text: str) -> None:
    from sap_simulator.faults import FaultPlan, FaultSettingsError

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


def _empty_data_dir(data_dir: Path, endpoints: azurite.AzuriteEndpoints | None, state_file: Path | None) -> None:
    """--fresh: what earlier runs kept goes, unless an Azurite this run cannot stop still serves it."""
    emptied = []
    if endpoints is not None:
        if any(state != "free" for state in azurite.azurite_status(endpoints).values()):
            raise RunError(f"--fresh: something already listens on the Azurite ports "
                           f"{sorted(endpoints.ports().values())} (an Azurite not started by this run?), so its "
                           "storage cannot be emptied; stop it first (python -m devtools.azurite stop, or Ctrl-C "
                           "in the other scripts/run)")
        storage = data_dir / azurite.AZURITE_DATA_DIR_NAME
        shutil.rmtree(storage, ignore_errors=True)
        emptied.append(display_path(storage))
    if state_file is not None:
        remove_sap_state(state_file)
        emptied.append(display_path(state_file))
    say(f"==> --fresh: emptied {' and '.join(emptied)}")


@dataclass
class _Launcher:
    """Starts (and after a crash, starts again) one child, the functions host or the agent, with the same
    command and settings, and waits until it is ready."""

    run: Run
    kind: str  # "host" or "agent": the Run attribute and the word in messages
    command: list[str]
    environment: dict[str, str]
    project_root: Path
    ready: Callable[[HostProcess], None]
    pids_line: Callable[[HostProcess], str]
    label: str = ""

    @property
    def child(self) -> HostProcess | None:
        return getattr(self.run, self.kind)

    def start(self, *, restart: bool = False) -> None:
        """Starts the child and waits until it is ready. A restarted child that dies before it is ready
        raises DiedWhileStarting without a report: the supervisor counts it as one more death."""
        child = HostProcess(self.command, self.environment, self.project_root, label=self.label).start()
        setattr(self.run, self.kind, child)
        say(f"{PIDS_LINE_PREFIX} {self.pids_line(child)}")
        try:
            self.ready(child)
        except RunError as error:
            if restart and isinstance(error, DiedWhileStarting):
                raise
            child.wait_for_output(timeout=0.5)
            say(f"\nerror: the {CHILD_NAMES[self.kind]} did not come up. Last lines of its output:")
            say("\n".join(f"  | {line}" for line in child.tail))
            raise


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _supervise(launchers: Sequence[_Launcher], notes: Mapping[str, str], port: int) -> int:
    """Waits for the children; one that exits on its own is started again (Azurite and the others keep
    running), until it has done so MAX_RESTARTS times within RESTART_WINDOW_SECONDS."""
    restarts: dict[str, list[float]] = {launcher.kind: [] for launcher in launchers}
    while True:
        for launcher in launchers:
            child = launcher.child
            assert child is not None and child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            child.wait_for_output()
            child.stop()  # whatever the leader left behind in its group
            now = time.monotonic()
            recent = [at for at in restarts[launcher.kind] if now - at < RESTART_WINDOW_SECONDS]
            restarts[launcher.kind] = recent
            name = CHILD_NAMES[launcher.kind]
            if len(recent) >= MAX_RESTARTS:
                say(f"error: the {name} exited on its own ({_describe_exit(code)}), {len(recent) + 1} times "
                    f"within {RESTART_WINDOW_SECONDS:.0f} s; stopping the rest. {notes[launcher.kind]}")
                return 1
            recent.append(now)
            say(f"{RESTART_LINES[launcher.kind]}: it exited on its own ({_describe_exit(code)}). "
                f"{notes[launcher.kind]}")
            try:
                launcher.start(restart=True)
            except DiedWhileStarting:
                # Killed (or crashed) while still starting: the next round sees it dead and counts it, so
                # only the fourth death within the window ends the run, as docs/running-locally.md says.
                continue
            what = (f"the functions answer on http://localhost:{port}" if launcher.kind == "host"
                    else "the agent listens on the hybrid connection")
            say(f"{READY_LINE} again: {what} (restart {len(recent)} of at most {MAX_RESTARTS} within "
                f"{RESTART_WINDOW_SECONDS:.0f} s)")
        time.sleep(SUPERVISE_POLL_SECONDS)


def _serve(arguments: argparse.Namespace, run: Run, project_root: Path) -> int:
    if not _port_is_free(arguments.port):
        raise RunError(f"port {arguments.port} is in use (another scripts/run or func start?); "
                       "stop it or pick another with --port")
    relay_topology = arguments.topology == "relay"
    options: dict[str, str] = {}
    if arguments.sap_faults is not None:
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
    effective = {**file_values, **defaults, **os.environ, **options}
    storage = effective.get(STORAGE_SETTING)
    transport = (effective.get("SAP_TRANSPORT") or "simulator").strip().lower()
    # With the relay topology the agent talks to SAP: the simulator, unless the user set rfc.
    simulator_in_use = transport != "rfc" if relay_topology else transport == "simulator"
    if simulator_in_use and effective.get("SAP_SIMULATOR_FAULTS"):
        # One line now, rather than the host failing to import the app.
        _check_sap_faults(effective["SAP_SIMULATOR_FAULTS"])

    data_dir = arguments.data_dir.resolve()
    state_file = None
    if simulator_in_use:
        # A state file the user named wins; otherwise the data dir's, for the host's own simulator or
        # for the agent's. func start passes it on too: Core Tools v4 skip a local.settings.json value
        # whose variable is already set (StartHostAction.UpdateEnvironmentVariables, as cited in
        # Azure/azure-functions-core-tools PR 5108; not run here, no Core Tools on this machine).
        state_file = Path(effective.get("SAP_SIMULATOR_STATE_FILE") or data_dir / SAP_SIMULATOR_STATE_FILE)
        state_file = state_file.expanduser().resolve()
        options["SAP_SIMULATOR_STATE_FILE"] = str(state_file)
    storage_lines: list[str] = []
    endpoints = azurite_endpoints(storage) if uses_local_storage(storage) else None
    if arguments.fresh:
        if endpoints is None and state_file is None:
            raise RunError(f"--fresh: {STORAGE_SETTING} is not local Azurite storage and no SAP simulator runs; "
                           "this run empties nothing")
        _empty_data_dir(data_dir, endpoints, state_file)
    if endpoints is not None:
        location = data_dir / azurite.AZURITE_DATA_DIR_NAME
        say("==> Azurite (storage emulator)")
        try:
            azurite.ensure_azurite(project_root, endpoints=endpoints, location=location)
        except azurite.AzuriteError as error:
            raise RunError(str(error)) from None
        run.azurite_pid = azurite.started_azurite_pid()
        if run.azurite_pid is None:
            say("    (not started by this run, so it keeps running afterwards)")
            storage_lines.append(f"Storage: the Azurite already running on ports {sorted(endpoints.ports().values())} "
                                 "(not started by this run; its data is wherever it was told to keep it).")
        else:
            storage_lines.append(f"Storage: Azurite, kept on disk in {display_path(location)}/ "
                                 "(survives restarts; scripts/run --fresh starts empty).")
    if state_file is not None:
        storage_lines.append(sap_state_line(state_file))

    fake_account_id = None
    admin_settings: tuple[str, ...] = ADMIN_SETTINGS
    if arguments.salesforce == "fake":
        run.fake_salesforce, seeded, salesforce_settings = start_fake_salesforce(project_root / SAMPLES_DIR)
        options.update(salesforce_settings)
        admin_settings += tuple(salesforce_settings)
        fake_account_id = seeded[0] if seeded else None

    if func_executable is not None:
        # Core Tools start the Python worker with the first python on PATH: it must be this venv's.
        options["VIRTUAL_ENV"] = sys.prefix
        options["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    environment = host_environment(os.environ, defaults, options)
    launchers: list[_Launcher] = []
    notes = {"agent": "The SAP simulator's state is in its file: the restarted agent finds every customer "
                      "committed before; the app queued the creates in the gap and its queue trigger finishes them."}
    if relay_topology:
        from devtools.relay_double import RelayDoubleThread

        say("==> relay: a local relay double (Azure Relay's side of the hybrid connection)")
        relay = RelaySetup.new(base_url="")
        run.relay_double = RelayDoubleThread(relay.keys, namespace=RELAY_NAMESPACE, paths=(RELAY_PATH,))
        double = run.relay_double.__enter__()
        relay = dataclasses.replace(relay, base_url=double.base_url)
        say(f"    listening on {double.base_url} (hybrid connection {RELAY_URL}; rules {relay.send_rule[0]} "
            f"for the app, {relay.listen_rule[0]} for the agent; keys made up for this run)")
        environment, agent_environment = relay_environments(environment, relay, state_file)
        say("==> agent: python -m agent (the on-premise SAP agent"
            f"{', SAP simulator' if agent_environment['SAP_TRANSPORT'] == 'simulator' else ', SAP over rfc'})")
        faults = _faults_line(agent_environment)
        if faults:
            say(f"    {faults}")

        def agent_ready(agent: HostProcess) -> None:
            wait_until_listening(agent, lambda: double.listener_count(RELAY_PATH) > 0)

        agent_launcher = _Launcher(run, "agent", agent_command(), agent_environment, project_root, agent_ready,
                                   lambda agent: f"agent={agent.pid}", label="agent | ")
        agent_launcher.start()
        launchers.append(agent_launcher)
    command = host_command(arguments.port, func_executable)
    host_name = "func start" if func_executable else "the local host (python -m devhost; no func on PATH)"
    say(f"==> functions: {host_name} on port {arguments.port}"
        + (" (SAP_TRANSPORT=relay, through the relay double to the agent)" if relay_topology else ""))
    faults = _faults_line(environment)
    if faults:
        say(f"    {faults}")
    health_url = f"http://127.0.0.1:{arguments.port}/api/health"
    host_launcher = _Launcher(run, "host", command, environment, project_root,
                              lambda host: wait_until_healthy(host, health_url),
                              lambda host: f"host={host.pid} azurite={run.azurite_pid or 'reused'}")
    host_launcher.start()
    launchers.append(host_launcher)

    say(ready_banner(arguments.port, environment, project_root / SAMPLES_DIR, storage_lines, admin_settings))
    if fake_account_id is not None:
        say(fake_salesforce_help(options, fake_account_id, arguments.port) + "\n")

    if endpoints is None:
        notes["host"] = "Storage is not local; the restarted host's queue trigger finishes the queued retries."
    elif run.azurite_pid is not None:
        notes["host"] = (f"Azurite keeps running (pid {run.azurite_pid}, data in "
                         f"{display_path(data_dir / azurite.AZURITE_DATA_DIR_NAME)}/): accepted requests and queued "
                         "retries are kept, and the restarted host's queue trigger finishes them.")
    else:
        notes["host"] = ("The reused Azurite keeps running: accepted requests and queued retries are kept, and the "
                         "restarted host's queue trigger finishes them.")
    return _supervise(launchers, notes, arguments.port)


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
