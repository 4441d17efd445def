"""The retry's claim without a read: a message carries the QUEUED entry its writer stored (and that
entry's ETag), claims it with one ETag-guarded write, and reads only when the entry changed since.

The writers that store the entry before queueing (the reconcile and the push path) attach it; the HTTP
path's and a retry's follow-up queue the message first (a death in between must leave a claim that
is taken over once stale, not a QUEUED entry no message owns), so those read first as before.

Over the real simulator and the in-memory ledger (same conditional-write contract as the table; the
round trips on Azurite are counted in tests/integration/test_retry_round_trips.py)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

import sap_simulator as simulator
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.retry_message import RetryMessage
from shared.core.validation import parse_customer_request
from shared.usecases import Outcome, RetryOutcome, Services, create_customer, retry_create_customer
from shared.usecases.reconcile import _claim_and_queue
from shared.usecases.sweep import sweep_abandoned
from tests.fakes.ports import InMemoryLedger
from tests.support.samples import sample


class CountingLedger(InMemoryLedger):
    """Counts reads; every write can be made to fail once (the table refusing, or down)."""

    def __init__(self, rows: InMemoryLedger) -> None:
        super().__init__()
        self._rows, self._etags = rows._rows, rows._etags
        self.reads = 0
        self.fail_next_update: Exception | None = None

    def get(self, account_id: str) -> LedgerEntry | None:
        self.reads += 1
        return super().get(account_id)

    def update(self, entry: LedgerEntry) -> LedgerEntry:
        if self.fail_next_update is not None:
            error, self.fail_next_update = self.fail_next_update, None
            raise error
        return super().update(entry)


@pytest.fixture
def ledger(fake_services: Services) -> CountingLedger:
    counting = CountingLedger(fake_services.ledger)  # type: ignore[arg-type]
    fake_services.ledger = counting
    # The flow writes back (as in the benchmark): the reads counted are the retry's own, not those of
    # recording a Salesforce write-back (shared/usecases/writeback.py set_writeback).
    fake_services.writeback = None
    return counting


def _request():
    return parse_customer_request(sample("german-account"))


def _customers(system: simulator.SimulatedSap) -> int:
    return len(system.created_customers())


def _queued(services: Services, system: simulator.SimulatedSap) -> RetryMessage:
    """An account the reconcile queued (it stores the QUEUED entry, then queues its create)."""
    assert _claim_and_queue(_request().account_id, _request().to_payload(), services)
    [message] = services.retry_queue.take_all()
    return RetryMessage.from_json(message.to_json())  # as the trigger gets it: through the queue's JSON


def test_a_writer_that_stores_first_queues_a_message_carrying_the_entry_it_stored(fake_services, sap_system, ledger):
    message = _queued(fake_services, sap_system)

    stored = ledger.get(message.account_id)
    assert stored is not None and stored.status is LedgerStatus.QUEUED
    assert message.written_entry == stored.evolve(payload=None)  # ETag included


def test_the_http_paths_retry_message_carries_no_entry_and_reads_first(fake_services, sap_system, ledger):
    sap_system.faults.arm("communication_before")
    assert create_customer(_request(), fake_services).outcome is Outcome.QUEUED
    [message] = fake_services.retry_queue.take_all()
    reads = ledger.reads

    assert message.written_entry is None
    assert retry_create_customer(message, fake_services) is RetryOutcome.CREATED
    assert ledger.reads == reads + 1


def test_a_retry_claims_without_reading_when_the_entry_is_as_written(fake_services, sap_system, ledger):
    message = _queued(fake_services, sap_system)
    reads = ledger.reads

    assert retry_create_customer(message, fake_services) is RetryOutcome.CREATED

    assert ledger.reads == reads  # claim and result, no read
    entry = ledger.get(message.account_id)
    assert entry.status is LedgerStatus.CREATED and entry.payload is None and _customers(sap_system) == 1


def test_the_claim_holds_the_same_entry_a_read_would_have_led_to(fake_services, sap_system, ledger):
    message = _queued(fake_services, sap_system)
    before = ledger.get(message.account_id)
    now = fake_services.clock()
    fake_services.clock = lambda: now  # both claims made at one instant
    claims: list[LedgerEntry] = []

    def record_the_claim_and_stop(entry: LedgerEntry) -> LedgerEntry:
        claims.append(entry)
        raise RuntimeError("stopped after the claim")

    ledger.update = record_the_claim_and_stop  # type: ignore[method-assign]
    for variant in (message, dataclasses.replace(message, written_entry=None)):  # unread, then read first
        with pytest.raises(RuntimeError):
            retry_create_customer(variant, fake_services)

    unread_claim, claim_after_read = claims
    # Each attempt's claim carries an id of its own (shared.core.claims.own_claim): the only difference.
    assert unread_claim.claim_id and claim_after_read.claim_id and unread_claim.claim_id != claim_after_read.claim_id
    assert unread_claim.evolve(claim_id=None) == claim_after_read.evolve(claim_id=None)
    assert unread_claim.etag == before.etag
    assert unread_claim.status is LedgerStatus.PENDING and unread_claim.payload == before.payload


@pytest.mark.parametrize(
    "change", ["a second copy claimed it", "a resend took the overdue entry over", "the sweep's check took it over"]
)
def test_a_retry_whose_entry_changed_reads_and_decides_as_before(fake_services, sap_system, ledger, change):
    message = _queued(fake_services, sap_system)
    now = fake_services.clock()
    if change == "a second copy claimed it":
        sap_system.faults.arm("communication_before")
        assert retry_create_customer(message, fake_services) is RetryOutcome.REQUEUED
        expected = RetryOutcome.SKIPPED  # the follow-up owns the account now
    else:
        overdue = now + fake_services.windows.queued_overdue_after + timedelta(seconds=1)
        fake_services.clock = lambda: overdue
        if change == "a resend took the overdue entry over":
            assert create_customer(_request(), fake_services).outcome is Outcome.CREATED
        else:
            assert sweep_abandoned(fake_services).checked == (message.account_id,)
            [check] = fake_services.retry_queue.take_all()
            assert retry_create_customer(check, fake_services) is RetryOutcome.CREATED
        expected = RetryOutcome.SKIPPED  # created meanwhile
    fake_services.retry_queue.take_all()
    reads, customers = ledger.reads, _customers(sap_system)

    assert retry_create_customer(message, fake_services) is expected

    assert ledger.reads == reads + 1  # the refused claim, then the read that decides
    assert _customers(sap_system) == customers <= 1


def test_a_message_from_before_the_change_still_reads_first(fake_services, sap_system, ledger):
    message = _queued(fake_services, sap_system)
    old = RetryMessage.from_json(dataclasses.replace(message, written_entry=None).to_json())
    reads = ledger.reads

    assert retry_create_customer(old, fake_services) is RetryOutcome.CREATED
    assert ledger.reads == reads + 1
