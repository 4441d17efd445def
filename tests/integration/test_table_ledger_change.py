"""The change path's ledger fields on Azure Table storage (Azurite): every field round-trips, a change's end
clears what it no longer holds (REPLACE drops an absent property), and a hand-edited property reads as none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient, UpdateMode

from shared.core.ledger import ChangeStatus, LedgerEntry, LedgerStatus
from shared.storage.table_ledger import TableLedger

pytestmark = pytest.mark.azurite

ACCOUNT = "001Dn00000AbCdEIAV"
NOW = datetime(2026, 12, 7, 15, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def table(azurite, unique_name) -> TableLedger:
    return TableLedger(TableServiceClient.from_connection_string(azurite.connection_string), f"ledger{unique_name}")


def held() -> LedgerEntry:
    return LedgerEntry(
        account_id=ACCOUNT,
        status=LedgerStatus.CREATED,
        tracking_id="t",
        created_at=NOW,
        updated_at=NOW,
        customer_number="0000100042",
        applied_digests={"STREET": "6f1c0d2a", "NAME_2": "e3b0c442"},
        change_modstamp=datetime(2026, 12, 7, 14, 3, 11, 0, tzinfo=UTC),
        change_status=ChangeStatus.NEEDS_REVIEW,
        last_change_at=NOW,
        change_error="held for review: street changed in SAP",
        change_claimed_at=NOW,
        change_review={
            "systemModstamp": "2026-12-07T14:03:11.000Z",
            "fields": [{"field": "street", "sap": "Ä 1", "salesforce": "C 3"}],
        },
    )


def test_every_change_field_round_trips(table):
    stored = table.claim(held())

    assert table.get(ACCOUNT) == stored


def test_a_finished_change_clears_what_it_no_longer_holds(table):
    stored = table.claim(held())

    table.update(
        stored.evolve(change_status=ChangeStatus.APPLIED, change_error=None, change_claimed_at=None, change_review=None)
    )

    entry = table.get(ACCOUNT)
    assert entry.change_status is ChangeStatus.APPLIED
    assert (entry.change_error, entry.change_claimed_at, entry.change_review) == (None, None, None)
    assert entry.applied_digests == held().applied_digests


def test_hand_edited_change_properties_read_as_none(table, azurite, unique_name):
    table.claim(held())
    client = TableServiceClient.from_connection_string(azurite.connection_string).get_table_client(
        f"ledger{unique_name}"
    )
    entity = client.get_entity(ACCOUNT, "ledger")
    entity.update({"AppliedDigests": "[not json", "ChangeStatus": "exploded", "ChangeReview": "42"})
    client.update_entity(entity, mode=UpdateMode.REPLACE)

    entry = table.get(ACCOUNT)

    assert (entry.applied_digests, entry.change_status, entry.change_review) == (None, ChangeStatus.NONE, None)
    assert entry.customer_number == "0000100042"
