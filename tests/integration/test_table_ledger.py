"""TableLedger against a real Azurite: conditional insert, ETag checks, outages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from azure.data.tables import TableServiceClient

from shared.core.ledger import ChangeStatus, LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import MappingWarning
from shared.settings import Settings
from shared.storage.port import LedgerConflict, LedgerUnavailable
from shared.storage.table_ledger import TableLedger, table_ledger_from_settings
from tests.support.concurrency import run_together
from tests.support.network import free_port

pytestmark = pytest.mark.azurite

ACCOUNT_ID = "001Dn00000AbCdEIAV"
NOW = datetime(2024, 5, 17, 9, 30, 15, 123456, tzinfo=UTC)


def pending(account_id: str = ACCOUNT_ID) -> LedgerEntry:
    return LedgerEntry(
        account_id=account_id, status=LedgerStatus.PENDING, tracking_id="trk-1", created_at=NOW, updated_at=NOW
    )


@pytest.fixture
def ledger(storage_settings: Settings) -> TableLedger:
    return table_ledger_from_settings(storage_settings)


def test_get_unknown_account_is_none(ledger):
    assert ledger.get(ACCOUNT_ID) is None


def test_claim_stores_the_entry_with_an_etag(ledger):
    stored = ledger.claim(pending())

    assert stored.etag
    assert ledger.get(ACCOUNT_ID) == stored


def test_second_claim_of_an_account_conflicts(ledger):
    ledger.claim(pending())

    with pytest.raises(LedgerConflict):
        ledger.claim(pending().evolve(tracking_id="trk-2"))
    assert ledger.get(ACCOUNT_ID).tracking_id == "trk-1"


def test_concurrent_claims_have_exactly_one_winner(ledger):
    ledger.get("001Dn00000WarmUpAAA")  # creates the table before the race, as the first request would

    def claim(number: int) -> Callable[[], str]:
        def attempt() -> str:
            try:
                ledger.claim(pending().evolve(tracking_id=f"trk-{number}"))
            except LedgerConflict:
                return "conflict"
            return "won"

        return attempt

    outcomes = run_together(*[claim(number) for number in range(10)])

    assert sorted(outcomes) == ["conflict"] * 9 + ["won"]


def test_round_trip_of_every_field(ledger):
    claimed = ledger.claim(pending())
    later = datetime(2024, 5, 17, 11, 45, 0, 654321, tzinfo=timezone(timedelta(hours=2)))
    changed = claimed.evolve(
        status=LedgerStatus.CREATED,
        customer_number="0000012345",
        attempts=3,
        last_error="SAP unreachable: RFC_COMMUNICATION_FAILURE",
        writeback=WriteBackStatus.QUEUED,
        updated_at=later,
        retry_token="5f0c2d",
        claim_id="9b1e4a",
        error_kind="outcome_unknown",
        outcome_unknown=True,
        adopted=True,
        payload={"accountId": ACCOUNT_ID, "name": "Müller & Söhne 🙂", "countryCode": "DE"},
        review_candidates=("0000012345", "0000012346"),
        rejected_customers=("0000012300",),
        search_from=later,
        # the change path's (issue 26)
        applied_digests={"STREET": "6f1c0d"},
        change_modstamp=later,
        change_status=ChangeStatus.FAILED,
        last_change_at=later,
        change_error="SAP rejected: VR 112",
        change_claimed_at=later,
        change_review={"fields": [{"field": "street", "sap": "Ä", "salesforce": "C"}]},
        warnings=(
            MappingWarning("street", "street shortened to 35 characters for SAP (STREET): ..."),
            MappingWarning("phone", "phone not passed to SAP: longer than the 30 characters SAP holds"),
        ),
    )
    # Every field is set, none to its default, so a field the table drops or garbles fails below.
    assert [f.name for f in dataclasses.fields(LedgerEntry) if getattr(changed, f.name) == f.default] == []

    updated = ledger.update(changed)
    read = ledger.get(ACCOUNT_ID)

    assert read == updated
    assert dataclasses.replace(read, etag=None) == dataclasses.replace(changed, etag=None)
    assert read.etag != claimed.etag
    assert read.status is LedgerStatus.CREATED
    assert read.customer_number == "0000012345"
    assert read.attempts == 3
    assert read.last_error == "SAP unreachable: RFC_COMMUNICATION_FAILURE"
    assert read.retry_token == "5f0c2d"
    assert read.writeback is WriteBackStatus.QUEUED
    assert read.created_at == NOW and read.created_at.tzinfo is not None
    assert read.updated_at == later and read.updated_at.utcoffset() == timedelta(0)
    assert (read.error_kind, read.outcome_unknown, read.adopted) == ("outcome_unknown", True, True)
    assert read.payload == changed.payload


def test_round_trip_of_the_duplicate_guard_fields_and_the_held_request(ledger):
    claimed = ledger.claim(pending())
    held = claimed.evolve(
        status=LedgerStatus.NEEDS_REVIEW,
        error_kind="needs_review",
        outcome_unknown=True,
        payload={"accountId": ACCOUNT_ID, "name": "Müller & Söhne 🙂", "countryCode": "DE"},
    )

    ledger.update(held)
    read = ledger.get(ACCOUNT_ID)

    assert read.status is LedgerStatus.NEEDS_REVIEW and read.error_kind == "needs_review"
    assert read.outcome_unknown is True and read.adopted is False
    assert read.payload == held.payload

    ledger.update(
        read.evolve(
            status=LedgerStatus.CREATED,
            adopted=True,
            outcome_unknown=False,
            payload=None,
            error_kind=None,
            customer_number="0000100000",
        )
    )
    done = ledger.get(ACCOUNT_ID)
    assert done.adopted is True and done.outcome_unknown is False and done.payload is None and done.error_kind is None


def test_replace_clears_values_that_are_no_longer_set(ledger):
    claimed = ledger.claim(pending().evolve(last_error="timeout", customer_number="0000000001"))

    ledger.update(claimed.evolve(last_error=None, customer_number=None))

    read = ledger.get(ACCOUNT_ID)
    assert read.last_error is None and read.customer_number is None


def test_naive_datetimes_are_stored_as_utc(ledger):
    naive = datetime(2024, 1, 2, 3, 4, 5)
    stored = ledger.claim(pending().evolve(created_at=naive, updated_at=naive))

    assert ledger.get(ACCOUNT_ID).created_at == naive.replace(tzinfo=UTC) == stored.created_at


def test_update_with_a_stale_etag_conflicts(ledger):
    claimed = ledger.claim(pending())
    ledger.update(claimed.evolve(status=LedgerStatus.QUEUED))

    with pytest.raises(LedgerConflict):
        ledger.update(claimed.evolve(status=LedgerStatus.CREATED))
    assert ledger.get(ACCOUNT_ID).status is LedgerStatus.QUEUED


def test_update_of_a_deleted_entry_conflicts(ledger):
    claimed = ledger.claim(pending())
    ledger.delete(claimed)

    with pytest.raises(LedgerConflict):
        ledger.update(claimed.evolve(status=LedgerStatus.CREATED))


def test_update_without_etag_conflicts(ledger):
    with pytest.raises(LedgerConflict):
        ledger.update(pending())


def test_delete_releases_the_claim(ledger):
    claimed = ledger.claim(pending())

    ledger.delete(claimed)

    assert ledger.get(ACCOUNT_ID) is None
    assert ledger.claim(pending()).etag


def test_delete_with_a_stale_etag_conflicts(ledger):
    claimed = ledger.claim(pending())
    ledger.update(claimed.evolve(status=LedgerStatus.QUEUED))

    with pytest.raises(LedgerConflict):
        ledger.delete(claimed)
    assert ledger.get(ACCOUNT_ID) is not None


def test_accounts_are_independent(ledger):
    ledger.claim(pending())
    other = ledger.claim(pending("001Dn00000ZyXwVIAV"))

    assert ledger.get("001Dn00000ZyXwVIAV") == other


def test_storage_down_raises_ledger_unavailable(azurite, unique_name):
    port = free_port()  # nothing listens here
    connection = azurite.connection_string.replace(f":{azurite.table_port}/", f":{port}/")
    service = TableServiceClient.from_connection_string(connection, retry_total=0, connection_timeout=1)
    ledger = TableLedger(service, unique_name)

    with pytest.raises(LedgerUnavailable):
        ledger.get(ACCOUNT_ID)
    with pytest.raises(LedgerUnavailable):
        ledger.claim(pending())


def test_find_returns_entries_of_the_given_statuses_changed_before_a_moment(ledger):
    old = NOW - timedelta(days=1)
    for index, (status, updated) in enumerate(
        [
            (LedgerStatus.PENDING, old),
            (LedgerStatus.PENDING, NOW),
            (LedgerStatus.QUEUED, old),
            (LedgerStatus.CREATED, old),
        ]
    ):
        ledger.claim(pending(f"001Dn00000Find{index}AAA").evolve(status=status, updated_at=updated))

    stale = ledger.find([LedgerStatus.PENDING], updated_before=NOW - timedelta(minutes=1))
    both = ledger.find([LedgerStatus.PENDING, LedgerStatus.QUEUED])

    assert [entry.account_id for entry in stale] == ["001Dn00000Find0AAA"]
    assert sorted(entry.account_id for entry in both) == [
        "001Dn00000Find0AAA",
        "001Dn00000Find1AAA",
        "001Dn00000Find2AAA",
    ]
    assert len(ledger.find([LedgerStatus.PENDING, LedgerStatus.QUEUED], limit=2)) == 2
    assert ledger.find([]) == []


def test_find_narrows_to_a_write_back_state_on_the_table_itself(ledger):
    old = NOW - timedelta(days=1)
    states = [
        (LedgerStatus.CREATED, WriteBackStatus.PENDING),
        (LedgerStatus.CREATED, WriteBackStatus.DONE),
        (LedgerStatus.CREATED, WriteBackStatus.FAILED),
        (LedgerStatus.QUEUED, WriteBackStatus.PENDING),
    ]
    for index, (status, writeback) in enumerate(states):
        ledger.claim(
            pending(f"001Dn00000Wb{index}AAAAA").evolve(
                status=status, writeback=writeback, updated_at=old, customer_number="0000100123"
            )
        )

    found = ledger.find([LedgerStatus.CREATED], NOW, writeback=WriteBackStatus.PENDING)

    assert [(entry.account_id, entry.writeback) for entry in found] == [("001Dn00000Wb0AAAAA", WriteBackStatus.PENDING)]


def test_unreadable_warnings_read_as_none_and_never_fail_the_read(ledger):
    ledger.claim(pending())
    raw = ledger._table.get_entity(ACCOUNT_ID, "ledger")
    raw["Warnings"] = "not json ["
    ledger._table.update_entity(raw)
    assert ledger.get(ACCOUNT_ID).warnings == ()
