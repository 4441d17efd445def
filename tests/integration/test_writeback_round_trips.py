"""The table round trips of a Salesforce write-back on Azurite, counted on the wire: the write-back state
updates the entry its caller holds (the result just stored, or the entry a write-back retry read) with that
entry's ETag, without reading it again (issue 23). A create that writes back: claim, number held, result,
write-back state (4; it was 5 with a read before the state). A queued write-back: read, write-back state (2;
it was 3). Should anything write the entry in between, the ETag-guarded update is refused and the entry read,
so the state still lands.

The product's own adapters (TableLedger, StorageRetryQueue) and the simulator; Salesforce is the in-memory
write-back (tests/fakes/ports.py). Every HTTP request of the table client is counted (azure-core's
raw_request_hook), so a retry of the SDK or a hidden read would show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from shared.core.ledger import WriteBackStatus
from shared.core.models import MappingWarning
from shared.core.retry_message import RetryKind
from shared.core.validation import parse_customer_request
from shared.storage.port import Ledger
from shared.storage.table_ledger import table_ledger_from_settings
from shared.usecases import Outcome, RetryOutcome, create_customer, retry_create_customer
from tests.fakes.ports import RecordingWriteBack
from tests.support.round_trips import TableRequests, counted_services, through_the_queue
from tests.support.samples import sample

pytestmark = pytest.mark.azurite


class WriteBackWhileSomeoneWrites(RecordingWriteBack):
    """Salesforce takes the number while another writer (here an operator's note, through a ledger client of
    its own, not counted) changes the account's entry: the ETag the write-back holds is gone."""

    def __init__(self, other_writer: Ledger) -> None:
        super().__init__()
        self.other_writer = other_writer

    def record_created(
        self, account_id: str, customer_number: str, synced_at: datetime, warnings: Sequence[MappingWarning] = ()
    ) -> None:
        super().record_created(account_id, customer_number, synced_at, warnings)
        current = self.other_writer.get(account_id)
        assert current is not None
        self.other_writer.update(current.evolve(search_from=synced_at))


@pytest.fixture
def table_requests() -> TableRequests:
    return TableRequests()


def test_a_create_that_writes_back_records_the_write_back_on_the_entry_it_stored_unread(
    sap_system, storage_settings, table_requests
):
    salesforce = RecordingWriteBack()
    services = counted_services(storage_settings, table_requests, salesforce)
    request = parse_customer_request(sample("german-account"))

    assert services.ledger.get(request.account_id) is None  # the table made (once per process), outside the count
    before = table_requests.count

    result = create_customer(request, services)

    assert result.outcome is Outcome.CREATED and result.writeback is WriteBackStatus.DONE
    assert table_requests.count - before == 4  # claim, number held, result, write-back state: no read
    entry = services.ledger.get(request.account_id)
    assert entry is not None and entry.writeback is WriteBackStatus.DONE
    assert salesforce.created == {request.account_id: [result.customer_number]}


def test_a_queued_write_back_reads_the_entry_once(sap_system, storage_settings, table_requests):
    salesforce = RecordingWriteBack(unavailable=True)
    services = counted_services(storage_settings, table_requests, salesforce)
    request = parse_customer_request(sample("german-account"))
    assert create_customer(request, services).writeback is WriteBackStatus.QUEUED
    message = through_the_queue(storage_settings)
    assert message.kind is RetryKind.WRITEBACK
    salesforce.unavailable = False
    before = table_requests.count

    assert retry_create_customer(message, services) is RetryOutcome.WRITTEN_BACK

    assert table_requests.count - before == 2  # the read (warnings, done already?), the write-back state
    entry = services.ledger.get(request.account_id)
    assert entry is not None and entry.writeback is WriteBackStatus.DONE and entry.last_error is None
    assert salesforce.created == {request.account_id: [message.customer_number]}


def test_a_write_back_whose_entry_changed_meanwhile_reads_it_and_keeps_the_other_write(
    sap_system, storage_settings, table_requests
):
    salesforce = WriteBackWhileSomeoneWrites(table_ledger_from_settings(storage_settings))
    services = counted_services(storage_settings, table_requests, salesforce)
    request = parse_customer_request(sample("german-account"))

    assert services.ledger.get(request.account_id) is None  # the table made (once per process), outside the count
    before = table_requests.count

    result = create_customer(request, services)

    assert result.outcome is Outcome.CREATED and result.writeback is WriteBackStatus.DONE
    # claim, number held, result, the refused update (412), the read, the write-back state
    assert table_requests.count - before == 6
    entry = services.ledger.get(request.account_id)
    assert entry is not None and entry.writeback is WriteBackStatus.DONE
    assert entry.search_from is not None  # the other writer's change stands
