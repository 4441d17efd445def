"""A claim whose answer was lost: storage applied the claim write, the worker never heard so, and its next
step meets its own claim. It must go on with it (one customer, at once), not take it for another worker's
and wait a claim window (the retry drain's finding, issue 27).

What the table adapter reports in that case (shared/storage/table_ledger.py over azure-core 1.41's
RetryPolicy, checked over Azurite in tests/integration/test_claim_answer_lost.py):
* the claim of a known entry is an If-Match PUT (update_entity, UpdateMode.REPLACE). A read timeout
  (requests' ReadTimeout -> ServiceResponseTimeoutError) or a reset after the request went out is retried by
  RetryPolicy, whose method allow-list holds PUT; the retry meets the ETag the first try produced: 412, which
  the adapter reports as LedgerConflict. Every try timing out: LedgerUnavailable.
* the claim of a new entry is a POST (create_entity), which RetryPolicy never retries on an exception (POST is
  not in the allow-list): the adapter reports LedgerUnavailable. A 409 would need our own code to send the
  insert again (the HTTP path's rounds do, after a read that found nothing).
The fake below applies the write and then raises what the adapter raises.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import sap_simulator as simulator
from shared.core.ledger import LedgerEntry, LedgerStatus
from shared.core.outbound_message import parse_outbound_message
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.validation import parse_customer_request
from shared.storage.port import LedgerConflict, LedgerUnavailable
from shared.usecases import Outcome, RetryOutcome, Services, create_customer, retry_create_customer
from shared.usecases.push import PushOutcome, receive_outbound_message
from shared.usecases.reconcile import _claim_and_queue
from shared.usecases.services import StorageUnavailable
from tests.fakes.ports import InMemoryLedger
from tests.support.outbound_messages import ORGANIZATION_ID, account_fields_of, outbound_message
from tests.support.samples import sample

REFUSED_ON_RETRY = LedgerConflict("412 Precondition Failed: the first try changed the ETag (fake)")
TIMED_OUT = LedgerUnavailable("ledger storage unavailable (ServiceResponseTimeoutError (timed out)) (fake)")


class LostAnswerLedger(InMemoryLedger):
    """The in-memory ledger whose next claim or update is applied and then reported as `error`, as the table
    adapter reports a write whose answer was lost (see the module's docstring); `applied=False`: the write
    never reached storage (the same error, nothing stored)."""

    def __init__(self, rows: InMemoryLedger) -> None:
        super().__init__()
        self._rows, self._etags = rows._rows, rows._etags
        self._armed: dict[str, tuple[Exception, bool]] = {}
        self.writes_lost = 0
        self.reads_fail_after_loss = False

    def lose_answer(self, operation: str, error: Exception, *, applied: bool = True) -> None:
        self._armed[operation] = (error, applied)

    def _write(self, operation: str, entry: LedgerEntry, write) -> LedgerEntry:
        armed = self._armed.pop(operation, None)
        if armed is None:
            return write(entry)
        error, applied = armed
        if applied:
            write(entry)
        self.writes_lost += 1
        if self.reads_fail_after_loss:
            self.available = False  # storage stays away: the read-back fails too
        raise error

    def claim(self, entry: LedgerEntry) -> LedgerEntry:
        return self._write("claim", entry, super().claim)

    def update(self, entry: LedgerEntry) -> LedgerEntry:
        return self._write("update", entry, super().update)


@pytest.fixture
def ledger(fake_services: Services) -> LostAnswerLedger:
    lossy = LostAnswerLedger(fake_services.ledger)  # type: ignore[arg-type]
    fake_services.ledger = lossy
    return lossy


def _request():
    return parse_customer_request(sample("german-account"))


def _customers(system: simulator.SimulatedSap) -> int:
    return len(system.created_customers())


def _queued_by_reconcile(services: Services) -> RetryMessage:
    """A QUEUED entry and its message carrying the entry as stored (the retry claims it unread: a PUT)."""
    assert _claim_and_queue(_request().account_id, _request().to_payload(), services)
    [message] = services.retry_queue.take_all()
    return RetryMessage.from_json(message.to_json())


def _queued_by_http(services: Services, system: simulator.SimulatedSap) -> RetryMessage:
    """A first attempt that failed before SAP: the retry reads, then claims with a PUT."""
    system.faults.arm("communication_before")
    assert create_customer(_request(), services).outcome is Outcome.QUEUED
    [message] = services.retry_queue.take_all()
    return message


def _unknown_account_message(services: Services) -> RetryMessage:
    """A retry of an account the ledger does not hold (its claim was released): the retry inserts (a POST)."""
    request = _request()
    return RetryMessage(
        kind=RetryKind.CREATE,
        account_id=request.account_id,
        tracking_id="t-released",
        payload=request.to_payload(),
        attempt=1,
        first_seen_at=services.clock().isoformat(),
        retry_token="token-1",
    )


def _finished_at_once(
    services: Services, system: simulator.SimulatedSap, ledger: LostAnswerLedger, *, first_attempt: bool = True
) -> None:
    entry = ledger.get(_request().account_id)
    assert ledger.writes_lost == 1
    assert entry is not None and entry.status is LedgerStatus.CREATED and _customers(system) == 1
    # Its own claim never reached SAP: not taken over as a dead worker's (which marks the outcome unknown and
    # searches first), and nothing comes back later.
    assert entry.outcome_unknown is False
    if first_attempt:
        assert system.calls["BAPI_CUSTOMER_FIND"] == 0
    assert services.retry_queue.take_all() == []


@pytest.mark.parametrize("error", [REFUSED_ON_RETRY, TIMED_OUT], ids=["412 on the SDK's retry", "every try timed out"])
@pytest.mark.parametrize("writer", ["reconcile (claimed unread)", "http path (claimed after a read)"])
def test_a_retry_whose_claim_was_stored_but_its_answer_lost_creates_at_once(
    fake_services, sap_system, ledger, error, writer
):
    if writer.startswith("reconcile"):
        message = _queued_by_reconcile(fake_services)
    else:
        message = _queued_by_http(fake_services, sap_system)
    ledger.lose_answer("update", error)

    assert retry_create_customer(message, fake_services) is RetryOutcome.CREATED

    # (after the HTTP path's failed attempt the retry searches whatever its claim met: not counted here)
    _finished_at_once(fake_services, sap_system, ledger, first_attempt=writer.startswith("reconcile"))


def test_a_retry_whose_insert_was_stored_but_timed_out_creates_at_once(fake_services, sap_system, ledger):
    ledger.lose_answer("claim", TIMED_OUT)

    assert retry_create_customer(_unknown_account_message(fake_services), fake_services) is RetryOutcome.CREATED

    _finished_at_once(fake_services, sap_system, ledger)


def test_a_retry_whose_claim_timed_out_before_storage_got_it_claims_again(fake_services, sap_system, ledger):
    message = _queued_by_reconcile(fake_services)
    ledger.lose_answer("update", TIMED_OUT, applied=False)

    assert retry_create_customer(message, fake_services) is RetryOutcome.CREATED

    _finished_at_once(fake_services, sap_system, ledger)


def test_a_retry_whose_claim_and_read_back_both_fail_is_left_to_the_host(fake_services, sap_system, ledger):
    message = _queued_by_reconcile(fake_services)
    ledger.lose_answer("update", TIMED_OUT)
    ledger.reads_fail_after_loss = True

    with pytest.raises(StorageUnavailable):
        retry_create_customer(message, fake_services)  # the host delivers the message again

    ledger.available = True
    assert _customers(sap_system) == 0 and ledger.get(message.account_id).status is LedgerStatus.PENDING


def test_a_copy_of_the_message_meeting_a_claim_it_did_not_write_still_defers(fake_services, sap_system, ledger):
    """Recognising one's own claim is per attempt, not per message: two copies of one message (the same token
    and tracking id) never both reach SAP."""
    message = _queued_by_reconcile(fake_services)
    stored = ledger.get(message.account_id)
    ledger.update(stored.evolve(status=LedgerStatus.PENDING, updated_at=fake_services.clock(), retry_token=None))

    assert retry_create_customer(message, fake_services) is RetryOutcome.DEFERRED
    assert _customers(sap_system) == 0


@pytest.mark.parametrize(
    "error", [TIMED_OUT, LedgerConflict("409 Conflict (fake)")], ids=["the POST timed out", "409 on a second insert"]
)
def test_a_request_whose_insert_was_stored_but_its_answer_lost_creates_at_once(
    fake_services, sap_system, ledger, error
):
    ledger.lose_answer("claim", error)

    result = create_customer(_request(), fake_services)

    assert result.outcome is Outcome.CREATED  # not 503 (nothing recorded, said wrongly) nor 202 in_progress
    _finished_at_once(fake_services, sap_system, ledger)


@pytest.mark.parametrize("error", [REFUSED_ON_RETRY, TIMED_OUT], ids=["412 on the SDK's retry", "every try timed out"])
def test_a_request_whose_takeover_was_stored_but_its_answer_lost_creates_at_once(
    fake_services, sap_system, ledger, error
):
    now = fake_services.clock()
    failed = LedgerEntry(
        account_id=_request().account_id,
        status=LedgerStatus.FAILED,
        tracking_id="t-before",
        created_at=now - timedelta(hours=1),
        updated_at=now - timedelta(hours=1),
        last_error="SAP rejected the request (a person fixed the account since)",
    )
    ledger.claim(failed)
    ledger.lose_answer("update", error)

    result = create_customer(_request(), fake_services)

    assert result.outcome is Outcome.CREATED  # not 202 in_progress for its own request
    _finished_at_once(fake_services, sap_system, ledger)


# --- the push path: its claim is a QUEUED entry owned by a fresh retry token, then the create message ---


def _notify(services: Services):
    """One outbound message about the sample account, through the push path's use case."""
    accounts = [account_fields_of(sample("german-account"))]
    message = parse_outbound_message(outbound_message(accounts))
    [result] = receive_outbound_message(message, ORGANIZATION_ID, services)
    return result


