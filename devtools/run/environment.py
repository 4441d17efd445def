"""The run's settings: the embedded defaults, local.settings.json, the host's and the agent's environments,
the local storage and the SAP simulator's state file, and the relay topology's made-up rules and keys."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devtools import azurite
from devtools.run.console import RunError, say

if TYPE_CHECKING:
    pass


PROJECT_ROOT = Path(__file__).resolve().parents[2]


EXAMPLE_SETTINGS_FILE = "local.settings.example.json"


LOCAL_SETTINGS_FILE = "local.settings.json"


STORAGE_SETTING = "AzureWebJobsStorage"


SAMPLES_DIR = "samples"


# The SAP simulator's database (sap_simulator/store.py), in the data dir unless
# SAP_SIMULATOR_STATE_FILE names another file.
SAP_SIMULATOR_STATE_FILE = "sap-simulator.sqlite3"


# --topology relay: the hybrid connection as the relay double plays it (tokens name this namespace).
RELAY_NAMESPACE = "relay-double.servicebus.windows.net"


RELAY_PATH = "sap"


RELAY_URL = f"https://{RELAY_NAMESPACE}/{RELAY_PATH}"


RELAY_SEND_RULE, RELAY_LISTEN_RULE = "sap-sync-send", "sap-sync-listen"


# What `python -m admin` reads (docs/operations.md); printed with this run's values.
ADMIN_SETTINGS = (STORAGE_SETTING, "RETRY_QUEUE_NAME", "LEDGER_TABLE_NAME")


# What `python -m admin preflight` needs beyond ADMIN_SETTINGS to reach this run's SAP the way the functions do
# (docs/operations.md, Go-live check): SAP_TRANSPORT and, of the rest, those the run's topology and back end set
# (the simulator's state file; the relay double's rule, key and the proof key; the S/4 double's logon), all made
# up for the run, never a real secret. Printed on a line of its own (banner.py): the operations line above stays
# what the README shows for a run on the defaults, and this one is only for the rehearsal.
PREFLIGHT_SAP_SETTINGS = (
    "SAP_TRANSPORT",
    "SAP_SIMULATOR_STATE_FILE",
    "SAP_RELAY_URL",
    "SAP_RELAY_KEY_NAME",
    "SAP_RELAY_KEY",
    "SAP_RELAY_BASE_URL",
    "SAP_AGENT_PROOF_KEY",
    "SAP_ODATA_URL",
    "SAP_ODATA_AUTH",
    "SAP_ODATA_USER",
    "SAP_ODATA_PASSWORD",
    "SAP_BP_GROUPING",
)


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
        raise RunError(f'{path}: "Values" must be an object')
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
            raise RunError(
                f"{STORAGE_SETTING}: {key.strip()} {value.strip()!r} is not an Azurite on this machine "
                f"(expected http://127.0.0.1:PORT/{azurite.ACCOUNT_NAME})"
            )
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


def host_command(port: int, func_executable: str | None) -> list[str]:
    """func start, or the local host."""
    if func_executable is not None:
        return [func_executable, "start", "--port", str(port)]
    return [sys.executable, "-m", "devhost", "--app-dir", ".", "--port", str(port)]


def agent_command() -> list[str]:
    return [sys.executable, "-m", "agent"]


def sap_state_line(state_file: Path) -> str:
    """What the SAP simulator keeps from earlier runs (read before anything starts)."""
    from sap_simulator.store import SapStateError, created_customers_in

    try:
        count = len(created_customers_in(state_file)) if state_file.exists() else 0
    except SapStateError as error:
        raise RunError(f"{error} (or point SAP_SIMULATOR_STATE_FILE elsewhere)") from None
    return (
        f"SAP simulator: customers kept in {display_path(state_file)} (SQLite; {count} from earlier runs; "
        "scripts/run --fresh starts empty)."
    )


def remove_sap_state(state_file: Path) -> None:
    """The state file and SQLite's companions (write-ahead log, shared memory index)."""
    for path in (
        state_file,
        state_file.with_name(state_file.name + "-wal"),
        state_file.with_name(state_file.name + "-shm"),
    ):
        path.unlink(missing_ok=True)


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

        return cls(
            base_url=base_url,
            send_rule=(RELAY_SEND_RULE, secrets.token_urlsafe(32)),
            listen_rule=(RELAY_LISTEN_RULE, secrets.token_urlsafe(32)),
            proof_key=secrets.token_urlsafe(32),
        )

    @property
    def keys(self) -> dict[str, str]:
        return dict([self.send_rule, self.listen_rule])

    def host_settings(self) -> dict[str, str]:
        """The function app on SAP_TRANSPORT=relay, sending through the double with the Send rule."""
        return {
            "SAP_TRANSPORT": "relay",
            "SAP_RELAY_URL": self.url,
            "SAP_RELAY_KEY_NAME": self.send_rule[0],
            "SAP_RELAY_KEY": self.send_rule[1],
            "SAP_RELAY_BASE_URL": self.base_url,
            "SAP_AGENT_PROOF_KEY": self.proof_key,
        }

    def agent_settings(self) -> dict[str, str]:
        return {
            "AGENT_RELAY_URL": self.url,
            "AGENT_RELAY_KEY_NAME": self.listen_rule[0],
            "AGENT_RELAY_KEY": self.listen_rule[1],
            "AGENT_RELAY_BASE_URL": "ws://" + self.base_url.removeprefix("http://"),
            "AGENT_PROOF_KEY": self.proof_key,
        }


