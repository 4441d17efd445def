"""The push path's Salesforce metadata and the Power Automate switch hold together with the code:
the outbound message sends the fields the app reads, the record-triggered flow sends it only when an
account becomes a new customer (never on the sync's own write-back), the endpoint is the app's route,
the deploy fills in the secret parts, and the Power Automate flow stands down when the push path is on."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func
import pytest

from functions import push
from shared.core import account_fields
from shared.salesforce import simple_salesforce
from shared.salesforce.port import CUSTOMER_NUMBER_FIELD, SYNC_STATUS_FIELD
from tests.unit import test_flow_definition as power_automate

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "salesforce"
SOURCE = PROJECT / "force-app" / "main" / "default"
WORKFLOW = SOURCE / "workflows" / "Account.workflow-meta.xml"
FLOW = SOURCE / "flows" / "SAP_Customer_Sync_Push.flow-meta.xml"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
# Standard Account fields (Salesforce's Account object reference) the outbound message may send.
STANDARD_ACCOUNT_FIELDS = {"Id", "Name", "Type", "BillingStreet", "BillingCity", "BillingPostalCode", "BillingState",
                           "BillingCountry", "Phone", "LastModifiedDate"}


def text(element: ElementTree.Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


@pytest.fixture(scope="module")
def outbound_message() -> ElementTree.Element:
    [message] = ElementTree.parse(WORKFLOW).getroot().findall("md:outboundMessages", NS)
    return message


@pytest.fixture(scope="module")
def flow() -> ElementTree.Element:
    return ElementTree.parse(FLOW).getroot()


def test_the_outbound_message_sends_exactly_the_fields_the_push_path_reads(outbound_message):
    sent = [field.text for field in outbound_message.findall("md:fields", NS)]
    assert tuple(sent) == account_fields.OUTBOUND_MESSAGE_FIELDS
    for name in sent:
        assert name in STANDARD_ACCOUNT_FIELDS or (SOURCE / "objects" / "Account" / "fields"
                                                   / f"{name}.field-meta.xml").is_file(), name


def test_the_outbound_message_carries_no_session_and_uses_salesforces_own_retries(outbound_message):
    assert text(outbound_message, "md:includeSessionId") == "false"  # the app never calls back with it
    assert text(outbound_message, "md:protected") == "false"
    assert text(outbound_message, "md:useDeadLetterQueue") == "false"
    assert text(outbound_message, "md:apiVersion") == json.loads((PROJECT / "sfdx-project.json").read_text())[
        "sourceApiVersion"]


def _registered_route() -> str:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(push.bp)
    [function] = app.get_functions()
    trigger = function.get_trigger().get_dict_repr()
    assert str(getattr(trigger["authLevel"], "value", trigger["authLevel"])) == "function"
    return "/api/" + trigger["route"]


def test_the_endpoint_is_the_apps_route_with_the_function_key_filled_in_at_deploy(outbound_message):
    endpoint = text(outbound_message, "md:endpointUrl")
    parts = urlsplit(endpoint)
    assert parts.scheme == "https" and parts.path == _registered_route() and parts.query == "code=FUNCTION_KEY"
    replacements = json.loads((PROJECT / "sfdx-project.json").read_text())["replacements"]
    by_text = {r["stringToReplace"]: r for r in replacements}
    workflow_file = str(WORKFLOW.relative_to(PROJECT))
    assert by_text[endpoint]["filename"] == workflow_file and by_text[endpoint]["replaceWithEnv"]
    user = text(outbound_message, "md:integrationUser")
    assert by_text[user]["filename"] == workflow_file and by_text[user]["replaceWithEnv"]
    assert not any(r.get("allowUnsetEnvVariable") for r in replacements)  # an unset variable stops the deploy


def test_the_flow_sends_the_outbound_message_after_the_save(flow, outbound_message):
    [action] = flow.findall("md:actionCalls", NS)
    assert text(action, "md:actionType") == "outboundMessage"
    assert text(action, "md:actionName") == f"Account.{text(outbound_message, 'md:fullName')}"
    start = flow.find("md:start", NS)
    assert text(start, "md:connector/md:targetReference") == text(action, "md:name")
    assert (text(start, "md:object"), text(start, "md:triggerType"), text(start, "md:recordTriggerType")) == \
        ("Account", "RecordAfterSave", "CreateAndUpdate")
    assert text(flow, "md:processType") == "AutoLaunchedFlow"


# --- the entry conditions, evaluated the way Salesforce documents them -----------------------------------

def _value(filter_: ElementTree.Element) -> object:
    value = filter_.find("md:value", NS)
    if value.find("md:booleanValue", NS) is not None:
        return text(value, "md:booleanValue") == "true"
    return text(value, "md:stringValue")


def meets(record: dict, flow: ElementTree.Element) -> bool:
    start = flow.find("md:start", NS)
    assert text(start, "md:filterLogic") == "and"
    results = []
    for filter_ in start.findall("md:filters", NS):
        field, operator, value = text(filter_, "md:field"), text(filter_, "md:operator"), _value(filter_)
        actual = record.get(field) or None
        results.append({"EqualTo": lambda a, v: a == v, "NotEqualTo": lambda a, v: a != v,
                        "IsNull": lambda a, v: (a is None) == v}[operator](actual, value))
    return all(results)


def starts(before: dict | None, after: dict, flow: ElementTree.Element) -> bool:
    """A record-triggered flow with "only when a record is updated to meet the condition requirements"
    (doesRequireRecordChangedToMeetCriteria): runs on create when the record meets them, on update only
    when the record did not meet them before the save and does after it."""
    assert text(flow.find("md:start", NS), "md:doesRequireRecordChangedToMeetCriteria") == "true"
    return meets(after, flow) and (before is None or not meets(before, flow))


PROSPECT = {"Id": "001Dn00000AbCdEIAV", "Name": "Acme", "Type": "Prospect", CUSTOMER_NUMBER_FIELD: None,
            SYNC_STATUS_FIELD: None}
CUSTOMER = {**PROSPECT, "Type": account_fields.CUSTOMER_TYPE}


def test_an_account_becoming_a_customer_or_created_as_one_is_sent(flow):
    assert starts(PROSPECT, CUSTOMER, flow)
    assert starts(None, CUSTOMER, flow)


@pytest.mark.parametrize("change", [{"Type": "Prospect"}, {CUSTOMER_NUMBER_FIELD: "0000100042"},
                                    {SYNC_STATUS_FIELD: "Failed"}])
def test_other_accounts_are_not_sent(flow, change):
    assert not starts(None, {**CUSTOMER, **change}, flow)


def test_an_edit_of_a_customer_waiting_for_its_number_is_not_sent_again(flow):
    assert not starts(CUSTOMER, {**CUSTOMER, "Name": "Acme Holding"}, flow)


def _written_back(record: dict, created: bool) -> dict:
    sent: list[dict] = []
    writer = object.__new__(simple_salesforce.SimpleSalesforceWriteBack)
    writer._update_account = lambda account_id, values: sent.append(values)
    if created:
        writer.record_created(record["Id"], "0000100042", datetime.now(UTC))
    else:
        writer.record_failed(record["Id"], "invalid account data: postalCode: ...", datetime.now(UTC))
    return {**record, **sent[0]}


@pytest.mark.parametrize("created", [True, False], ids=["number", "failure"])
def test_the_sync_writing_back_never_sends_the_account_again(flow, created):
    assert not starts(CUSTOMER, _written_back(CUSTOMER, created), flow)


def test_a_person_clearing_the_failed_status_after_fixing_the_account_sends_it_again(flow):
    failed = _written_back(CUSTOMER, created=False)
    assert starts(failed, {**failed, "BillingPostalCode": "80331", SYNC_STATUS_FIELD: None}, flow)
    assert not starts(failed, {**failed, "BillingPostalCode": "80331"}, flow)  # fixing alone is not a resend


def test_the_flows_and_the_codes_values_are_the_same(flow):
    assert account_fields.STATUS_FAILED == simple_salesforce.STATUS_FAILED
    assert account_fields.CUSTOMER_NUMBER_FIELD == CUSTOMER_NUMBER_FIELD
    assert account_fields.SYNC_STATUS_FIELD == SYNC_STATUS_FIELD
    values = {text(f, "md:field"): _value(f) for f in flow.find("md:start", NS).findall("md:filters", NS)}
    assert values == {account_fields.TYPE_FIELD: account_fields.CUSTOMER_TYPE, CUSTOMER_NUMBER_FIELD: True,
                      SYNC_STATUS_FIELD: account_fields.STATUS_FAILED}


# --- the Power Automate flow: the same fields, and the switch ----------------------------------------------

def test_the_power_automate_flow_passes_the_same_fields_under_the_same_properties():
    parameters = power_automate.ACTIONS[power_automate.CREATE]["inputs"]["parameters"]
    passed = {value.removeprefix("@triggerOutputs()?['body/").removesuffix("']"): name.removeprefix("body/")
              for name, value in parameters.items()}
    assert passed == account_fields.REQUEST_PROPERTY_OF_FIELD


def _with_trigger(value: str) -> dict:
    values = power_automate.parameters()
    [name] = [n for n, spec in power_automate.DEFINITION["parameters"].items()
              if spec.get("metadata", {}).get("schemaName") == "sapsync_Trigger"]
    values[name] = value
    return values


def test_the_power_automate_flow_creates_nothing_while_the_push_path_is_the_way_in():
    condition = power_automate.ACTIONS[power_automate.CONDITION]["expression"]
    assert power_automate.holds(condition, power_automate.NEW_CUSTOMER, _with_trigger("flow"))
    assert not power_automate.holds(condition, power_automate.NEW_CUSTOMER, _with_trigger("push"))
    assert power_automate.starts(power_automate.NEW_CUSTOMER)  # the default stays the flow
