"""Issue 26's acceptance over the real parts in process: the production RFC gateway over the SAP simulator
(BAPI_CUSTOMER_CHANGEFROMDATA1 with its X flags, GETDETAIL1, the commit; line breaks after the change or the
commit), the ledger on Azurite (real ETags), the push path's and the change endpoint's use cases, and the
retry queue's messages drained by the queue trigger's use case (in memory: shuffled, copies and delays
ignored, which makes the order worse than Azure's, never better).

    a changed street reaches SAP (change endpoint and push path); nothing else in SAP changes
    out of order: B, A, B -> SAP holds B, one change call for B, none for A
    a storm of 50 accounts x 5 changes, duplicated and reordered, lines cut after the change or the commit
    a change while the create is queued -> one customer holding the newest values
    a value changed in SAP: salesforce_wins overwrites and logs the field; review holds both values (admin status)
    a change SAP rejects ends failed with SAP's reason written back; the next valid change applies
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from devtools.fake_salesforce import salesforce_id18
from shared.core.change_request import parse_change_request
from shared.core.change_rules import ConflictRule
from shared.core.ledger import ChangeStatus, LedgerStatus
from shared.core.outbound_message import parse_outbound_message
from shared.core.validation import parse_customer_request
from shared.settings import RetrySettings, load_settings
from shared.storage.table_ledger import TableLedger
from shared.usecases import Outcome, Services, create_customer, retry_create_customer
from shared.usecases.change import ChangeOutcome, change_customer
from shared.usecases.push import receive_outbound_message
from tests.fakes.ports import InMemoryRetryQueue, RecordingWriteBack
from tests.support.change_gateway import SteppingClock
from tests.support.outbound_messages import ORGANIZATION_ID, outbound_message, synced_account_fields_of
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

pytestmark = pytest.mark.azurite

CHANGE = "BAPI_CUSTOMER_CHANGEFROMDATA1"
T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


@pytest.fixture
def services(azurite, unique_name, sap_system) -> Iterator[Services]:
    settings = load_settings({"SAP_TRANSPORT": "simulator"})
    table = TableLedger(TableServiceClient.from_connection_string(azurite.connection_string), f"ledger{unique_name}")
    yield Services(
        sap=simulated_gateway(),
        ledger=table,
        retry_queue=InMemoryRetryQueue(),
        organization=settings.sap_organization,
        retry=RetrySettings(max_attempts=20, base_delay_seconds=1, max_delay_seconds=2),
        writeback=RecordingWriteBack(),
        stale_claim_after=timedelta(seconds=60),
        clock=SteppingClock(),
    )


def payload(number: int = 1, **changes: str) -> dict:
    return {
        **sample("german-account"),
        "accountId": salesforce_id18(f"001Dn{number:010d}"),
        "name": f"Änderung Kunde {number} GmbH",
        **changes,
    }


def create(services: Services, number: int = 1) -> str:
    result = create_customer(parse_customer_request(payload(number)), services)
    assert result.outcome is Outcome.CREATED
    return result.customer_number


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def change(seconds: float, number: int = 1, **changes: str):
    stamp = at(seconds).isoformat().replace("+00:00", "Z")
    return parse_change_request({**payload(number, **changes), "systemModstamp": stamp})


def notification(customer_number: str, seconds: float, number: int = 1, **changes: str) -> dict:
    return synced_account_fields_of(payload(number, **changes), customer_number, modified_at=at(seconds))


def push(services: Services, *accounts: dict) -> None:
    receive_outbound_message(parse_outbound_message(outbound_message(accounts)), ORGANIZATION_ID, services)


def drain(services: Services, workers: int = 1, seed: int = 0) -> None:
    """The queue trigger over every queued message, shuffled, `workers` at a time, until none is left."""
    shuffle = random.Random(seed).shuffle
    for _ in range(200):
        messages = services.retry_queue.take_all()
        if not messages:
            return
        # the messages come back once their delays (and any claim window they wait for) have passed
        services.clock.advance(services.windows.queued_overdue_after)
        shuffle(messages)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda message: retry_create_customer(message, services), messages))
    raise AssertionError("the retry queue did not drain")


def test_a_changed_street_reaches_sap_through_the_change_endpoint_and_nothing_else_changes(services, sap_system):
    number = create(services)
    before = dict(sap_system.customer(number).address)

    result = change_customer(change(10, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.APPLIED and result.changed_fields == ("street",)
    after = sap_system.customer(number).address
    assert {name for name in after if after[name] != before.get(name)} == {"STREET"}
    assert after["STREET"] == "Neue Straße 5"
    assert sap_system.calls[CHANGE] == 1


def test_a_changed_street_reaches_sap_through_the_push_path_and_nothing_else_changes(services, sap_system):
    number = create(services)
    before = dict(sap_system.customer(number).address)

    push(services, notification(number, 10, street="Neue Straße 5"))
    assert sap_system.calls[CHANGE] == 0  # the push path only queues
    drain(services)

    after = sap_system.customer(number).address
    assert {name for name in after if after[name] != before.get(name)} == {"STREET"}
    entry = services.ledger.get(payload()["accountId"])
    assert entry.change_status is ChangeStatus.APPLIED and entry.change_modstamp == at(10)


def test_out_of_order_b_a_b_leaves_b_in_sap_with_one_change_call_for_b_and_none_for_a(services, sap_system):
    number = create(services)
    a = notification(number, 10, city="Augsburg", postalCode="86150")
    b = notification(number, 20, city="Bamberg", postalCode="96047")

    for delivered in (b, a, b):
        push(services, delivered)
        drain(services)

    address = sap_system.customer(number).address
    assert (address["CITY"], address["POSTL_COD1"]) == ("Bamberg", "96047")
    assert sap_system.calls[CHANGE] == 1


def test_a_storm_of_50_accounts_times_5_changes_ends_with_each_accounts_newest_values(services, sap_system):
    numbers = list(range(100, 150))
    with ThreadPoolExecutor(max_workers=8) as pool:
        customers = dict(zip(numbers, pool.map(lambda n: create(services, n), numbers), strict=True))
    creates = len(sap_system.created_customers())
    versions = {
        n: [notification(customers[n], 10 * v + n / 100, n, city=f"Stadt {n} Version {v}") for v in range(1, 6)]
        for n in numbers
    }
    rng = random.Random(26)
    deliveries = [fields for n in numbers for fields in versions[n] for _ in range(rng.choice((1, 1, 2, 3)))]
    rng.shuffle(deliveries)
    sap_system.configure_faults("communication_after_change=0.15,communication_after_commit=0.15,seed=26")

    with ThreadPoolExecutor(max_workers=4) as pool:
        # Salesforce's messages carry up to 100 notifications; here up to 10, four messages at once.
        list(pool.map(lambda i: push(services, *deliveries[i : i + 10]), range(0, len(deliveries), 10)))
        drain(services, workers=8, seed=26)

    assert sap_system.faults.fired.get("communication_after_change", 0) > 0
    assert sap_system.faults.fired.get("communication_after_commit", 0) > 0
    assert len(sap_system.created_customers()) == creates == 50  # no create, no second customer
    for n in numbers:
        assert sap_system.customer(customers[n]).address["CITY"] == f"Stadt {n} Version 5"
        entry = services.ledger.get(payload(n)["accountId"])
        assert entry.change_status in (ChangeStatus.APPLIED, ChangeStatus.UNCHANGED)
        assert entry.change_modstamp == at(50 + n / 100) and entry.change_claimed_at is None
    assert services.retry_queue.poison == []


def test_a_change_while_the_create_is_queued_ends_with_one_customer_holding_the_newest_values(services, sap_system):
    sap_system.faults.arm("communication_before")
    assert create_customer(parse_customer_request(payload()), services).outcome is Outcome.QUEUED

    result = change_customer(change(30, street="Neue Straße 5", city="Augsburg", postalCode="86150"), services)
    assert result.outcome is ChangeOutcome.FOLDED
    drain(services)

    entry = services.ledger.get(payload()["accountId"])
    [customer] = sap_system.customers_where("NAME", "Änderung Kunde 1 GmbH")
    assert entry.status is LedgerStatus.CREATED and entry.customer_number == customer.number
    assert (customer.address["STREET"], customer.address["CITY"]) == ("Neue Straße 5", "Augsburg")


def test_salesforce_wins_overwrites_a_value_changed_in_sap_and_logs_the_field_never_the_value(
    services, sap_system, caplog
):
    number = create(services)
    sap_system.customer(number).address["STREET"] = "In SAP geändert 9"  # someone used XD02

    with caplog.at_level("WARNING"):
        result = change_customer(change(10, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.APPLIED and result.conflicts == ("street",)
    assert sap_system.customer(number).address["STREET"] == "Neue Straße 5"
    [record] = [r for r in caplog.records if "overwritten" in r.getMessage()]
    assert record.fields == ["street"]
    assert "In SAP geändert" not in caplog.text and "Neue Straße" not in caplog.text


def test_review_holds_the_account_with_both_values_in_admin_status(
    services, sap_system, monkeypatch, azurite, unique_name, capsys
):
    from admin import ExitCode
    from admin.__main__ import main

    services.change_conflict = ConflictRule.REVIEW
    number = create(services)
    sap_system.customer(number).address["STREET"] = "In SAP geändert 9"

    result = change_customer(change(10, street="Neue Straße 5"), services)

    assert result.outcome is ChangeOutcome.NEEDS_REVIEW and sap_system.calls[CHANGE] == 0
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("LEDGER_TABLE_NAME", f"ledger{unique_name}")
    assert main(["status", payload()["accountId"], "--json"]) == ExitCode.DONE
    status = json.loads(capsys.readouterr().out)
    assert status["lastChangeStatus"] == "needs_review"
    [held] = status["changeReview"]["fields"]
    assert (held["field"], held["sap"], held["salesforce"]) == ("street", "In SAP geändert 9", "Neue Straße 5")
    assert main(["status", payload()["accountId"]]) == ExitCode.DONE
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("changeReview")]
    assert "street: SAP has 'In SAP geändert 9', Salesforce has 'Neue Straße 5'" in line


def test_a_change_sap_rejects_ends_failed_with_its_reason_and_the_next_valid_change_applies(services, sap_system):
    number = create(services)
    account_id = payload()["accountId"]

    # Sales area 3000/10/00 is configured, but this customer has no sales data there: SAP says F2 156
    # ("Debtor &1 is not created for sales area &2 &3 &4", sap_simulator/changes.py).
    rejected = change_customer(
        change(10, salesOrganization="3000", companyCode="3000", street="Neue Straße 5"), services
    )

    assert rejected.outcome is ChangeOutcome.REJECTED
    assert (rejected.rejection.id, rejected.rejection.number) == ("F2", "156")
    entry = services.ledger.get(account_id)
    assert entry.change_status is ChangeStatus.FAILED and "F2 156" in entry.change_error
    assert services.writeback.failed[account_id][-1].startswith("SAP E F2 156")
    assert sap_system.customer(number).address["STREET"] == "Industriestraße 12"

    applied = change_customer(change(20, street="Neue Straße 5"), services)

    assert applied.outcome is ChangeOutcome.APPLIED
    assert sap_system.customer(number).address["STREET"] == "Neue Straße 5"
    assert services.ledger.get(account_id).change_error is None
