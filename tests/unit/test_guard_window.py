"""Issue 22, item 3: an account the ledger does not know although SAP may. The rule as a table
(shared.core.guard_window), its setting (SAP_GUARD_SEARCH_SINCE), and the use cases over the simulator
with a ledger that forgot: without the setting the forgotten account gets a second customer, with it the
guard adopts the first."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.guard_window import guard_search_since
from shared.core.ledger import LedgerStatus
from shared.core.mapping import split_name
from shared.core.validation import parse_customer_request
from shared.settings import SettingsError, load_settings
from shared.usecases import Outcome, RetryOutcome, account_status, create_customer, retry_create_customer
from tests.fakes.ports import InMemoryLedger
from tests.support.samples import sample

FIRST_SEEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RESTORED_FROM = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # before the account was first seen
LATER = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # after it


@pytest.mark.parametrize(
    ("outcome_unknown", "setting", "searched_since"),
    [
        (False, None, None),  # the ledger is trusted and no attempt may have reached SAP: no search
        (True, None, FIRST_SEEN),  # an earlier attempt's outcome is unknown: since the account was first seen
        (False, RESTORED_FROM, RESTORED_FROM),  # the ledger may have lost writes: every create searches
        (False, LATER, LATER),  # an entry made after the loss (the account looked new): still searched
        (True, RESTORED_FROM, RESTORED_FROM),  # both: the earlier moment
        (True, LATER, FIRST_SEEN),
    ],
)
def test_when_and_from_when_the_guard_searches(outcome_unknown, setting, searched_since):
    assert guard_search_since(FIRST_SEEN, outcome_unknown, setting) == searched_since


# --- the setting ---


def test_the_setting_is_read_as_a_moment_in_utc():
    settings = load_settings({"SAP_TRANSPORT": "simulator", "SAP_GUARD_SEARCH_SINCE": "2026-12-01T09:30:00+01:00"})
    assert settings.sap_guard_search_since == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    zulu = load_settings({"SAP_TRANSPORT": "simulator", "SAP_GUARD_SEARCH_SINCE": "2026-12-01T08:30:00Z"})
    assert zulu.sap_guard_search_since == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert load_settings({"SAP_TRANSPORT": "simulator"}).sap_guard_search_since is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("yesterday", "not an ISO 8601"),
        ("2026-12-01T08:30:00", "has no offset"),  # local time of which machine? refused
        ((datetime.now(UTC) + timedelta(days=2)).isoformat(), "in the future"),
    ],
    ids=["not-iso", "no-offset", "in-the-future"],
)  # fixed ids: a timestamp in an id differs between collections
def test_a_malformed_setting_is_refused_naming_it_and_why(value, reason):
    with pytest.raises(SettingsError, match=f"SAP_GUARD_SEARCH_SINCE: .*{reason}"):
        load_settings({"SAP_TRANSPORT": "simulator", "SAP_GUARD_SEARCH_SINCE": value})


# --- the use cases with a ledger that forgot ---


def _request():
    return parse_customer_request(sample("german-account"))


def _customers(sap_system) -> list:
    return sap_system.customers_where("NAME", split_name(sample("german-account")["name"])[0])


def test_without_the_setting_an_account_the_ledger_forgot_is_created_a_second_time(fake_services, sap_system):
    # What docs/exactly-once.md states a lost ledger entry costs when the setting is off.
    request = _request()
    assert create_customer(request, fake_services).outcome is Outcome.CREATED
    emptied = dataclasses.replace(fake_services, ledger=InMemoryLedger())

    assert create_customer(request, emptied).outcome is Outcome.CREATED
    assert len(_customers(sap_system)) == 2


def test_with_the_setting_an_account_the_ledger_forgot_adopts_the_customer_sap_has(fake_services, sap_system):
    request = _request()
    first = create_customer(request, fake_services)
    assert first.outcome is Outcome.CREATED
    emptied = dataclasses.replace(
        fake_services, ledger=InMemoryLedger(), guard_search_since=fake_services.clock() - timedelta(hours=1)
    )

    again = create_customer(request, emptied)

    assert again.outcome is Outcome.ALREADY_EXISTS and again.customer_number == first.customer_number
    assert [c.number for c in _customers(sap_system)] == [first.customer_number]
    entry = account_status(request.account_id, emptied.ledger)
    assert entry.status is LedgerStatus.CREATED and entry.adopted
    assert emptied.writeback.created[request.account_id] == [first.customer_number] * 2  # the same number again


def test_with_the_setting_a_new_account_is_still_created_once(fake_services, sap_system):
    searching = dataclasses.replace(fake_services, guard_search_since=fake_services.clock() - timedelta(hours=1))
    result = create_customer(_request(), searching)
    assert result.outcome is Outcome.CREATED and len(_customers(sap_system)) == 1
    assert sap_system.calls["BAPI_CUSTOMER_FIND"] == 1  # it searched first, found nothing, created


def test_with_the_setting_a_restored_entry_older_than_the_create_does_not_create_again(fake_services, sap_system):
    # A backup taken while the account was queued (its outcome known: nothing reached SAP), restored after
    # the queue trigger had created it: the restored entry and its message come back, the customer stays one.
    sap_system.faults.arm("communication_before")
    request = _request()
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    backup = account_status(request.account_id, fake_services.ledger).evolve(outcome_unknown=False)
    [message] = [queued.message for queued in fake_services.retry_queue.queued]
    assert retry_create_customer(fake_services.retry_queue.take_all()[0], fake_services) is RetryOutcome.CREATED
    [customer] = _customers(sap_system)

    restored = InMemoryLedger()
    restored.claim(backup)
    after_restore = dataclasses.replace(fake_services, ledger=restored, guard_search_since=backup.created_at)

    assert (
        retry_create_customer(message.with_written_entry(restored.get(request.account_id)), after_restore)
        is RetryOutcome.CREATED
    )
    assert [c.number for c in _customers(sap_system)] == [customer.number]
    entry = account_status(request.account_id, restored)
    assert entry.customer_number == customer.number and entry.adopted


def test_the_composition_root_hands_the_setting_to_the_use_cases_and_says_so_at_start(caplog):
    from shared import bootstrap

    settings = load_settings(
        {
            "SAP_TRANSPORT": "simulator",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "SAP_GUARD_SEARCH_SINCE": "2026-12-01T08:00:00Z",
        }
    )
    with caplog.at_level("WARNING", logger="shared.bootstrap"):
        services = bootstrap.bootstrap(config=settings)
    assert services.guard_search_since == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert any("searches SAP before every create" in record.getMessage() for record in caplog.records)