def relay_environments(
    environment: Mapping[str, str], relay: RelaySetup, state_file: Path | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(the host's, the agent's) environment: the SAP simulator, its faults and its state file belong
    to the agent, which talks to SAP; the host reaches it only through the relay. A user's
    SAP_TRANSPORT=rfc (with the SAP_* logon) puts the agent in front of that SAP instead, and --sap s4
    (SAP_TRANSPORT=odata with the SAP_ODATA_* logon) in front of the S/4 double: S/4HANA on premise behind
    the relay. The communication user's logon stays with the agent, as SAP's credentials do in production."""
    own = ("SAP_SIMULATOR_", "AGENT_", "SAP_ODATA_", "SAP_BP_GROUPING")
    host = {name: value for name, value in environment.items() if not name.startswith(own)}
    host.update(relay.host_settings())
    agent = {name: value for name, value in environment.items() if not name.startswith("SAP_RELAY_")}
    agent.pop("SAP_AGENT_PROOF_KEY", None)
    if (agent.get("SAP_TRANSPORT") or "").strip().lower() not in ("rfc", "odata"):
        agent["SAP_TRANSPORT"] = "simulator"
        if state_file is not None:
            agent["SAP_SIMULATOR_STATE_FILE"] = str(state_file)
    agent.update(relay.agent_settings())
    return host, agent


def empty_data_dir(data_dir: Path, endpoints: azurite.AzuriteEndpoints | None, state_file: Path | None) -> None:
    """--fresh: what earlier runs kept goes, unless an Azurite this run cannot stop still serves it."""
    emptied = []
    if endpoints is not None:
        if any(state != "free" for state in azurite.azurite_status(endpoints).values()):
            raise RunError(
                f"--fresh: something already listens on the Azurite ports "
                f"{sorted(endpoints.ports().values())} (an Azurite not started by this run?), so its "
                "storage cannot be emptied; stop it first (python -m devtools.azurite stop, or Ctrl-C "
                "in the other scripts/run)"
            )
        storage = data_dir / azurite.AZURITE_DATA_DIR_NAME
        shutil.rmtree(storage, ignore_errors=True)
        emptied.append(display_path(storage))
    if state_file is not None:
        remove_sap_state(state_file)
        emptied.append(display_path(state_file))
    say(f"==> --fresh: emptied {' and '.join(emptied)}")
