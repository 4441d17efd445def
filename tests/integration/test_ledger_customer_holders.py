"""Who holds which SAP customer, on a real Azurite: the ledger's reverse entries (one account per number, the
first to hold it keeps it), the guard's memory of an operator's decision, and `admin resolve --customer`
refusing a number the ledger holds for another account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from admin import ExitCode
from admin.__main__ import main
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.listing import ListingQuery
from shared.settings import Settings
from shared.storage.table_ledger import TableLedger, table_ledger_from_settings
from tests.support.concurrency import run_together

pytestmark = pytest.mark.azurite

ACCOUNT_A, ACCOUNT_B = "001Dn00000TwinAIAR", "001Dn00000TwinBIAR"
NOW = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)


@pytest.fixture
def ledger(storage_settings: Settings) -> TableLedger:
    return table_ledger_from_settings(storage_settings)


def held_for_review(account_id: str) -> LedgerEntry:
    return LedgerEntry(
        account_id=account_id,
        status=LedgerStatus.NEEDS_REVIEW,
        tracking_id="trk-1",
        created_at=NOW,
        updated_at=NOW,
        attempts=2,
        outcome_unknown=True,
        last_error="held for review: 2 SAP customers match: 0000100001, 0000100002",
        review_candidates=("0000100001", "0000100002"),
        payload={"accountId": account_id},
    )


def test_the_first_account_to_hold_a_number_keeps_it(ledger):
    assert ledger.holder_of("0000100001") is None

    assert ledger.hold_customer("0000100001", ACCOUNT_A) == ACCOUNT_A
    assert ledger.hold_customer("100001", ACCOUNT_B) == ACCOUNT_A  # the same customer, typed without zeros
    assert ledger.hold_customer("0000100001", ACCOUNT_A) == ACCOUNT_A  # again: still its own

    assert ledger.holder_of("100001") == ACCOUNT_A


def test_concurrent_holds_of_one_number_have_exactly_one_winner(ledger):
    ledger.get(ACCOUNT_A)  # creates the table before the race, as the first request would
    accounts = [f"001Dn00000Race{index:01d}IAA" for index in range(8)]

    def hold(account_id: str) -> Callable[[], str]:
        return lambda: ledger.hold_customer("0000100007", account_id)

    holders = run_together(*[hold(account_id) for account_id in accounts])

    assert len(set(holders)) == 1 and holders[0] in accounts
    assert ledger.holder_of("0000100007") == holders[0]


def test_the_guards_memory_round_trips_and_reverse_entries_stay_out_of_the_listings(ledger):
    stored = ledger.claim(held_for_review(ACCOUNT_A))
    resolved = ledger.update(
        stored.evolve(
            status=LedgerStatus.QUEUED,
            review_candidates=(),
            rejected_customers=("0000100001", "0000100002"),
            search_from=NOW + timedelta(hours=2),
        )
    )
    ledger.hold_customer("0000100003", ACCOUNT_B)

    assert ledger.get(ACCOUNT_A) == resolved
    assert ledger.get(ACCOUNT_A).search_from == NOW + timedelta(hours=2)
    assert [entry.account_id for entry in ledger.find(list(LedgerStatus))] == [ACCOUNT_A]
    assert [entry.account_id for entry in ledger.list_entries(ListingQuery()).entries] == [ACCOUNT_A]


@pytest.fixture
def admin_ledger(monkeypatch, storage_settings: Settings) -> TableLedger:
    """The ledger the operations command reads, with its settings exported as an operator would."""
    monkeypatch.setenv("AzureWebJobsStorage", storage_settings.storage_connection or "")
    monkeypatch.setenv("LEDGER_TABLE_NAME", storage_settings.ledger_table_name)
    monkeypatch.setenv("RETRY_QUEUE_NAME", storage_settings.retry.queue_name)
    return table_ledger_from_settings(storage_settings)


def test_admin_resolve_customer_refuses_a_number_the_ledger_holds_for_another_account(admin_ledger, capsys):
    admin_ledger.claim(held_for_review(ACCOUNT_A))
    admin_ledger.hold_customer("0000100001", ACCOUNT_B)

    assert main(["resolve", ACCOUNT_A, "--customer", "100001", "--yes"]) == ExitCode.USAGE

    error = capsys.readouterr().err
    assert "0000100001" in error and ACCOUNT_B in error and "nothing changed" in error
    entry = admin_ledger.get(ACCOUNT_A)
    assert entry.status is LedgerStatus.NEEDS_REVIEW and entry.customer_number is None
    assert admin_ledger.holder_of("0000100001") == ACCOUNT_B


def test_admin_resolve_customer_warns_for_a_number_the_guard_did_not_name_and_records_it(admin_ledger, capsys):
    admin_ledger.claim(held_for_review(ACCOUNT_A))

    assert main(["resolve", ACCOUNT_A, "--customer", "0000100009", "--yes"]) == ExitCode.DONE

    captured = capsys.readouterr()
    assert "warning" in captured.err and "0000100001, 0000100002" in captured.err
    assert admin_ledger.get(ACCOUNT_A).customer_number == "0000100009"
    assert admin_ledger.holder_of("0000100009") == ACCOUNT_A


def test_admin_resolve_customer_of_a_named_candidate_says_nothing_more(admin_ledger, capsys):
    admin_ledger.claim(held_for_review(ACCOUNT_A))

    assert main(["resolve", ACCOUNT_A, "--customer", "0000100002", "--yes"]) == ExitCode.DONE

    assert "warning" not in capsys.readouterr().err
    assert admin_ledger.get(ACCOUNT_A).customer_number == "0000100002"
    assert admin_ledger.holder_of("0000100002") == ACCOUNT_A


def test_an_account_created_before_reverse_entries_is_found_by_its_number_and_back_filled(ledger):
    stored = ledger.claim(held_for_review(ACCOUNT_B))
    ledger.update(stored.evolve(status=LedgerStatus.CREATED, customer_number="0000100004", review_candidates=()))

    assert ledger.holder_of("100004") == ACCOUNT_B  # from its entry alone
    assert ledger.hold_customer("0000100004", ACCOUNT_A) == ACCOUNT_B  # the row is written now: B keeps it
    assert ledger.holder_of("0000100005") is None
