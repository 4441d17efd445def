"""`python -m admin` is one command: every subcommand has its --help, each help carries the one exit
code table (admin.ExitCode), and bad arguments exit 2 before any setting or storage is read."""

from __future__ import annotations

import re

import pytest

from admin import EXIT_CODES_HELP, ExitCode
from admin.__main__ import main

SUBCOMMANDS = [
    ["status"],
    ["list"],
    ["poison"],
    ["poison", "list"],
    ["poison", "replay"],
    ["resolve"],
    ["sweep"],
    ["reconcile"],
    ["preflight"],
]


def test_the_help_tests_cover_every_subcommand_the_parser_has():
    import argparse

    from admin.__main__ import _parser

    commands = next(action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction))
    assert {words[0] for words in SUBCOMMANDS} == set(commands.choices)


@pytest.mark.parametrize("words", [[], *SUBCOMMANDS], ids=lambda words: " ".join(words) or "admin")
def test_every_subcommand_has_help_with_the_exit_codes(words, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*words, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m admin {' '.join(words)}".rstrip()) and "exit codes" in out


def test_the_help_table_is_the_exit_code_enum():
    documented = {int(code) for code in re.findall(r"^  (\d+) ", EXIT_CODES_HELP, flags=re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}


@pytest.mark.parametrize(
    "arguments",
    [
        ["list", "--status", "open"],
        ["list", "--since", "2026-05-01T08:00"],
        ["list", "--max", "0"],
        ["reconcile", "--show", "-1"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2_naming_the_option(arguments, capsys):
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == ExitCode.USAGE
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["list", "--older-than", "-5"], "argument --older-than: -5 is not a whole number of 0 or more"),
        (["list", "--max", "0"], "argument --max: 0 is not a whole number from 1 to 10000"),
        (["list", "--max", "10001"], "argument --max: 10001 is not a whole number from 1 to 10000"),
        (["poison", "list", "--max", "33"], "argument --max: 33 is not a whole number from 1 to 32"),
        (["reconcile", "--show", "-1"], "argument --show: -1 is not a whole number of 0 or more"),
    ],
)
def test_a_number_out_of_range_is_refused_by_its_subcommand_naming_option_and_range(arguments, expected, capsys):
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == ExitCode.USAGE
    usage, *_, error = capsys.readouterr().err.strip().splitlines()
    subcommand = " ".join(arguments[:-2])
    # the subcommand's own usage and error line, not the top-level "python -m admin [-h] SUBCOMMAND ..."
    assert usage.startswith(f"usage: python -m admin {subcommand} ")
    assert error == f"python -m admin {subcommand}: error: {expected}"


def test_reconcile_without_salesforce_settings_exits_2_naming_the_setting(monkeypatch, capsys):
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    for name in ("SALESFORCE_AUTH", "SALESFORCE_WRITEBACK"):
        monkeypatch.delenv(name, raising=False)
    assert main(["reconcile"]) == ExitCode.USAGE
    assert "SALESFORCE_AUTH" in capsys.readouterr().err
