"""The use cases over the real simulator and in-memory fakes of ledger, queue and write-back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

import sap_simulator as simulator
from shared.core.ledger import LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.mapping import split_name
from shared.core.models import InvalidRequest
from shared.core.retry_message import RetryKind, RetryMessage
from shared.core.validation import parse_customer_request
from shared.usecases import (
    Outcome,
    RetryOutcome,
    Services,
    StorageUnavailable,
    account_status,
    create_customer,
    retry_create_customer,
)
from tests.support.concurrency import run_together
from tests.support.samples import sample


def _request(name: str = "german-account", **changes: str):
    payload = sample(name)
    payload.update(changes)
    return parse_customer_request(payload)


def _customers_for(system: simulator.SimulatedSap, account_id: str) -> list:
    """The SAP customers created for the account. SAP holds no Salesforce Id (BAPIKNA106 has no field
    for one), so the samples' names tell accounts apart; every create here is of the sample's name."""
    first_lines = {split_name(sample(name)["name"])[0] for name in ("german-account", "us-account")}
    return [record for record in system.created_customers() if record.address.get("NAME") in first_lines]


def drain(services: Services) -> list[RetryOutcome]:
    """Run the queue trigger's use case until the fake queue is empty (delays are not waited for)."""
    outcomes = []
    for _ in range(50):
        messages = services.retry_queue.take_all()
        if not messages:
            return outcomes
        outcomes.extend(retry_create_customer(message, services) for message in messages)
    raise AssertionError("retry queue did not drain")


def test_create_then_replay_returns_the_same_number(fake_services, sap_system):
    request = _request()
    first = create_customer(request, fake_services)
    second = create_customer(request, fake_services)

    assert first.outcome is Outcome.CREATED
    assert first.customer_number is not None and len(first.customer_number) == 10
    assert second.outcome is Outcome.ALREADY_EXISTS
    assert second.customer_number == first.customer_number
    assert len(_customers_for(sap_system, request.account_id)) == 1
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.status is LedgerStatus.CREATED and entry.customer_number == first.customer_number
    assert fake_services.writeback.created == {request.account_id: [first.customer_number]}
    assert entry.writeback is WriteBackStatus.DONE


def test_transient_failure_is_queued_and_the_retry_creates_once(fake_services, sap_system):
    sap_system.faults.arm("communication_before")
    request = _request()

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.QUEUED
    assert result.retry_after_seconds == fake_services.retry.retry_after_seconds
    [queued] = fake_services.retry_queue.queued
    assert queued.message.kind is RetryKind.CREATE and queued.message.attempt == 1
    # the line broke around the create (outcome unknown): the retry waits at least the claim window, so it
    # cannot overlap the unit it may have left running (issue 20), even beyond the longest backoff
    assert account_status(request.account_id, fake_services.ledger).outcome_unknown
    assert queued.delay_seconds >= fake_services.stale_claim_after.total_seconds()
    assert account_status(request.account_id, fake_services.ledger).status is LedgerStatus.QUEUED
    # while queued, the flow sending the same account again gets the same tracking id, no second create
    again = create_customer(request, fake_services)
    assert again.outcome is Outcome.QUEUED and again.tracking_id == result.tracking_id

    assert drain(fake_services) == [RetryOutcome.CREATED]
    [customer] = _customers_for(sap_system, request.account_id)
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.status is LedgerStatus.CREATED and entry.customer_number == customer.number
    assert entry.attempts == 2
    assert fake_services.writeback.created[request.account_id] == [customer.number]


def test_answer_lost_after_commit_is_healed_by_the_duplicate_guard(fake_services, sap_system):
    sap_system.faults.arm("communication_after_commit")
    request = _request("us-account")

    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    assert len(_customers_for(sap_system, request.account_id)) == 1  # SAP did commit

    assert drain(fake_services) == [RetryOutcome.CREATED]
    [customer] = _customers_for(sap_system, request.account_id)
    assert account_status(request.account_id, fake_services.ledger).customer_number == customer.number


