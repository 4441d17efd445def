"""The cloud flow of flow/solution, played by tests/support/flow_engine.py (the engine's asynchronous
pattern: follow a 202's Location, honour Retry-After within a bound, stop at the first answer that is not
202) against the function app through the local host, with Azurite for the ledger and the retry queue
and the SAP simulator. Write-back by the flow (`sapsync_WriteBack=flow`, `SALESFORCE_WRITEBACK=flow`):
the flow run that got the 202 is the one that writes the number once the queue has created the customer.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import sap_simulator as simulator
from devtools.azurite import AzuriteEndpoints
from shared.core.mapping import split_name
from tests.support.flow_engine import (
    CustomConnector,
    FlowRun,
    Recorder,
    mail_recorder,
    salesforce_recorder,
    sharepoint_recorder,
)
from tests.support.product import local_app_settings, local_host_serving_the_app
from tests.support.samples import sample

ROOT = Path(__file__).resolve().parents[2]
[WORKFLOW_FILE] = sorted((ROOT / "flow" / "solution" / "Workflows").glob("*.json"))
FLOW = json.loads(WORKFLOW_FILE.read_text(encoding="utf-8"))
SWAGGER = json.loads((ROOT / "connector" / "apiDefinition.swagger.json").read_text(encoding="utf-8"))
INTEGRATION_USER = "005Dn000001IntUSERAA"
PERSON = "005Dn000001PersonAA"


@dataclass
class Played:
    run: FlowRun
    connector: CustomConnector
    salesforce: Recorder
    mail: Recorder

    def updates(self) -> list[dict]:
        return [parameters for operation, parameters in self.salesforce.calls if operation == "PatchItem_V3"]


@pytest.fixture
def function_app(
    azurite: AzuriteEndpoints, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, simulator.SimulatedSap]]:
    settings = local_app_settings(
        azurite.connection_string,
        f"retry{unique_name}",
        f"ledger{unique_name}",
        RETRY_MAX_ATTEMPTS="12",
        RETRY_AFTER_SECONDS="1",
        SALESFORCE_WRITEBACK="flow",
    )
    with local_host_serving_the_app(settings, monkeypatch) as (base_url, system):
        yield base_url, system


def account_record(payload: dict) -> dict:
    """The Salesforce trigger's record (body/<field>) for a sample request: a new Customer a person saved."""
    return {
        "Id": payload["accountId"],
        "Name": payload["name"],
        "Type": "Customer",
        "BillingStreet": payload.get("street"),
        "BillingCity": payload.get("city"),
        "BillingPostalCode": payload.get("postalCode"),
        "BillingState": payload.get("state"),
        "BillingCountry": payload.get("country"),
        "Phone": payload.get("phone"),
        "SAP_Company_Code__c": payload.get("companyCode"),
        "SAP_Sales_Organization__c": payload.get("salesOrganization"),
        "SAP_Distribution_Channel__c": payload.get("distributionChannel"),
        "SAP_Division__c": payload.get("division"),
        "SAP_Reference_Customer__c": None,
        "SAP_Customer_Number__c": None,
        "LastModifiedById": PERSON,
    }


def flow_parameters() -> dict:
    values = {name: spec.get("defaultValue") for name, spec in FLOW["properties"]["definition"]["parameters"].items()}
    by_schema = {
        spec.get("metadata", {}).get("schemaName"): name
        for name, spec in FLOW["properties"]["definition"]["parameters"].items()
    }
    values[by_schema["sapsync_IntegrationUserId"]] = INTEGRATION_USER
    values[by_schema["sapsync_WriteBack"]] = "flow"
    values[by_schema["sapsync_NotifyAddress"]] = "sync-owner@example.com"
    return values


def play(
    base_url: str,
    payload: dict,
    before_poll: Callable[[int, requests.Response], None] | None = None,
    record: dict | None = None,
) -> Played:
    """One run for a person's save of the account of `payload` (or of `record`, the trigger's record as given)."""
    connector = CustomConnector(
        SWAGGER,
        base_url,
        function_key="local",
        max_wait_seconds=1.0,
        poll_deadline_seconds=90.0,
        before_poll=before_poll,
    )
    salesforce, mail = salesforce_recorder(), mail_recorder()
    run = FlowRun(
        FLOW,
        flow_parameters(),
        record if record is not None else account_record(payload),
        {
            "shared_sapcustomersync": connector,
            "shared_salesforce": salesforce,
            "shared_office365": mail,
            "shared_sharepointonline": sharepoint_recorder(),
        },
    ).run()
    played = Played(run, connector, salesforce, mail)
    assert_never_synced_without_a_number(played)
    return played


def assert_never_synced_without_a_number(played: Played) -> None:
    """Synced is written with the number, or (the change branch) on an account that has its number."""
    has_one = played.run.context.trigger_outputs["body"].get("SAP_Customer_Number__c")
    for update in played.updates():
        if update.get("item/SAP_Sync_Status__c") == "Synced":
            assert update.get("item/SAP_Customer_Number__c") or has_one, update


