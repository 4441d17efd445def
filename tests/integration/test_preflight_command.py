"""`python -m admin preflight` through the command's main(argv): its text and JSON output and exit codes over
fake areas; and the settings, storage and telemetry areas for real, on the app's own start check and Azurite,
each broken alone (storage down, a poison message, settings that do not load, a malformed connection string)
failing only its area with its fix, and nothing written to storage."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

import admin.preflight
from admin import ExitCode
from admin.__main__ import main
from devtools.azurite import AzuriteEndpoints
from shared import bootstrap
from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.core.retry_message import RetryKind, RetryMessage
from shared.settings import DECLARATIONS
from tests.support.network import free_ports

# ------------------------------------------------------------------ over fake areas


def fake_wiring(outcomes: dict[Area, list[CheckResult]], settings_load: bool = True) -> admin.preflight.Wiring:
    def settings_area():
        if not settings_load:
            return None, [
                failed(Area.SETTINGS, "start", "the app's start check", "SAP_TRANSPORT: required", "set SAP_TRANSPORT")
            ]
        return object(), outcomes.get(Area.SETTINGS, [passed(Area.SETTINGS, "start", "the app's start check", "ok")])

    def area_check(area: Area):
        return lambda config: outcomes.get(area, [passed(area, "probe", f"{area.value} answers", "it answered")])

    return admin.preflight.Wiring(settings_area, {area: area_check(area) for area in Area if area is not Area.SETTINGS})


@pytest.fixture
def wire(monkeypatch):
    def install(outcomes: dict[Area, list[CheckResult]], settings_load: bool = True) -> None:
        monkeypatch.setattr(
            admin.preflight, "default_wiring", lambda app_url=None: fake_wiring(outcomes, settings_load)
        )

    return install


def test_all_passing_prints_one_line_per_check_and_exits_0(wire, capsys):
    wire(
        {
            Area.TELEMETRY: [
                skipped(
                    Area.TELEMETRY,
                    "connection_string",
                    "the connection string parses",
                    "not configured: telemetry is off",
                )
            ]
        }
    )
    assert main(["preflight"]) == ExitCode.DONE
    out = capsys.readouterr().out
    assert "  ✔ storage answers: it answered" in out
    assert "  \u2013 the connection string parses: not configured: telemetry is off" in out
    assert out.rstrip().endswith("6 checks: 5 passed, 0 failed, 1 skipped; no check failed (exit code 0).")
    assert "fix:" not in out


def test_a_failure_prints_its_fix_below_it_and_exits_with_its_areas_code(wire, capsys):
    wire(
        {
            Area.SAP: [
                failed(
                    Area.SAP,
                    "find_no_match",
                    "FIND says nothing found as configured",
                    "RETURN E F2 173",
                    "set SAP_FIND_NO_MATCH_MESSAGE=F2 173",
                )
            ]
        }
    )
    assert main(["preflight"]) == ExitCode.SAP_FAILED
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("  ✗ FIND says nothing found as configured: RETURN E F2 173")
    assert lines[at + 1] == "      fix: set SAP_FIND_NO_MATCH_MESSAGE=F2 173"
    assert lines[-1].endswith("failed: sap (exit code 7, the first failed area's).")


def test_several_failed_areas_exit_with_the_first_in_run_order_and_json_lists_all(wire, capsys):
    wire(
        {
            Area.TELEMETRY: [failed(Area.TELEMETRY, "connection_string", "parses", "an empty pair", "copy it")],
            Area.RELAY: [failed(Area.RELAY, "token", "the relay accepts the token", "401", "check the rule")],
        }
    )
    assert main(["preflight", "--json"]) == ExitCode.RELAY_FAILED
    body = json.loads(capsys.readouterr().out)
    assert body["passed"] is False and body["failedAreas"] == ["relay", "telemetry"]
    sap = [check for check in body["checks"] if check["area"] == "sap"]
    assert [(c["verdict"], c["found"].split(" (")[0]) for c in sap] == [("skipped", "not reached: the relay failed")]
    assert set(body["checks"][0]) == {"area", "check", "title", "verdict", "found", "fix"}


def test_json_of_a_passing_run(wire, capsys):
    wire({})
    assert main(["preflight", "--json"]) == ExitCode.DONE
    body = json.loads(capsys.readouterr().out)
    assert body["passed"] is True and body["failedAreas"] == []
    assert [check["area"] for check in body["checks"]] == [area.value for area in Area]


def test_settings_that_cannot_load_exit_2_and_nothing_else_is_reached(wire, capsys):
    wire({}, settings_load=False)
    assert main(["preflight", "--json"]) == ExitCode.USAGE
    body = json.loads(capsys.readouterr().out)
    assert body["failedAreas"] == ["settings"]
    assert all(c["verdict"] == "skipped" and c["found"].startswith("not reached: settings") for c in body["checks"][1:])


@pytest.mark.parametrize("only", [["--only", "storage,salesforce"], ["--only", "storage", "--only", "SALESFORCE"]])
def test_only_runs_the_named_areas(wire, capsys, only):
    wire({Area.SAP: [failed(Area.SAP, "logon", "logon", "refused", "fix it")]})
    assert main(["preflight", "--json", *only]) == ExitCode.DONE  # SAP failing is not asked for
    assert [c["area"] for c in json.loads(capsys.readouterr().out)["checks"]] == ["storage", "salesforce"]


def test_an_unknown_area_is_a_usage_error_naming_the_areas(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["preflight", "--only", "sap,ledger"])
    assert exited.value.code == ExitCode.USAGE
    assert "is not one of settings, storage, relay, sap, salesforce, telemetry" in capsys.readouterr().err


def test_preflight_has_help_with_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["preflight", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m admin preflight") and "7  preflight: an SAP check failed" in out


def test_an_ascii_terminal_gets_plain_marks(wire, capsys, monkeypatch):
    wire({Area.STORAGE: [failed(Area.STORAGE, "ledger_table", "the ledger answers", "refused", "start Azurite")]})
    monkeypatch.setattr(admin.preflight, "_marks", lambda stream: admin.preflight._ASCII_MARKS)
    main(["preflight"])
    assert "  x the ledger answers: refused" in capsys.readouterr().out


# ------------------------------------------------------------------ settings, storage and telemetry for real

REAL_AREAS = "settings,storage,telemetry"
KEY = "0b7a8b5e-3c1d-4f2a-9e6b-5d4c3b2a1f00"


@pytest.fixture
def app_settings(monkeypatch, azurite: AzuriteEndpoints) -> dict[str, str]:
    """The app's settings as an operator exports them: the simulator, Azurite, telemetry on; nothing else
    of this machine's environment."""
    for setting in DECLARATIONS:
        monkeypatch.delenv(setting.name, raising=False)
    for name in ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID", "APPINSIGHTS_INSTRUMENTATIONKEY"):
        monkeypatch.delenv(name, raising=False)
    suffix = uuid.uuid4().hex[:10]
    values = {
        "SAP_TRANSPORT": "simulator",
        "AzureWebJobsStorage": azurite.connection_string,
        "RETRY_QUEUE_NAME": f"preflight-{suffix}",
        "LEDGER_TABLE_NAME": f"preflight{suffix}",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": f"InstrumentationKey={KEY};"
        "IngestionEndpoint=https://westeurope-5.in.applicationinsights."
        "azure.com/",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    yield values
    bootstrap.reset()


def run_json(capsys, *arguments: str) -> tuple[int, dict]:
    code = main(["preflight", "--json", "--only", REAL_AREAS, *arguments])
    return code, json.loads(capsys.readouterr().out)


def checks_of(body: dict, verdict: str) -> list[tuple[str, str]]:
    return [(c["area"], c["check"]) for c in body["checks"] if c["verdict"] == verdict]


@pytest.mark.azurite
def test_settings_storage_and_telemetry_pass_against_azurite_and_nothing_is_written(app_settings, azurite, capsys):
    code, body = run_json(capsys)
    assert code == ExitCode.DONE, body
    assert checks_of(body, "failed") == []
    assert {
        ("storage", "ledger_table"),
        ("storage", "retry_queue"),
        ("storage", "poison_queue"),
        ("telemetry", "connection_string"),
        ("telemetry", "exporter"),
        ("settings", "start"),
    } <= set(checks_of(body, "passed"))
    # Read-only: the table and the queues it asked for were not created.
    with pytest.raises(ResourceNotFoundError):
        TableServiceClient.from_connection_string(azurite.connection_string).get_table_client(
            app_settings["LEDGER_TABLE_NAME"]
        ).get_table_access_policy()
    queues = {q.name for q in QueueServiceClient.from_connection_string(azurite.connection_string).list_queues()}
    assert not {app_settings["RETRY_QUEUE_NAME"], app_settings["RETRY_QUEUE_NAME"] + "-poison"} & queues


@pytest.mark.azurite
def test_storage_down_fails_only_storage_with_the_fix(app_settings, azurite, monkeypatch, capsys):
    table, queue = free_ports(2)  # nothing listens there: Azurite stopped, or the wrong port configured
    down = dataclasses.replace(azurite, queue_port=queue, table_port=table)
    monkeypatch.setenv("AzureWebJobsStorage", down.connection_string)
    code, body = run_json(capsys)
    assert code == ExitCode.STORAGE_UNREACHABLE
    assert body["failedAreas"] == ["storage"]
    failures = {c["check"]: c for c in body["checks"] if c["verdict"] == "failed"}
    assert set(failures) == {"ledger_table", "retry_queue"}
    assert "connection refused" in failures["ledger_table"]["found"]
    assert "Azurite runs on the ports" in failures["ledger_table"]["fix"]
    assert ("telemetry", "connection_string") in checks_of(body, "passed")


@pytest.mark.azurite
def test_a_parked_message_fails_the_poison_check(app_settings, azurite, capsys):
    poison = QueueServiceClient.from_connection_string(azurite.connection_string).get_queue_client(
        app_settings["RETRY_QUEUE_NAME"] + "-poison"
    )
    poison.create_queue()
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id="001Dn00000AbCdEIAV",
        tracking_id="t-1",
        payload={},
        attempt=5,
        first_seen_at="2026-12-01T08:00:00+00:00",
    )
    poison.send_message(message.to_json())
    code, body = run_json(capsys)
    assert code == ExitCode.STORAGE_UNREACHABLE
    assert checks_of(body, "failed") == [("storage", "poison_queue")]


