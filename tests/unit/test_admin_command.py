"""`python -m admin` refuses missing or malformed settings before it touches storage (exit 2, one line);
against a real Azurite: tests/integration/test_poison_command.py and test_poison_replay.py."""

from __future__ import annotations

from admin.__main__ import main


def test_missing_storage_setting_exits_2_with_one_line(monkeypatch, capsys):
    for name in (
        "AzureWebJobsStorage",
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
    ):
        monkeypatch.delenv(name, raising=False)

    assert main(["poison", "list"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: settings: AzureWebJobsStorage")


def test_malformed_setting_exits_2_naming_it(monkeypatch, capsys):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "many")

    assert main(["status", "001Dn00000AbCdEIAV"]) == 2
    assert "RETRY_MAX_ATTEMPTS" in capsys.readouterr().err


def test_a_storage_setting_that_is_no_connection_string_exits_2_before_any_sdk_reads_it(monkeypatch, capsys):
    monkeypatch.setenv("AzureWebJobsStorage", "garbage")

    assert main(["list"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: settings: AzureWebJobsStorage: not a storage connection string")


def test_a_malformed_retry_queue_name_exits_2_naming_it(monkeypatch, capsys):
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    monkeypatch.setenv("RETRY_QUEUE_NAME", "Sap_Retry")

    assert main(["poison", "list"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: settings: RETRY_QUEUE_NAME: a Storage queue name")


def test_ctrl_c_during_a_reconcile_exits_130_with_one_line_saying_how_to_continue(monkeypatch, capsys):
    import admin.reconcile

    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")

    def interrupted(*_arguments, **_options):
        raise KeyboardInterrupt

    monkeypatch.setattr(admin.reconcile, "reconcile", interrupted)

    assert main(["reconcile", "--apply", "--no-progress"]) == 130
    [line] = capsys.readouterr().err.splitlines()
    assert "Ctrl-C" in line and "run it again to continue" in line
