"""`scripts/run`'s pieces that start nothing: its settings and their defaults, the host command, where
Azurite runs, the line for the operations commands, .funcignore, the relay topology's settings (the
command itself runs in tests/integration/test_run_command.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from devtools import azurite
from devtools.run import (
    RelaySetup,
    admin_environment,
    azurite_endpoints,
    embedded_defaults,
    host_command,
    host_environment,
    relay_environments,
    uses_local_storage,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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


def test_the_azurite_a_run_starts_is_on_the_ports_its_storage_setting_names():
    assert azurite_endpoints("UseDevelopmentStorage=true") == azurite.AzuriteEndpoints()
    assert azurite_endpoints(None) == azurite.AzuriteEndpoints()
    own = azurite.AzuriteEndpoints(blob_port=21000, queue_port=21001, table_port=21002)
    assert azurite_endpoints(own.connection_string) == own
    only_queue = "AccountName=devstoreaccount1;QueueEndpoint=http://localhost:21001/devstoreaccount1"
    assert azurite_endpoints(only_queue) == azurite.AzuriteEndpoints(queue_port=21001)


def test_the_admin_settings_line_names_this_runs_storage_table_and_queue():
    defaults = embedded_defaults()
    assert admin_environment(defaults) == (
        "export AzureWebJobsStorage=UseDevelopmentStorage=true "
        "RETRY_QUEUE_NAME=sap-customer-retry LEDGER_TABLE_NAME=sapcustomerledger"
    )
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert admin_environment(defaults) in readme, "the README shows the line a default run prints"
    explicit = admin_environment({**defaults, "AzureWebJobsStorage": "A=1;B=2;"})
    assert explicit.startswith("export AzureWebJobsStorage='A=1;B=2;' ")


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
    local_data = [
        ".local/azurite/__azurite_db_queue__.json",
        ".local/azurite/__queuestorage__/x",
        ".local/sap-simulator.sqlite3",
        ".local/sap-simulator.sqlite3-wal",
    ]
    assert [path for path in local_data if _published(path, ignore)] == []


def test_funcignore_publishes_the_app_and_nothing_for_development():
    ignore = _core_tools_ignore((PROJECT_ROOT / ".funcignore").read_text(encoding="utf-8"))
    app_files = ["function_app.py", "host.json", "requirements.txt"] + [
        path.relative_to(PROJECT_ROOT).as_posix()
        for folder in ("functions", "shared")
        for path in sorted((PROJECT_ROOT / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".md")
    ]
    assert "shared/core/reference/sap_regions.json" in app_files
    assert [path for path in app_files if not _published(path, ignore)] == []

    development_files = [
        ".venv/bin/python",
        ".tools/node_modules/.bin/azurite",
        ".git/HEAD",
        ".gitignore",
        ".ci/run",
        "tests/unit/test_mapping.py",
        "bench/bench_mapping.py",
        "devhost/host.py",
        "devtools/run/serve.py",
        "samples/german-account.json",
        "scripts/run",
        "local.settings.json",
        "local.settings.example.json",
        "functions/__pycache__/customers.cpython-311.pyc",
        "shared/sap/__pycache__/rfc.cpython-312.pyc",
        "README.md",
        "devhost/README.md",
        "pyproject.toml",
        "requirements-dev.txt",
        ".pytest_cache/README.md",
    ]
    assert [path for path in development_files if _published(path, ignore)] == []


# ----------------------------------------------------------------------------- the relay topology


def test_the_relay_topology_gives_the_host_the_send_rule_and_the_agent_the_listen_rule_and_sap():
    relay = RelaySetup.new("http://127.0.0.1:9352")
    environment = {
        "SAP_TRANSPORT": "simulator",
        "SAP_SIMULATOR_FAULTS": "down",
        "SAP_TIMEOUT_SECONDS": "3",
        "LEDGER_TABLE_NAME": "ledger",
    }

    host, agent = relay_environments(environment, relay, Path("/data/sap.sqlite3"))

    assert (host["SAP_TRANSPORT"], host["SAP_RELAY_BASE_URL"]) == ("relay", "http://127.0.0.1:9352")
    assert (host["SAP_RELAY_KEY_NAME"], host["SAP_RELAY_KEY"]) == relay.send_rule
    assert not any(name.startswith(("SAP_SIMULATOR_", "AGENT_")) for name in host), "SAP is the agent's"
    assert (agent["SAP_TRANSPORT"], agent["SAP_SIMULATOR_FAULTS"]) == ("simulator", "down")
    assert agent["SAP_SIMULATOR_STATE_FILE"] == "/data/sap.sqlite3"
    assert (agent["AGENT_RELAY_KEY_NAME"], agent["AGENT_RELAY_KEY"]) == relay.listen_rule
    assert agent["AGENT_RELAY_BASE_URL"] == "ws://127.0.0.1:9352"
    assert not any(name.startswith("SAP_RELAY_") for name in agent) and "SAP_AGENT_PROOF_KEY" not in agent
    assert agent["AGENT_PROOF_KEY"] == host["SAP_AGENT_PROOF_KEY"] == relay.proof_key and len(relay.proof_key) >= 32
    assert host["SAP_TIMEOUT_SECONDS"] == agent["SAP_TIMEOUT_SECONDS"] == "3", "one bound on a unit, both sides"
    assert relay.send_rule[1] != relay.listen_rule[1] != RelaySetup.new("").listen_rule[1], "made up per run"


def test_the_relay_topology_puts_an_agent_in_front_of_a_real_sap_when_the_user_set_rfc():
    _, agent = relay_environments(
        {"SAP_TRANSPORT": "rfc", "SAP_ASHOST": "sap.example"}, RelaySetup.new("http://127.0.0.1:1"), None
    )
    assert (agent["SAP_TRANSPORT"], agent["SAP_ASHOST"]) == ("rfc", "sap.example")
    assert "SAP_SIMULATOR_STATE_FILE" not in agent