@pytest.mark.azurite
def test_settings_the_app_refuses_at_start_fail_and_nothing_else_is_reached(app_settings, monkeypatch, capsys):
    # RETRY_QUEUE_NAME is required by the app's start check only (the queue trigger binds it), not by loading:
    # the check must be the app's own.
    monkeypatch.delenv("RETRY_QUEUE_NAME")
    code, body = run_json(capsys)
    assert code == ExitCode.USAGE
    [start, *others] = body["checks"]
    assert (start["check"], start["verdict"]) == ("start", "failed") and "RETRY_QUEUE_NAME" in start["found"]
    assert [(c["area"], c["verdict"]) for c in others] == [("storage", "skipped"), ("telemetry", "skipped")]


@pytest.mark.azurite
def test_a_malformed_connection_string_fails_only_telemetry(app_settings, monkeypatch, capsys):
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", f"InstrumentationKey={KEY.upper()}")
    code, body = run_json(capsys)
    assert code == ExitCode.TELEMETRY_FAILED
    assert checks_of(body, "failed") == [("telemetry", "connection_string")]
    assert KEY.upper() not in json.dumps(body)


def test_app_url_reaches_the_wiring_of_the_salesforce_area(monkeypatch, capsys):
    given: list[str | None] = []

    def wiring(app_url: str | None = None) -> admin.preflight.Wiring:
        given.append(app_url)
        return fake_wiring({})

    monkeypatch.setattr(admin.preflight, "default_wiring", wiring)
    assert main(["preflight", "--only", "salesforce", "--app-url", "https://contoso-sync.azurewebsites.net"]) == 0
    assert given == ["https://contoso-sync.azurewebsites.net"]
