"""`python -m admin list` over the ledger on Azurite: --since and --status filter, --max pages through the
ledger's listing, and the token it prints goes on exactly where it stopped (--continue)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from admin import ExitCode
from admin.__main__ import main
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.storage.table_ledger import TableLedger

pytestmark = pytest.mark.azurite

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def ledger(monkeypatch, azurite, unique_name) -> TableLedger:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("LEDGER_TABLE_NAME", f"ledger{unique_name}")
    monkeypatch.setenv("RETRY_QUEUE_NAME", f"retry-{unique_name}")
    table = TableLedger(TableServiceClient.from_connection_string(azurite.connection_string), f"ledger{unique_name}")
    for number in range(7):
        moment = NOW - timedelta(days=7 - number)
        table.claim(
            LedgerEntry(
                account_id=f"001Dn{number:010d}AAA",
                tracking_id=f"t{number}",
                created_at=moment,
                updated_at=moment,
                status=LedgerStatus.CREATED if number % 2 else LedgerStatus.FAILED,
            )
        )
    return table


def listed(capsys, *arguments: str) -> dict:
    assert main(["list", *arguments, "--json"]) == ExitCode.DONE
    return json.loads(capsys.readouterr().out)


def test_since_and_status_filter_the_listing(ledger, capsys):
    since = (NOW - timedelta(days=3, hours=1)).isoformat()  # accounts 4, 5, 6
    body = listed(capsys, "--since", since, "--status", "created,failed")
    assert [entry["accountId"] for entry in body["accounts"]] == [f"001Dn{n:010d}AAA" for n in (4, 5, 6)]
    body = listed(capsys, "--since", since, "--status", "created")
    assert [entry["accountId"] for entry in body["accounts"]] == ["001Dn0000000005AAA"]


def test_max_stops_with_a_token_and_continue_goes_on_where_it_stopped(ledger, capsys):
    first = listed(capsys, "--max", "3")
    assert len(first["accounts"]) == 3 and first["continuationToken"]
    rest = listed(capsys, "--max", "10", "--continue", first["continuationToken"])
    assert "continuationToken" not in rest
    assert [entry["accountId"] for entry in first["accounts"] + rest["accounts"]] == [
        f"001Dn{n:010d}AAA" for n in range(7)
    ]
    assert main(["list", "--max", "3"]) == ExitCode.DONE
    assert "add --continue " in capsys.readouterr().out


def test_a_bad_token_exits_2(ledger, capsys):
    assert main(["list", "--continue", "not-ours"]) == ExitCode.USAGE
    assert "--continue" in capsys.readouterr().err
