"""`scripts/run`'s pieces that start nothing: its settings and their defaults, the host command, where
Azurite runs, the line for the operations commands, .funcignore, and the SAP simulator's journal (the
command itself runs in tests/integration/test_run_command.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from devtools import azurite
from devtools.run import (
    SAP_SIMULATOR_STATE_FILE,
    admin_environment,
    azurite_endpoints,
    embedded_defaults,
    host_command,
    host_environment,
    journaled_simulator,
    uses_local_storage,
)
from shared.sap import simulator

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


def test_the_admin_settings_line_names_this_runs_storage_table_and_queue():
    defaults = embedded_defaults()
    assert admin_environment(defaults) == ("export AzureWebJobsStorage=UseDevelopmentStorage=true "
                                           "RETRY_QUEUE_NAME=sap-customer-retry LEDGER_TABLE_NAME=sapcustomerledger")
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


# ----------------------------------------------------------------------------- the simulator's journal


def test_the_simulator_journal_keeps_customers_and_never_reuses_a_number(tmp_path):
    journal = tmp_path / SAP_SIMULATOR_STATE_FILE
    first = journaled_simulator(journal)
    with simulator.use_system(first), simulator.Connection() as connection:
        created = connection.call(
            "BAPI_CUSTOMER_CREATEFROMDATA1",
            PI_COPYREFERENCE={"SALESORG": "1000", "DISTR_CHAN": "10", "DIVISION": "00", "REF_CUSTMR": "0000001000"},
            PI_COMPANYDATA={"NAME": "Journal GmbH", "CITY": "München", "POSTL_COD1": "80331", "STREET": "Weg 1",
                            "COUNTRY": "DE", "REGION": "09", "LANGU": "D"},
        )
        number = created["CUSTOMERNO"]
        assert number, created
        connection.call("BAPI_TRANSACTION_COMMIT", WAIT="X")
    journal.write_text(journal.read_text(encoding="utf-8") + '{"customer": {"numb', encoding="utf-8")  # torn line

    second = journaled_simulator(journal)
    assert second.restored_customers == 1
    assert second.customer(number) is not None
    assert second.customer("0000001000") is not None  # the reference customers are still there
    assert int(second.draw_customer_number("0001")) > int(number)
