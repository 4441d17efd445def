"""Listing the ledger by status and time, page by page: the Table storage adapter on Azurite and the
in-memory fake answer the same (one contract, run against both, so the fake stays in step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.listing import ListingQuery
from shared.settings import Settings
from shared.storage.port import InvalidContinuation, Ledger
from shared.storage.table_ledger import table_ledger_from_settings
from tests.fakes.ports import InMemoryLedger

NOW = datetime(2026, 5, 17, 9, 30, tzinfo=UTC)
STATUSES = (LedgerStatus.CREATED, LedgerStatus.QUEUED, LedgerStatus.FAILED)


def account(number: int) -> str:
    return f"001Dn{number:010d}AAA"


@pytest.fixture(params=["table", "in-memory"])
def ledger(request) -> Ledger:
    if request.param == "in-memory":
        return InMemoryLedger()
    request.applymarker(pytest.mark.azurite)
    settings: Settings = request.getfixturevalue("storage_settings")
    return table_ledger_from_settings(settings)


@pytest.fixture
def filled(ledger: Ledger) -> Ledger:
    """25 accounts: statuses in turn, one hour apart (account 0 the oldest)."""
    for number in range(25):
        moment = NOW - timedelta(hours=25 - number)
        ledger.claim(
            LedgerEntry(
                account_id=account(number),
                status=STATUSES[number % 3],
                tracking_id=f"t{number}",
                created_at=moment,
                updated_at=moment,
            )
        )
    return ledger


def every_page(ledger: Ledger, query: ListingQuery) -> list[list[str]]:
    pages: list[list[str]] = []
    for _ in range(50):  # bounded: a token that never ends fails the test instead of hanging it
        page = ledger.list_entries(query)
        pages.append([entry.account_id for entry in page.entries])
        if page.continuation is None:
            return pages
        query = ListingQuery(
            query.statuses, query.updated_since, query.updated_before, query.page_size, page.continuation
        )
    raise AssertionError("the listing never ended")


def test_pages_follow_each_other_in_account_order_without_gaps_or_repeats(filled):
    pages = every_page(filled, ListingQuery(page_size=10))
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [entry for page in pages for entry in page] == [account(number) for number in range(25)]


def test_a_page_size_that_divides_the_total_ends_on_an_empty_page_or_none(filled):
    listed = [entry for page in every_page(filled, ListingQuery(page_size=5)) for entry in page]
    assert listed == [account(number) for number in range(25)]


def test_status_and_since_filter_across_pages(filled):
    since = NOW - timedelta(hours=12, minutes=30)  # accounts 13 to 24
    query = ListingQuery(statuses=(LedgerStatus.QUEUED, LedgerStatus.FAILED), updated_since=since, page_size=3)
    listed = [entry for page in every_page(filled, query) for entry in page]
    assert listed == [account(number) for number in range(13, 25) if number % 3 in (1, 2)]


def test_since_includes_an_entry_changed_at_that_very_moment(filled):
    exactly = NOW - timedelta(hours=1)  # account 24
    page = filled.list_entries(ListingQuery(updated_since=exactly))
    assert [entry.account_id for entry in page.entries] == [account(24)] and page.continuation is None


def test_updated_before_bounds_the_listing_from_above(filled):
    page = filled.list_entries(ListingQuery(updated_before=NOW - timedelta(hours=23)))  # accounts 0 and 1
    assert [entry.account_id for entry in page.entries] == [account(0), account(1)]


def test_an_entry_comes_back_whole(filled):
    [entry] = filled.list_entries(ListingQuery(updated_since=NOW - timedelta(hours=1))).entries
    assert entry == filled.get(account(24)).evolve(etag=entry.etag)


def test_an_empty_ledger_lists_nothing(ledger):
    page = ledger.list_entries(ListingQuery())
    assert page.entries == () and page.continuation is None


@pytest.mark.parametrize("token", ["nonsense", "t1.", "t1.!!!", "t1.bnVsbA", "m1."])
def test_a_token_it_did_not_hand_out_is_refused(filled, token):
    with pytest.raises(InvalidContinuation):
        filled.list_entries(ListingQuery(continuation=token))


@pytest.mark.parametrize("year", [999, 1, 1600])
def test_a_since_before_any_time_the_table_stores_lists_everything(filled, year):
    # Azure Table storage keeps Edm.DateTime from 1601-01-01 on; an earlier `since` (a typo, or "everything")
    # bounds nothing, so it lists every entry, never an empty page.
    since = datetime(year, 1, 1, tzinfo=UTC)
    listed = [entry for page in every_page(filled, ListingQuery(updated_since=since)) for entry in page]
    assert listed == [account(number) for number in range(25)]


def test_a_before_earlier_than_any_time_the_table_stores_lists_nothing(filled):
    page = filled.list_entries(ListingQuery(updated_before=datetime(999, 1, 1, tzinfo=UTC)))
    assert page.entries == () and page.continuation is None