def test_communication_error_before_commit_leaves_no_customer(fake_services, sap_system):
    sap_system.faults.arm("communication_after_bapi")
    request = _request()

    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    assert _customers_for(sap_system, request.account_id) == []


def test_business_rejection_is_final_and_written_to_salesforce(fake_services, sap_system):
    request = _request(
        "us-account", salesOrganization="3000", distributionChannel="10", division="00", referenceCustomer="0000001000"
    )  # 1000 exists only in sales area 1000/10/00

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.REJECTED
    assert result.rejection is not None and result.rejection.type in ("E", "A")
    assert result.rejection.id and result.rejection.number and result.rejection.text
    assert fake_services.retry_queue.queued == []
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.status is LedgerStatus.FAILED and result.rejection.text in entry.last_error
    [written] = fake_services.writeback.failed[request.account_id]
    assert result.rejection.id in written and result.rejection.number in written


def test_a_failed_account_can_be_sent_again_once_fixed(fake_services, sap_system):
    bad = _request("us-account", referenceCustomer="0000001000")
    assert create_customer(bad, fake_services).outcome is Outcome.REJECTED

    fixed = create_customer(_request("us-account"), fake_services)

    assert fixed.outcome is Outcome.CREATED
    assert account_status(bad.account_id, fake_services.ledger).attempts == 1


def test_logon_error_waits_the_longest_delay_and_is_reported_as_configuration(fake_services, sap_system, caplog):
    sap_system.faults.logon_error = True
    request = _request()

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.QUEUED
    assert "configuration" in result.error
    [queued] = fake_services.retry_queue.queued
    assert queued.delay_seconds == fake_services.retry.max_delay_seconds
    assert any("configuration problem" in r.getMessage() for r in caplog.records)
    # the retry does not hammer SAP either: again the longest delay
    fake_services.retry_queue.take_all()
    assert retry_create_customer(queued.message, fake_services) is RetryOutcome.REQUEUED
    assert fake_services.retry_queue.queued[0].delay_seconds == fake_services.retry.max_delay_seconds


def test_attempts_run_out_into_the_poison_queue(fake_services, sap_system):
    sap_system.faults.down = True
    request = _request()
    create_customer(request, fake_services)

    outcomes = drain(fake_services)

    assert outcomes[-1] is RetryOutcome.GAVE_UP
    assert len(outcomes) == fake_services.retry.max_attempts - 1
    [parked] = fake_services.retry_queue.poison
    assert parked.attempt == fake_services.retry.max_attempts
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.status is LedgerStatus.FAILED and "gave up" in entry.last_error


def test_queue_down_answers_storage_unavailable_and_releases_the_claim(fake_services, sap_system):
    # SAP unreachable at logon: nothing was sent, so nothing can have been created. (A communication
    # error on the create call itself is an unknown outcome: see the next test.)
    sap_system.faults.down = True
    fake_services.retry_queue.available = False
    request = _request()

    with pytest.raises(StorageUnavailable):
        create_customer(request, fake_services)

    assert account_status(request.account_id, fake_services.ledger) is None
    fake_services.retry_queue.available = True
    sap_system.faults.down = False
    assert create_customer(request, fake_services).outcome is Outcome.CREATED


def test_queue_down_after_an_unknown_sap_outcome_keeps_the_claim_so_the_next_attempt_searches(
    fake_services, sap_system
):
    sap_system.faults.arm("communication_after_commit")  # SAP committed; the answer was lost
    fake_services.retry_queue.available = False
    request = _request()

    with pytest.raises(StorageUnavailable):
        create_customer(request, fake_services)

    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.status is LedgerStatus.PENDING and entry.outcome_unknown
    with pytest.raises(StorageUnavailable):  # a resend meanwhile is not accepted without a message behind it
        create_customer(request, fake_services)
    fake_services.retry_queue.available = True
    assert create_customer(request, fake_services).outcome is Outcome.IN_PROGRESS  # the claim is not stale yet
    now = fake_services.clock()
    fake_services.clock = lambda: now + fake_services.stale_claim_after + timedelta(seconds=1)
    taken_over = create_customer(request, fake_services)

    # The takeover searched first and adopted the customer SAP had committed (200, adopted: true).
    assert taken_over.outcome is Outcome.ALREADY_EXISTS
    assert account_status(request.account_id, fake_services.ledger).adopted
    assert len(_customers_for(sap_system, request.account_id)) == 1


