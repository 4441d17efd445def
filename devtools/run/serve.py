"""One run, step by step: settings, storage, the fake Salesforce, the relay and agent, the host, the banner,
then supervision until a stop; main() installs the stop signals and always cleans up."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devtools import azurite
from devtools.run.banner import fake_salesforce_help, faults_line, ready_banner, start_fake_salesforce
from devtools.run.console import RunError, StopRequested, raise_stop, say
from devtools.run.environment import (
    ADMIN_SETTINGS,
    EXAMPLE_SETTINGS_FILE,
    LOCAL_SETTINGS_FILE,
    PROJECT_ROOT,
    RELAY_NAMESPACE,
    RELAY_PATH,
    RELAY_URL,
    SAMPLES_DIR,
    SAP_SIMULATOR_STATE_FILE,
    STORAGE_SETTING,
    RelaySetup,
    agent_command,
    azurite_endpoints,
    display_path,
    embedded_defaults,
    empty_data_dir,
    host_command,
    host_environment,
    read_settings_values,
    relay_environments,
    sap_state_line,
    uses_local_storage,
)
from devtools.run.options import check_sap_faults, parse_arguments, port_is_free
from devtools.run.processes import HostProcess, Launcher, Run, supervise, wait_until_healthy, wait_until_listening
from devtools.run.s4 import check_s4_arguments, start_s4_double

if TYPE_CHECKING:
    pass


# The function key in the fake org's outbound message URL: none is checked locally (see start_salesforce_if_asked).
LOCAL_FUNCTION_KEY = "local-run-no-key-checked"


@dataclass
class RunSettings:
    """What the run decided from its options, the settings files and the environment, before starting anything."""

    func_executable: str | None  # Core Tools' func, or None for the local host
    defaults: dict[str, str]  # the embedded defaults the host gets (none for func: it reads the file itself)
    options: dict[str, str]  # what this run sets on top of everything (faults, state file, fake Salesforce)
    effective: dict[str, str]  # the values the host will see
    relay_topology: bool
    data_dir: Path
    state_file: Path | None  # the SAP simulator's, when a simulator runs

    @property
    def storage(self) -> str | None:
        return self.effective.get(STORAGE_SETTING)


@dataclass
class StorageReady:
    """The local storage as this run found or started it, and the banner's lines about it."""

    endpoints: azurite.AzuriteEndpoints | None  # None: the storage is not local Azurite
    lines: list[str]


def decide_settings(arguments: argparse.Namespace, project_root: Path) -> RunSettings:
    """The port check, local.settings.json (created for func), the defaults, and the SAP simulator's state file."""
    if not port_is_free(arguments.port):
        raise RunError(
            f"port {arguments.port} is in use (another scripts/run or func start?); stop it or pick another with --port"
        )
    relay_topology = arguments.topology == "relay"
    options: dict[str, str] = {}
    s4 = getattr(arguments, "sap", None) == "s4"
    if s4:
        check_s4_arguments(arguments)
    elif arguments.sap_faults is not None:
        options["SAP_SIMULATOR_FAULTS"] = arguments.sap_faults

    func_executable = shutil.which("func")
    local_settings = project_root / LOCAL_SETTINGS_FILE
    if func_executable is not None and not local_settings.exists():
        shutil.copyfile(project_root / EXAMPLE_SETTINGS_FILE, local_settings)
        say(
            f"==> created {LOCAL_SETTINGS_FILE} from {EXAMPLE_SETTINGS_FILE} (func start reads it; "
            "put your own settings there)"
        )
    file_values = read_settings_values(local_settings) if local_settings.exists() else {}
    if func_executable is not None:
        defaults: dict[str, str] = {}  # Core Tools read local.settings.json themselves
    else:
        # The local host reads local.settings.json too (variables already set win), so a developer's own
        # file keeps priority over the embedded defaults.
        defaults = {name: value for name, value in embedded_defaults(project_root).items() if name not in file_values}
    effective = {**file_values, **defaults, **os.environ, **options}
    transport = "odata" if s4 else (effective.get("SAP_TRANSPORT") or "simulator").strip().lower()
    # With the relay topology the agent talks to SAP: the simulator, unless the user set rfc (or --sap s4: odata).
    simulator_in_use = transport not in ("rfc", "odata") if relay_topology else transport == "simulator"
    if simulator_in_use and effective.get("SAP_SIMULATOR_FAULTS"):
        # One line now, rather than the host failing to import the app.
        check_sap_faults(effective["SAP_SIMULATOR_FAULTS"])

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
    return RunSettings(func_executable, defaults, options, effective, relay_topology, data_dir, state_file)