@pytest.mark.parametrize(
    ("known", "error"),
    [(False, TIMED_OUT), (True, REFUSED_ON_RETRY), (True, TIMED_OUT)],
    ids=["new account, the POST timed out", "failed account, 412 on the SDK's retry", "failed account, timed out"],
)
def test_a_notification_whose_queued_entry_was_stored_but_its_answer_lost_queues_the_create(
    fake_services, sap_system, ledger, known, error
):
    if known:  # failed an hour ago; the notification is of a change made since
        an_hour_ago = fake_services.clock() - timedelta(hours=1)
        ledger.claim(
            LedgerEntry(
                account_id=_request().account_id,
                status=LedgerStatus.FAILED,
                tracking_id="t-before",
                created_at=an_hour_ago,
                updated_at=an_hour_ago,
                last_error="SAP rejected the request (a person fixed the account since)",
            )
        )
    ledger.lose_answer("update" if known else "claim", error)

    result = _notify(fake_services)

    # Queued with its create message, not taken for a create in hand (whose message would never come: the
    # account would wait for the sweep to find its entry overdue, an hour and more) nor answered 503.
    assert result.outcome is PushOutcome.QUEUED
    [message] = fake_services.retry_queue.take_all()
    entry = ledger.get(_request().account_id)
    assert entry.status is LedgerStatus.QUEUED and message.retry_token == entry.retry_token
    assert message.written_entry == entry.evolve(payload=None)  # claimed unread by the retry: no read more
    assert retry_create_customer(message, fake_services) is RetryOutcome.CREATED
    assert _customers(sap_system) == 1 and ledger.get(_request().account_id).status is LedgerStatus.CREATED