def test_ledger_down_answers_storage_unavailable_before_sap_is_called(fake_services, sap_system):
    fake_services.ledger.available = False
    with pytest.raises(StorageUnavailable):
        create_customer(_request(), fake_services)
    assert sap_system.calls.get("BAPI_CUSTOMER_CREATEFROMDATA1", 0) == 0


def test_salesforce_down_queues_the_write_back_alone(fake_services, sap_system):
    fake_services.writeback.unavailable = True
    request = _request()

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.CREATED and result.writeback is WriteBackStatus.QUEUED
    [queued] = fake_services.retry_queue.queued
    assert queued.message.kind is RetryKind.WRITEBACK
    assert queued.message.customer_number == result.customer_number
    creates_before = sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"]

    fake_services.writeback.unavailable = False
    assert drain(fake_services) == [RetryOutcome.WRITTEN_BACK]
    assert sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == creates_before
    assert fake_services.writeback.created[request.account_id] == [result.customer_number]
    assert account_status(request.account_id, fake_services.ledger).writeback is WriteBackStatus.DONE


def test_concurrent_duplicates_reach_sap_once(fake_services, sap_system):
    sap_system.configure_faults("latency_ms=20")
    request = _request()

    results = run_together(*[lambda: create_customer(request, fake_services)] * 8)

    assert len(_customers_for(sap_system, request.account_id)) == 1
    created = [r for r in results if r.outcome is Outcome.CREATED]
    assert len(created) == 1
    assert {r.outcome for r in results} <= {Outcome.CREATED, Outcome.IN_PROGRESS, Outcome.ALREADY_EXISTS}
    assert all(r.tracking_id == created[0].tracking_id for r in results)


def test_a_stale_claim_of_a_dead_worker_is_taken_over(fake_services, sap_system):
    request = _request()
    now = fake_services.clock()
    fake_services.clock = lambda: now

    fake_services.ledger.claim(
        LedgerEntry(request.account_id, LedgerStatus.PENDING, "dead-worker", created_at=now, updated_at=now)
    )
    assert create_customer(request, fake_services).outcome is Outcome.IN_PROGRESS

    fake_services.clock = lambda: now + timedelta(seconds=61)
    result = create_customer(request, fake_services)
    assert result.outcome is Outcome.CREATED and result.tracking_id == "dead-worker"


def test_missing_sales_area_is_a_field_error(fake_services):
    payload = sample("us-account")
    payload.pop("companyCode")
    with pytest.raises(InvalidRequest) as raised:
        create_customer(parse_customer_request(payload), fake_services)
    assert [e.field for e in raised.value.errors] == ["salesOrganization"]


def test_salesforce_login_failure_queues_the_write_back_with_the_longest_delay(fake_services, sap_system):
    fake_services.writeback.login_fails = True
    request = _request()

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.CREATED and result.writeback is WriteBackStatus.QUEUED
    [queued] = fake_services.retry_queue.queued
    assert queued.delay_seconds == fake_services.retry.max_delay_seconds
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.writeback is WriteBackStatus.QUEUED and "invalid_client" in entry.last_error

    fake_services.writeback.login_fails = False
    assert drain(fake_services) == [RetryOutcome.WRITTEN_BACK]
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.writeback is WriteBackStatus.DONE and entry.last_error is None