def ledger_status(base_url: str, account_id: str) -> dict:
    return requests.get(f"{base_url}/api/customers/{account_id}", timeout=30).json()


def test_a_queued_create_ends_in_the_created_branch_with_the_number_sap_gave(function_app):
    base_url, system = function_app
    payload = sample("german-account")
    system.faults.down = True  # SAP unreachable: the create is queued, 202

    def sap_comes_back(poll: int, answer: requests.Response) -> None:
        if poll == 0:
            assert answer.json()["status"] == "queued"
            system.faults.down = False

    played = play(base_url, payload, sap_comes_back)

    create = played.run.runs["Create_SAP_customer"]
    assert played.connector.polls and played.connector.polls[0].status == 202  # it was polled, not answered at once
    # The Location is absolute and names the host the create reached; each wait is the answer's Retry-After
    # (RETRY_AFTER_SECONDS=1, within the player's bound).
    assert {poll.location for poll in played.connector.polls} == {
        f"{base_url}/api/customers/{payload['accountId']}/outcome"
    }
    assert {poll.waited_seconds for poll in played.connector.polls} == {1.0}
    assert create.status == "Succeeded" and create.outputs["statusCode"] == 201
    number = create.outputs["body"]["customerNumber"]
    [customer] = system.customers_where("NAME", split_name(payload["name"])[0])
    assert customer.number == number
    assert played.run.ran("Update_account_synced") and not played.run.ran("Update_account_failed")
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] == "Synced" and update["item/SAP_Customer_Number__c"] == number
    assert update["id"] == payload["accountId"] and update["item/SAP_Sync_Error__c"] is None
    assert played.mail.calls == []
    assert ledger_status(base_url, payload["accountId"])["customerNumber"] == number


def test_a_queued_create_that_sap_rejects_ends_in_the_failed_branch_with_sap_s_reason(function_app):
    base_url, system = function_app
    payload = sample("german-account")
    system.faults.down = True

    def sap_comes_back_without_the_region(poll: int, answer: requests.Response) -> None:
        if poll == 0:
            del system.customizing.regions["DE"]["09"]  # T005S lacks Bavaria: SAP rejects the retry
            system.faults.down = False

    played = play(base_url, payload, sap_comes_back_without_the_region)

    create = played.run.runs["Create_SAP_customer"]
    assert played.connector.polls[0].status == 202
    assert create.status == "Failed" and create.outputs["statusCode"] == 422
    assert played.run.ran("Update_account_failed") and not played.run.ran("Update_account_synced")
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] == "Failed"
    assert update["item/SAP_Sync_Error__c"].startswith("SAP rejected: E ") and "09" in update["item/SAP_Sync_Error__c"]
    assert "item/SAP_Customer_Number__c" not in update
    [(_, mail)] = played.mail.calls
    assert mail["emailMessage/To"] == "sync-owner@example.com"
    assert ledger_status(base_url, payload["accountId"])["status"] == "failed"


def test_a_queued_create_the_guard_cannot_decide_ends_visibly_held_for_review(function_app):
    base_url, system = function_app
    payload = sample("german-account")
    # The line breaks after the commit: SAP has the customer, the app does not know; the retry searches.
    system.faults.arm("communication_after_commit")

    def a_twin_appears(poll: int, answer: requests.Response) -> None:
        if poll == 0:
            [first] = system.customers_where("NAME", split_name(payload["name"])[0])
            system.add_customer(dataclasses.replace(first, number="0000199999"))  # two plausible matches

    played = play(base_url, payload, a_twin_appears)

    create = played.run.runs["Create_SAP_customer"]
    assert played.connector.polls[0].status == 202
    assert create.outputs["statusCode"] == 409 and create.outputs["body"]["status"] == "needs_review"
    assert played.run.ran("Update_account_held")
    assert not played.run.ran("Update_account_synced") and not played.run.ran("Update_account_failed")
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] is None and "item/SAP_Customer_Number__c" not in update
    assert update["item/SAP_Sync_Error__c"].startswith("Held for review by an operator: ")
    assert "0000199999" in update["item/SAP_Sync_Error__c"]
    assert len(played.mail.calls) == 1
    assert len(system.customers_where("NAME", split_name(payload["name"])[0])) == 2  # nothing more created
    assert ledger_status(base_url, payload["accountId"])["status"] == "needs_review"


def test_a_create_answered_at_once_is_written_without_polling(function_app):
    base_url, _system = function_app
    payload = sample("german-account")

    played = play(base_url, payload)

    create = played.run.runs["Create_SAP_customer"]
    assert create.outputs["statusCode"] == 201 and played.connector.polls == []
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] == "Synced"
    assert update["item/SAP_Customer_Number__c"] == create.outputs["body"]["customerNumber"]
    assert update["item/SAP_Sync_Warnings__c"] is None  # nothing was shortened: the field is cleared