def prepare_storage(arguments: argparse.Namespace, run: Run, project_root: Path, settings: RunSettings) -> StorageReady:
    """--fresh empties the data dir; Azurite is started (or a running one reused) when the storage is local."""
    lines: list[str] = []
    endpoints = azurite_endpoints(settings.storage) if uses_local_storage(settings.storage) else None
    if arguments.fresh:
        if endpoints is None and settings.state_file is None and getattr(arguments, "sap", None) != "s4":
            raise RunError(
                f"--fresh: {STORAGE_SETTING} is not local Azurite storage and no SAP simulator runs; "
                "this run empties nothing"
            )
        empty_data_dir(settings.data_dir, endpoints, settings.state_file)
    if endpoints is not None:
        location = settings.data_dir / azurite.AZURITE_DATA_DIR_NAME
        say("==> Azurite (storage emulator)")
        try:
            azurite.ensure_azurite(project_root, endpoints=endpoints, location=location)
        except azurite.AzuriteError as error:
            raise RunError(str(error)) from None
        run.azurite_pid = azurite.started_azurite_pid()
        if run.azurite_pid is None:
            say("    (not started by this run, so it keeps running afterwards)")
            lines.append(
                f"Storage: the Azurite already running on ports {sorted(endpoints.ports().values())} "
                "(not started by this run; its data is wherever it was told to keep it)."
            )
        else:
            lines.append(
                f"Storage: Azurite, kept on disk in {display_path(location)}/ "
                "(survives restarts; scripts/run --fresh starts empty)."
            )
    if settings.state_file is not None:
        lines.append(sap_state_line(settings.state_file))
    return StorageReady(endpoints, lines)


def start_salesforce_if_asked(
    arguments: argparse.Namespace, run: Run, project_root: Path, settings: RunSettings
) -> tuple[str | None, tuple[str, ...]]:
    """--salesforce fake: the fake in this process, its settings added; the seeded account and admin's settings."""
    admin_settings: tuple[str, ...] = ADMIN_SETTINGS
    if arguments.salesforce != "fake":
        return None, admin_settings
    run.fake_salesforce, seeded, salesforce_settings = start_fake_salesforce(project_root / SAMPLES_DIR)
    # The fake org's outbound message (the push path's) points at this run's functions, as `sf project deploy`
    # leaves it with SAP_SYNC_PUSH_URL set, so the go-live check's push checks pass against the run. Its `code`
    # is a placeholder of the deployed URL's shape: local hosts enforce no function key (devhost/__init__.py, as
    # func start), and the check refuses a URL without one (in Azure the function would answer 401).
    run.fake_salesforce.setup.deploy_outbound_message(
        endpointUrl=f"http://localhost:{arguments.port}/api/salesforce/outbound-messages?code={LOCAL_FUNCTION_KEY}"
    )
    settings.options.update(salesforce_settings)
    return (seeded[0] if seeded else None), admin_settings + tuple(salesforce_settings)