def test_write_back_attempts_run_out_into_the_poison_queue_and_show_in_the_ledger(fake_services, sap_system):
    fake_services.writeback.unavailable = True
    request = _request()
    create_customer(request, fake_services)

    outcomes = drain(fake_services)

    assert outcomes[-1] is RetryOutcome.GAVE_UP
    [parked] = fake_services.retry_queue.poison
    assert parked.kind is RetryKind.WRITEBACK
    entry = account_status(request.account_id, fake_services.ledger)
    assert entry.status is LedgerStatus.CREATED and "gave up" in entry.last_error
    assert sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1


# --- races between the HTTP path, the queue trigger, redeliveries and replays -------------------------


def _queued_message(fake_services, sap_system, request):
    """A create that failed transiently: the ledger is QUEUED and owned by the returned message."""
    sap_system.faults.arm("communication_before")
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    [message] = fake_services.retry_queue.take_all()
    return message


def test_a_retry_arriving_while_a_live_worker_holds_the_account_is_deferred_not_run(fake_services, sap_system):
    request = _request()
    message = _queued_message(fake_services, sap_system, request)
    entry = account_status(request.account_id, fake_services.ledger)
    fake_services.ledger.update(entry.evolve(status=LedgerStatus.PENDING, updated_at=fake_services.clock()))
    creates = sap_system.calls.get("BAPI_CUSTOMER_CREATEFROMDATA1", 0)

    assert retry_create_customer(message, fake_services) is RetryOutcome.DEFERRED

    assert sap_system.calls.get("BAPI_CUSTOMER_CREATEFROMDATA1", 0) == creates
    [deferred] = fake_services.retry_queue.queued
    # The same attempt, back later; it no longer claims unread: the entry it knew has changed.
    assert deferred.message == dataclasses.replace(message, written_entry=None) and deferred.delay_seconds > 0


def test_two_copies_of_one_retry_message_create_one_customer(fake_services, sap_system):
    request = _request()
    message = _queued_message(fake_services, sap_system, request)
    sap_system.configure_faults("latency_ms=30")

    outcomes = run_together(*[lambda: retry_create_customer(message, fake_services)] * 2)

    assert sorted(outcomes) == sorted([RetryOutcome.CREATED, RetryOutcome.DEFERRED])
    assert len(_customers_for(sap_system, request.account_id)) == 1
    sap_system.configure_faults("")
    assert drain(fake_services) == [RetryOutcome.SKIPPED]  # the deferred copy finds the work done


def test_an_older_copy_of_a_retry_message_is_dropped_once_a_newer_one_owns_the_account(fake_services, sap_system):
    request = _request()
    first = _queued_message(fake_services, sap_system, request)
    sap_system.faults.arm("communication_before")
    assert retry_create_customer(first, fake_services) is RetryOutcome.REQUEUED  # owner is now the follow-up

    assert retry_create_customer(first, fake_services) is RetryOutcome.SKIPPED  # a host redelivery of `first`
    assert drain(fake_services) == [RetryOutcome.CREATED]
    assert len(_customers_for(sap_system, request.account_id)) == 1


def test_a_poison_replay_racing_a_resend_from_the_flow_creates_one_customer(fake_services, sap_system):
    request = _request()
    sap_system.faults.down = True
    create_customer(request, fake_services)
    drain(fake_services)
    [parked] = fake_services.retry_queue.poison
    assert account_status(request.account_id, fake_services.ledger).status is LedgerStatus.FAILED
    sap_system.faults.down = False
    sap_system.configure_faults("latency_ms=30")
    replayed = RetryMessage.from_json(parked.to_json())

    run_together(
        lambda: retry_create_customer(replayed, fake_services), lambda: create_customer(request, fake_services)
    )

    sap_system.configure_faults("")
    drain(fake_services)
    assert len(_customers_for(sap_system, request.account_id)) == 1
    assert account_status(request.account_id, fake_services.ledger).status is LedgerStatus.CREATED


