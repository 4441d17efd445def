"""An account whose create stops trying after an unknown outcome ends `needs_review`, never `failed`
(issue 22, item 5): SAP may hold its customer, and `failed` says it does not. The rule is
shared.core.retry_policy.status_after_final_failure (tests/unit/test_final_failure_rules.py)."""

from __future__ import annotations

import azure.functions as func

import sap_simulator as simulator
from functions.customers import get_sap_customer_create_outcome
from shared.core.ledger import LedgerStatus
from shared.core.retry_message import RetryKind
from shared.usecases import Outcome, RetryOutcome, Services, create_customer
from shared.usecases.status import resolve_needs_review
from tests.unit.test_service import _customers_for, _request, drain


def test_attempts_that_run_out_after_an_unknown_outcome_hold_the_account_for_review(
    fake_services: Services, sap_system: simulator.SimulatedSap
):
    sap_system.faults.arm("communication_after_commit")  # SAP committed; the answer was lost
    request = _request()
    assert create_customer(request, fake_services).outcome is Outcome.QUEUED
    [customer] = _customers_for(sap_system, request.account_id)
    sap_system.faults.down = True  # and then SAP is unreachable for every retry

    outcomes = drain(fake_services)

    assert outcomes[-1] is RetryOutcome.NEEDS_REVIEW
    assert RetryOutcome.GAVE_UP not in outcomes
    entry = fake_services.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.NEEDS_REVIEW and entry.outcome_unknown
    assert entry.attempts == fake_services.retry.max_attempts
    assert "gave up after" in entry.last_error and "SAP may hold the customer" in entry.last_error
    assert entry.payload == request.to_payload()  # an operator's resolve --create can send it again
    # Not parked: a replay of a held account is skipped; the operator resolves it instead.
    assert fake_services.retry_queue.poison == []
    assert fake_services.writeback.failed == {}  # nothing says "Failed" on the account
    # The flow's poll of the create's outcome: held for review (409), not failed (502).
    polled = get_sap_customer_create_outcome(
        func.HttpRequest(
            "GET",
            f"http://localhost:7071/api/customers/{request.account_id}/outcome",
            body=b"",
            route_params={"accountId": request.account_id},
        )
    )
    assert polled.status_code == 409

    # The operator checks SAP, finds the customer the lost answer had created, and names it.
    sap_system.faults.down = False
    resolved = resolve_needs_review(request.account_id, fake_services, customer_number=customer.number)
    assert resolved.status is LedgerStatus.CREATED and resolved.customer_number == customer.number
    assert len(_customers_for(sap_system, request.account_id)) == 1


def test_attempts_that_run_out_with_every_outcome_known_still_fail_into_the_poison_queue(
    fake_services: Services, sap_system: simulator.SimulatedSap
):
    sap_system.faults.down = True  # nothing ever reached SAP
    request = _request()
    create_customer(request, fake_services)

    assert drain(fake_services)[-1] is RetryOutcome.GAVE_UP
    entry = fake_services.ledger.get(request.account_id)
    assert entry.status is LedgerStatus.FAILED and not entry.outcome_unknown
    assert [message.kind for message in fake_services.retry_queue.poison] == [RetryKind.CREATE]
