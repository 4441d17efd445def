"""Issue 13's reconcile acceptance: `python -m admin reconcile` against the fake Salesforce over HTTPS
(SOQL through simple-salesforce, several result pages) and the ledger and retry queue on Azurite.

2,500 customer accounts, 300 of them without an SAP number: a dry run queues nothing and exits 5; the
applied run queues exactly those 300, once each; a second run queues none. Then the queue trigger's use
case creates them and the write-back closes the loop: a third run finds nothing at all."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from admin import ExitCode
from admin.__main__ import main
from devtools.fake_salesforce import FakeSalesforce
from shared.core.ledger import LedgerStatus
from shared.core.retry_message import RetryKind, RetryMessage
from shared.salesforce.simple_salesforce import SimpleSalesforceWriteBack
from shared.settings import RetrySettings, SalesforceAuth, load_settings
from shared.storage.queue import StorageRetryQueue, parse_queue_body
from shared.storage.table_ledger import TableLedger
from shared.usecases import RetryOutcome, Services, retry_create_customer

pytestmark = pytest.mark.azurite

ACCOUNTS, WITHOUT_NUMBER = 2500, 300
# Smaller than Salesforce's 2,000 default (which a real org may also undercut): 300 results in 4 pages.
BATCH = 90


def account_id(number: int) -> str:
    return f"001Dn{number:010d}"


def customer(number: int) -> dict[str, str]:
    return {
        "Name": f"Reconcile Kunde {number} GmbH",
        "Type": "Customer",
        "BillingStreet": f"Industriestraße {number}",
        "BillingCity": "München",
        "BillingPostalCode": "80331",
        "BillingState": "Bayern",
        "BillingCountry": "Germany",
        "Phone": "089 1234567",
        "SAP_Company_Code__c": "1000",
        "SAP_Sales_Organization__c": "1000",
        "SAP_Distribution_Channel__c": "10",
        "SAP_Division__c": "00",
    }


@pytest.fixture
def salesforce() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(query_batch_size=BATCH) as fake:
        yield fake


@pytest.fixture
def environment(monkeypatch, azurite, unique_name, salesforce) -> dict[str, str]:
    """The settings an operator exports before running the command."""
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "RETRY_QUEUE_NAME": f"retry-{unique_name}",
        "LEDGER_TABLE_NAME": f"ledger{unique_name}",
        "SALESFORCE_AUTH": "client_credentials",
        "SALESFORCE_LOGIN_URL": salesforce.base_url,
        "SALESFORCE_CLIENT_ID": salesforce.credentials.client_id,
        "SALESFORCE_CLIENT_SECRET": salesforce.credentials.client_secret,
        "SALESFORCE_CA_BUNDLE": salesforce.ca_path,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def queued_messages(environment: dict[str, str]) -> list[RetryMessage]:
    """Every message in the retry queue, read without removing it (hidden for a minute meanwhile)."""
    queue = QueueClient.from_connection_string(environment["AzureWebJobsStorage"], environment["RETRY_QUEUE_NAME"])
    messages: list[RetryMessage] = []
    try:
        queue.get_queue_properties()
    except ResourceNotFoundError:  # nothing was ever queued (a dry run creates no queue)
        return messages
    while batch := list(queue.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=60)):
        for item in batch:
            parsed = parse_queue_body(item.content)
            assert isinstance(parsed, RetryMessage)
            messages.append(parsed)
    return messages


def ledger(environment: dict[str, str]) -> TableLedger:
    from azure.data.tables import TableServiceClient

    return TableLedger(
        TableServiceClient.from_connection_string(environment["AzureWebJobsStorage"]), environment["LEDGER_TABLE_NAME"]
    )


def test_reconcile_queues_exactly_the_customers_without_a_number_once(environment, salesforce, capsys):
    missing = set()
    for number in range(ACCOUNTS):
        if number % (ACCOUNTS // WITHOUT_NUMBER) == 0 and len(missing) < WITHOUT_NUMBER:
            missing.add(salesforce.add_account(account_id(number), **customer(number)))
        else:
            salesforce.add_account(account_id(number), **customer(number), SAP_Customer_Number__c=f"{number:010d}")
    assert len(missing) == WITHOUT_NUMBER

    assert main(["reconcile"]) == ExitCode.WORK_FOUND  # dry run: found, nothing written
    out = capsys.readouterr().out
    assert f"would be queued: {WITHOUT_NUMBER}" in out and "--apply" in out
    assert queued_messages(environment) == []

    pages_before = salesforce.query_requests
    # Nothing drains the queue here: no window (a window below the 300 would wait for a queue trigger).
    assert main(["reconcile", "--apply", "--window", "0"]) == ExitCode.DONE
    assert salesforce.query_requests - pages_before == -(-WITHOUT_NUMBER // BATCH)  # every page followed
    assert f"queued for creation now: {WITHOUT_NUMBER}" in capsys.readouterr().out
    messages = queued_messages(environment)
    assert Counter(message.account_id for message in messages) == Counter(missing)  # those 300, once each
    assert {message.kind for message in messages} == {RetryKind.CREATE}
    table = ledger(environment)
    for message in messages[:20]:
        entry = table.get(message.account_id)
        assert entry.status is LedgerStatus.QUEUED and entry.retry_token == message.retry_token

    assert main(["reconcile", "--apply"]) == ExitCode.DONE  # a second run queues none
    out = capsys.readouterr().out
    assert "queued for creation now: 0" in out and f"in progress (pending or queued): {WITHOUT_NUMBER}" in out
    assert main(["reconcile", "--json"]) == ExitCode.DONE  # and a dry run finds no work
    assert '"wouldQueue": 0' in capsys.readouterr().out


def test_queued_accounts_are_created_once_and_written_back_then_nothing_is_left(
    environment, salesforce, sap_gateway, sap_system, capsys
):
    ids = [salesforce.add_account(account_id(number), **customer(number)) for number in range(5)]
    salesforce.add_account(account_id(99), **{**customer(99), "Type": "Prospect"})  # not a customer: never queued
    assert main(["reconcile", "--apply", "--no-progress"]) == ExitCode.DONE
    capsys.readouterr()

    settings = load_settings(sap_required=False)
    from azure.storage.queue import QueueServiceClient

    services = Services(
        sap=sap_gateway,
        ledger=ledger(environment),
        retry_queue=StorageRetryQueue(
            QueueServiceClient.from_connection_string(environment["AzureWebJobsStorage"]),
            environment["RETRY_QUEUE_NAME"],
        ),
        organization=load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization,
        retry=RetrySettings(queue_name=environment["RETRY_QUEUE_NAME"]),
        stale_claim_after=timedelta(seconds=60),
        writeback=SimpleSalesforceWriteBack(
            salesforce.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS), session=salesforce.session()
        ),
    )
    assert settings.retry.queue_name == environment["RETRY_QUEUE_NAME"]
    messages = queued_messages(environment)
    assert sorted(message.account_id for message in messages) == sorted(ids)
    # The queue trigger's use case, as the function app runs it for each message.
    assert [retry_create_customer(message, services) for message in messages] == [RetryOutcome.CREATED] * 5
    assert len(sap_system.created_customers()) == 5
    for record_id in ids:
        assert salesforce.account(record_id)["SAP_Customer_Number__c"]

    assert main(["reconcile", "--apply"]) == ExitCode.DONE
    assert "Salesforce customers without an SAP number: 0 read" in capsys.readouterr().out


def test_a_refused_salesforce_login_exits_4_and_queues_nothing(environment, salesforce, capsys):
    salesforce.add_account(account_id(1), **customer(1))
    salesforce.refuse_logins(True)
    assert main(["reconcile", "--apply"]) == ExitCode.SALESFORCE_FAILED
    assert "invalid_grant" in capsys.readouterr().err
    assert queued_messages(environment) == []


def test_with_the_older_picklist_the_command_queues_both_customer_values_and_nothing_else(
    environment, salesforce, monkeypatch, capsys
):
    monkeypatch.setenv("SALESFORCE_CUSTOMER_TYPES", "Customer - Direct,Customer - Channel")
    direct = salesforce.add_account(account_id(1), **{**customer(1), "Type": "Customer - Direct"})
    channel = salesforce.add_account(account_id(2), **{**customer(2), "Type": "Customer - Channel"})
    salesforce.add_account(account_id(3), **{**customer(3), "Type": "Prospect"})
    salesforce.add_account(account_id(4), **customer(4))  # "Customer": not a value of this org's list
    assert main(["reconcile", "--apply", "--no-progress"]) == ExitCode.DONE
    assert "queued for creation now: 2" in capsys.readouterr().out
    assert sorted(message.account_id for message in queued_messages(environment)) == sorted([direct, channel])


def test_turning_the_write_back_on_later_the_reconcile_writes_back_the_accounts_created_before(
    environment, salesforce, sap_gateway, sap_system, monkeypatch, capsys
):
    # Issue 22, item 7: created in SAP while nothing wrote numbers back (SALESFORCE_WRITEBACK unset: off).
    ids = [salesforce.add_account(account_id(number), **customer(number)) for number in range(4)]
    assert main(["reconcile", "--apply", "--no-progress"]) == ExitCode.DONE
    from azure.storage.queue import QueueServiceClient

    services = Services(
        sap=sap_gateway,
        ledger=ledger(environment),
        retry_queue=StorageRetryQueue(
            QueueServiceClient.from_connection_string(environment["AzureWebJobsStorage"]),
            environment["RETRY_QUEUE_NAME"],
        ),
        organization=load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization,
        retry=RetrySettings(queue_name=environment["RETRY_QUEUE_NAME"]),
        stale_claim_after=timedelta(seconds=60),
    )
    assert [retry_create_customer(m, services) for m in queued_messages(environment)] == [RetryOutcome.CREATED] * 4
    assert all(not salesforce.account(record_id).get("SAP_Customer_Number__c") for record_id in ids)
    capsys.readouterr()

    # Still off: the command lists them and says why it does not queue their write-back.
    assert main(["reconcile", "--apply", "--no-progress"]) == ExitCode.DONE
    out = capsys.readouterr().out
    assert "created in SAP, number not yet in Salesforce: 4" in out and "SALESFORCE_WRITEBACK is not function" in out

    monkeypatch.setenv("SALESFORCE_WRITEBACK", "function")
    assert main(["reconcile", "--no-progress"]) == ExitCode.WORK_FOUND  # a dry run: found, nothing queued
    assert "write-back would be queued (created in SAP, number not yet in Salesforce): 4" in capsys.readouterr().out
    assert queued_messages(environment) == []

    assert main(["reconcile", "--apply", "--no-progress"]) == ExitCode.DONE
    assert "write-back queued now (created in SAP, number not yet in Salesforce): 4" in capsys.readouterr().out
    messages = queued_messages(environment)
    assert sorted(m.account_id for m in messages) == sorted(ids) and {m.kind for m in messages} == {RetryKind.WRITEBACK}
    creates = sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"]
    # The function app's queue trigger, now writing back through the fake Salesforce.
    writing = dataclasses.replace(
        services,
        writeback=SimpleSalesforceWriteBack(
            salesforce.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS), session=salesforce.session()
        ),
    )
    assert [retry_create_customer(m, writing) for m in messages] == [RetryOutcome.WRITTEN_BACK] * 4
    numbers = {c.number for c in sap_system.created_customers()}
    assert {salesforce.account(record_id)["SAP_Customer_Number__c"] for record_id in ids} == numbers
    assert sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == creates  # SAP was not called again

    assert main(["reconcile", "--apply", "--no-progress"]) == ExitCode.DONE
    assert "Salesforce customers without an SAP number: 0 read" in capsys.readouterr().out


def test_with_a_window_the_queue_never_holds_more_and_every_account_is_queued_once(environment, salesforce, capsys):
    ids = {salesforce.add_account(account_id(number), **customer(number)) for number in range(40)}
    queue = QueueClient.from_connection_string(environment["AzureWebJobsStorage"], environment["RETRY_QUEUE_NAME"])
    queue.create_queue()
    taken: list[str] = []
    depths: list[int] = []
    stop = threading.Event()

    def queue_trigger() -> None:  # takes what is queued, a few at a time, as the function app's trigger would
        while not stop.is_set():
            depths.append(queue.get_queue_properties().approximate_message_count)
            for item in queue.receive_messages(messages_per_page=4, max_messages=4, visibility_timeout=60):
                parsed = parse_queue_body(item.content)
                assert isinstance(parsed, RetryMessage)
                taken.append(parsed.account_id)
                queue.delete_message(item)
            stop.wait(0.1)

    trigger = threading.Thread(target=queue_trigger, daemon=True)
    trigger.start()
    try:
        assert main(["reconcile", "--apply", "--window", "10", "--json"]) == ExitCode.DONE
    finally:
        stop.set()
        trigger.join()
    report = json.loads(capsys.readouterr().out)
    assert report["queued"] == 40 and report["windowWaitSeconds"] > 0  # it waited for the trigger
    assert max(depths) <= 10
    assert Counter(taken + [message.account_id for message in queued_messages(environment)]) == Counter(ids)