def test_a_queued_account_whose_message_was_lost_is_taken_over_by_a_resend(fake_services, sap_system):
    request = _request()
    _queued_message(fake_services, sap_system, request)  # taken off the queue and never handled
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED  # still within its delay
    now = fake_services.clock()
    fake_services.clock = lambda: (
        now + timedelta(seconds=fake_services.retry.max_delay_seconds) + 3 * fake_services.stale_claim_after
    )

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.CREATED
    assert len(_customers_for(sap_system, request.account_id)) == 1


def test_storage_failing_after_the_sap_create_still_answers_with_the_number(fake_services, sap_system):
    request = _request()
    real_update = fake_services.ledger.update

    def update_then_fail(entry):
        stored = real_update(entry)
        fake_services.ledger.available = False  # storage goes down right after recording CREATED
        return stored

    fake_services.ledger.update = update_then_fail

    result = create_customer(request, fake_services)

    assert result.outcome is Outcome.CREATED and result.customer_number
    assert fake_services.writeback.created[request.account_id] == [result.customer_number]


def test_the_202_answer_names_the_kind_of_problem_not_sap_internals(fake_services, sap_system):
    sap_system.faults.down = True
    result = create_customer(_request(), fake_services)
    assert result.error == "SAP unavailable (CommunicationError)"
    assert "partner" not in create_customer(_request(), fake_services).error


def test_an_in_progress_answer_is_backed_by_a_check_that_finishes_a_dead_workers_claim(fake_services, sap_system):
    request = _request()
    now = fake_services.clock()
    fake_services.clock = lambda: now
    fake_services.ledger.claim(
        LedgerEntry(request.account_id, LedgerStatus.PENDING, "dead-worker", created_at=now, updated_at=now)
    )

    assert create_customer(request, fake_services).outcome is Outcome.IN_PROGRESS

    [check] = fake_services.retry_queue.queued
    assert check.message.kind is RetryKind.CHECK
    assert check.delay_seconds > fake_services.stale_claim_after.total_seconds()  # back once the claim is stale
    fake_services.clock = lambda: now + fake_services.stale_claim_after + timedelta(seconds=1)
    assert drain(fake_services) == [RetryOutcome.CREATED]
    [customer] = _customers_for(sap_system, request.account_id)
    assert account_status(request.account_id, fake_services.ledger).customer_number == customer.number


def test_a_check_does_nothing_once_the_claim_holder_finished(fake_services, sap_system):
    request = _request()
    assert create_customer(request, fake_services).outcome is Outcome.CREATED
    check = RetryMessage(
        kind=RetryKind.CHECK,
        account_id=request.account_id,
        tracking_id="t",
        payload={},
        attempt=0,
        first_seen_at="2026-11-27T00:00:00+00:00",
    )
    assert (
        retry_create_customer(dataclasses.replace(check, payload=request.to_payload()), fake_services)
        is RetryOutcome.SKIPPED
    )
    assert sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 1


def test_an_old_copy_of_a_message_does_not_reopen_a_failed_account(fake_services, sap_system):
    request = _request()
    sap_system.faults.down = True
    create_customer(request, fake_services)
    [first] = fake_services.retry_queue.queued
    drain(fake_services)
    assert account_status(request.account_id, fake_services.ledger).status is LedgerStatus.FAILED
    sap_system.faults.down = False

    assert retry_create_customer(first.message, fake_services) is RetryOutcome.SKIPPED  # a late redelivery
    assert _customers_for(sap_system, request.account_id) == []
    replay = dataclasses.replace(fake_services.retry_queue.poison[0], attempt=0)  # what `admin poison replay` sends
    assert retry_create_customer(replay, fake_services) is RetryOutcome.CREATED


def test_the_status_never_shows_the_sap_systems_address(fake_services, sap_system):
    request = _request()
    sap_system.faults.down = True
    create_customer(request, fake_services)

    status = account_status(request.account_id, fake_services.ledger).to_status_json()

    assert "sapsim" not in status["lastError"] and "3300" not in status["lastError"]
    assert "partner '***' not reached" in status["lastError"]