def functions_environment(settings: RunSettings) -> dict[str, str]:
    """The host's environment: this process's, over the defaults, under the run's options."""
    if settings.func_executable is not None:
        # Core Tools start the Python worker with the first python on PATH: it must be this venv's.
        settings.options["VIRTUAL_ENV"] = sys.prefix
        settings.options["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return host_environment(os.environ, settings.defaults, settings.options)


def start_relay_and_agent(
    run: Run, project_root: Path, environment: dict[str, str], state_file: Path | None
) -> tuple[dict[str, str], Launcher]:
    """--topology relay: the relay double in this process, then the agent; the host's environment to use."""
    from devtools.relay_double import RelayDoubleThread

    say("==> relay: a local relay double (Azure Relay's side of the hybrid connection)")
    relay = RelaySetup.new(base_url="")
    run.relay_double = RelayDoubleThread(relay.keys, namespace=RELAY_NAMESPACE, paths=(RELAY_PATH,))
    double = run.relay_double.__enter__()
    relay = dataclasses.replace(relay, base_url=double.base_url)
    say(
        f"    listening on {double.base_url} (hybrid connection {RELAY_URL}; rules {relay.send_rule[0]} "
        f"for the app, {relay.listen_rule[0]} for the agent; keys made up for this run)"
    )
    environment, agent_environment = relay_environments(environment, relay, state_file)
    back_end = {"simulator": ", SAP simulator", "odata": ", the S/4 double over odata"}
    say(
        "==> agent: python -m agent (the on-premise SAP agent"
        f"{back_end.get(agent_environment['SAP_TRANSPORT'], ', SAP over rfc')})"
    )
    faults = faults_line(agent_environment)
    if faults:
        say(f"    {faults}")

    def agent_ready(agent: HostProcess) -> None:
        wait_until_listening(agent, lambda: double.listener_count(RELAY_PATH) > 0)

    agent_launcher = Launcher(
        run,
        "agent",
        agent_command(),
        agent_environment,
        project_root,
        agent_ready,
        lambda agent: f"agent={agent.pid}",
        label="agent | ",
    )
    agent_launcher.start()
    return environment, agent_launcher


def start_host(port: int, run: Run, project_root: Path, environment: dict[str, str], settings: RunSettings) -> Launcher:
    """The functions host (func start, or the local host), started and healthy."""
    command = host_command(port, settings.func_executable)
    host_name = "func start" if settings.func_executable else "the local host (python -m devhost; no func on PATH)"
    say(
        f"==> functions: {host_name} on port {port}"
        + (" (SAP_TRANSPORT=relay, through the relay double to the agent)" if settings.relay_topology else "")
    )
    faults = faults_line(environment)
    if faults:
        say(f"    {faults}")
    health_url = f"http://127.0.0.1:{port}/api/health"
    host_launcher = Launcher(
        run,
        "host",
        command,
        environment,
        project_root,
        lambda host: wait_until_healthy(host, health_url),
        lambda host: f"host={host.pid} azurite={run.azurite_pid or 'reused'}",
    )
    host_launcher.start()
    return host_launcher


def restart_notes(run: Run, storage: StorageReady, data_dir: Path) -> dict[str, str]:
    """What the supervisor says about the data when it starts a child again."""
    notes = {
        "agent": "The SAP simulator's state is in its file: the restarted agent finds every customer "
        "committed before; the app queued the creates in the gap and its queue trigger finishes them."
    }
    if storage.endpoints is None:
        notes["host"] = "Storage is not local; the restarted host's queue trigger finishes the queued retries."
    elif run.azurite_pid is not None:
        notes["host"] = (
            f"Azurite keeps running (pid {run.azurite_pid}, data in "
            f"{display_path(data_dir / azurite.AZURITE_DATA_DIR_NAME)}/): accepted requests and queued "
            "retries are kept, and the restarted host's queue trigger finishes them."
        )
    else:
        notes["host"] = (
            "The reused Azurite keeps running: accepted requests and queued retries are kept, and the "
            "restarted host's queue trigger finishes them."
        )
    return notes


def serve(arguments: argparse.Namespace, run: Run, project_root: Path) -> int:
    """One run: each step in order, then supervision until a stop or a child that keeps dying."""
    settings = decide_settings(arguments, project_root)
    storage = prepare_storage(arguments, run, project_root, settings)
    fake_account_id, admin_settings = start_salesforce_if_asked(arguments, run, project_root, settings)
    if getattr(arguments, "sap", None) == "s4":
        s4_settings, s4_lines = start_s4_double(arguments, run, settings.data_dir, settings.effective)
        settings.options.update(s4_settings)
        storage.lines.extend(s4_lines)
    environment = functions_environment(settings)
    launchers: list[Launcher] = []
    if settings.relay_topology:
        environment, agent_launcher = start_relay_and_agent(run, project_root, environment, settings.state_file)
        launchers.append(agent_launcher)
    launchers.append(start_host(arguments.port, run, project_root, environment, settings))

    say(ready_banner(arguments.port, environment, project_root / SAMPLES_DIR, storage.lines, admin_settings))
    if fake_account_id is not None:
        say(fake_salesforce_help(settings.options, fake_account_id, arguments.port) + "\n")
    return supervise(launchers, restart_notes(run, storage, settings.data_dir), arguments.port)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    # devtools.azurite reports its npm install and start through logging; nothing else needs to.
    logging.basicConfig(level=logging.WARNING, format="    %(message)s", stream=sys.stdout)
    logging.getLogger(azurite.__name__).setLevel(logging.INFO)
    project_root = PROJECT_ROOT
    os.chdir(project_root)  # the printed commands use paths relative to the repository root
    run = Run()
    # SIGHUP: the terminal was closed; the children run in sessions of their own and would outlive it.
    stop_signals = [
        signal.SIGINT,
        signal.SIGTERM,
        *(getattr(signal, name) for name in ("SIGHUP", "SIGQUIT") if hasattr(signal, name)),
    ]
    previous = {number: signal.signal(number, raise_stop) for number in stop_signals}
    try:
        return serve(arguments, run, project_root)
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
