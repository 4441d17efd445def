"""`python -m admin status` over the ledger on Azurite shows what the mapping changed to fit SAP: one line of
rules (field and rule, never the value), "-" when nothing was changed, and the same list in --json."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient

from admin import ExitCode
from admin.__main__ import main
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.models import MappingWarning
from shared.storage.table_ledger import TableLedger

pytestmark = pytest.mark.azurite

WARNED, PLAIN = "001Dn00000AbCdEIAV", "001Dn00000ZzZzZIAV"
STREET = MappingWarning(
    "street",
    "street shortened to 35 characters for SAP (STREET): street types abbreviated "
    "and, if still too long, cut after the last whole word that fits",
)
PHONE = MappingWarning("phone", "phone not passed to SAP: longer than the 30 characters SAP holds (TEL1_NUMBR)")


@pytest.fixture
def ledger(monkeypatch, azurite, unique_name) -> TableLedger:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("LEDGER_TABLE_NAME", f"ledger{unique_name}")
    monkeypatch.setenv("RETRY_QUEUE_NAME", f"retry-{unique_name}")
    table = TableLedger(TableServiceClient.from_connection_string(azurite.connection_string), f"ledger{unique_name}")
    now = datetime.now(UTC)
    for account_id, warnings in ((WARNED, (STREET, PHONE)), (PLAIN, ())):
        table.claim(
            LedgerEntry(
                account_id=account_id,
                status=LedgerStatus.CREATED,
                tracking_id="t",
                created_at=now,
                updated_at=now,
                customer_number="0000100042",
                warnings=warnings,
            )
        )
    return table


def test_status_prints_the_warnings_on_one_line(ledger, capsys):
    assert main(["status", WARNED]) == ExitCode.DONE
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warnings")]
    assert line.split(None, 1)[1] == f"{STREET.message}; {PHONE.message}"


def test_status_prints_a_dash_without_warnings(ledger, capsys):
    assert main(["status", PLAIN]) == ExitCode.DONE
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warnings")]
    assert line.split() == ["warnings", "-"]


def test_status_json_lists_field_and_rule(ledger, capsys):
    assert main(["status", WARNED, "--json"]) == ExitCode.DONE
    assert json.loads(capsys.readouterr().out)["warnings"] == [STREET.to_json(), PHONE.to_json()]