def test_a_shortened_street_queued_then_created_is_written_with_its_warning_and_not_its_value(function_app):
    base_url, system = function_app
    street = "Lange Strasse mit sehr vielen Zeichen 123"  # 41 characters: SAP's STREET takes 35
    payload = dict(sample("german-account"), street=street)
    system.faults.down = True

    def sap_comes_back(poll: int, answer: requests.Response) -> None:
        if poll == 0:
            system.faults.down = False

    played = play(base_url, payload, sap_comes_back)

    assert played.connector.polls[0].status == 202
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] == "Synced"
    warnings = update["item/SAP_Sync_Warnings__c"]
    assert warnings.startswith("street shortened") and len(warnings) <= 255
    assert street not in warnings and "Lange" not in warnings  # the rule, never the value
    assert ledger_status(base_url, payload["accountId"])["warnings"][0]["field"] == "street"


# --- the change branch (issue 26): a synced account's change through ChangeSAPCustomer ---------------------------


def synced_record(payload: dict, number: str, modstamp: str, **changes: str) -> dict:
    """The trigger's record after a person changed a synced account: the number and Synced written back, the
    person's change, its SystemModstamp."""
    return {
        **account_record(payload),
        "SAP_Customer_Number__c": number,
        "SAP_Sync_Status__c": "Synced",
        "SystemModstamp": modstamp,
        **changes,
    }


def created(base_url: str, payload: dict) -> str:
    played = play(base_url, payload)
    assert played.run.runs["Create_SAP_customer"].outputs["statusCode"] == 201
    return played.run.runs["Create_SAP_customer"].outputs["body"]["customerNumber"]


def test_a_changed_street_reaches_sap_through_the_change_branch_and_nothing_else_changes(function_app):
    base_url, system = function_app
    payload = sample("german-account")
    number = created(base_url, payload)
    before = dict(system.customer(number).address)
    calls_before = system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"]

    played = play(
        base_url,
        payload,
        record=synced_record(payload, number, "2099-01-01T10:00:00.000Z", BillingStreet="Karlsplatz 2"),
    )

    change = played.run.runs["Change_SAP_customer"]
    assert not played.run.ran("Create_SAP_customer")
    assert change.outputs["statusCode"] == 200 and change.outputs["body"]["change"] == "applied"
    assert change.outputs["body"]["changedFields"] == ["street"] and played.connector.polls == []
    after = system.customer(number).address
    assert after["STREET"] == "Karlsplatz 2"
    assert {key: value for key, value in after.items() if key != "STREET"} == {
        key: value for key, value in before.items() if key != "STREET"
    }
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == calls_before + 1
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] == "Synced" and "item/SAP_Customer_Number__c" not in update
    assert played.mail.calls == []

    # The same save seen again (the trigger polls; a flow run repeated): stale, nothing sent to SAP, nothing written.
    again = play(
        base_url,
        payload,
        record=synced_record(payload, number, "2099-01-01T10:00:00.000Z", BillingStreet="Karlsplatz 2"),
    )
    assert again.run.runs["Change_SAP_customer"].outputs["body"]["change"] == "stale"
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == calls_before + 1 and again.updates() == []


def test_a_change_sap_rejects_ends_failed_on_the_account_with_sap_s_reason(function_app):
    base_url, system = function_app
    payload = sample("german-account")
    number = created(base_url, payload)
    del system.customizing.regions["DE"]["09"]  # T005S lacks Bavaria now: SAP rejects the changed address

    played = play(
        base_url,
        payload,
        record=synced_record(payload, number, "2099-01-01T10:00:00.000Z", BillingStreet="Karlsplatz 2"),
    )

    change = played.run.runs["Change_SAP_customer"]
    assert change.status == "Failed" and change.outputs["statusCode"] == 422
    [update] = played.updates()
    assert update["item/SAP_Sync_Status__c"] == "Failed"
    assert update["item/SAP_Sync_Error__c"].startswith("SAP rejected: ")
    assert len(played.mail.calls) == 1
    assert system.customer(number).address["STREET"] != "Karlsplatz 2"


def test_a_change_while_sap_is_down_is_queued_final_for_the_flow_and_applied_by_the_app(function_app):
    base_url, system = function_app
    payload = sample("german-account")
    number = created(base_url, payload)
    system.faults.down = True

    played = play(
        base_url,
        payload,
        record=synced_record(payload, number, "2099-01-01T10:00:00.000Z", BillingStreet="Karlsplatz 2"),
    )

    change = played.run.runs["Change_SAP_customer"]
    assert change.outputs["statusCode"] == 202 and change.outputs["body"]["change"] == "queued"
    assert played.connector.polls == [] and played.updates() == [] and played.mail.calls == []
    system.faults.down = False
    deadline = time.monotonic() + 60
    while system.customer(number).address.get("STREET") != "Karlsplatz 2":  # the local host's queue trigger
        assert time.monotonic() < deadline, ledger_status(base_url, payload["accountId"])
        time.sleep(0.2)
    assert ledger_status(base_url, payload["accountId"])["lastChangeStatus"] == "applied"
