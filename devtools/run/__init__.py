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
The package, by responsibility: options.py (the command line), environment.py (settings, storage, the
relay topology's environments), processes.py (the host and agent children and their supervisor),
banner.py (what is printed once ready), serve.py (one run as named steps, and main), console.py.
"""

from __future__ import annotations

from devtools.run.banner import (
    PUSH_SAMPLE,
    fake_salesforce_help,
    faults_line,
    ready_banner,
    sample_accounts,
    start_fake_salesforce,
)
from devtools.run.console import (
    DiedWhileStarting,
    RunError,
    StopRequested,
    say,
)
from devtools.run.environment import (
    ADMIN_SETTINGS,
    EXAMPLE_SETTINGS_FILE,
    LOCAL_SETTINGS_FILE,
    PROJECT_ROOT,
    RELAY_LISTEN_RULE,
    RELAY_NAMESPACE,
    RELAY_PATH,
    RELAY_SEND_RULE,
    RELAY_URL,
    SAMPLES_DIR,
    SAP_SIMULATOR_STATE_FILE,
    STORAGE_SETTING,
    RelaySetup,
    admin_environment,
    agent_command,
    azurite_endpoints,
    display_path,
    embedded_defaults,
    host_command,
    host_environment,
    read_settings_values,
    relay_environments,
    remove_sap_state,
    sap_state_line,
    uses_local_storage,
)
from devtools.run.options import (
    DEFAULT_PORT,
    TOPOLOGIES,
    parse_arguments,
)
from devtools.run.processes import (
    AGENT_READY_TIMEOUT_SECONDS,
    AGENT_RESTART_LINE,
    HEALTH_TIMEOUT_SECONDS,
    MAX_RESTARTS,
    PIDS_LINE_PREFIX,
    READY_LINE,
    RESTART_LINE,
    RESTART_WINDOW_SECONDS,
    HostProcess,
    Launcher,
    Run,
    supervise,
    wait_until_healthy,
    wait_until_listening,
)
from devtools.run.serve import (
    main,
)

__all__ = [
    "ADMIN_SETTINGS",
    "AGENT_READY_TIMEOUT_SECONDS",
    "AGENT_RESTART_LINE",
    "DEFAULT_PORT",
    "EXAMPLE_SETTINGS_FILE",
    "HEALTH_TIMEOUT_SECONDS",
    "LOCAL_SETTINGS_FILE",
    "MAX_RESTARTS",
    "PIDS_LINE_PREFIX",
    "PROJECT_ROOT",
    "PUSH_SAMPLE",
    "READY_LINE",
    "RELAY_LISTEN_RULE",
    "RELAY_NAMESPACE",
    "RELAY_PATH",
    "RELAY_SEND_RULE",
    "RELAY_URL",
    "RESTART_LINE",
    "RESTART_WINDOW_SECONDS",
    "SAMPLES_DIR",
    "SAP_SIMULATOR_STATE_FILE",
    "STORAGE_SETTING",
    "TOPOLOGIES",
    "DiedWhileStarting",
    "HostProcess",
    "Launcher",
    "RelaySetup",
    "Run",
    "RunError",
    "StopRequested",
    "admin_environment",
    "agent_command",
    "azurite_endpoints",
    "display_path",
    "embedded_defaults",
    "fake_salesforce_help",
    "faults_line",
    "host_command",
    "host_environment",
    "main",
    "parse_arguments",
    "read_settings_values",
    "ready_banner",
    "relay_environments",
    "remove_sap_state",
    "sample_accounts",
    "sap_state_line",
    "say",
    "start_fake_salesforce",
    "supervise",
    "uses_local_storage",
    "wait_until_healthy",
    "wait_until_listening",
]
