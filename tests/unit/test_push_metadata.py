"""The push path's Salesforce metadata and the Power Automate switch hold together with the code:
the outbound message sends the fields the app reads, the record-triggered flow sends it only when an
account becomes a new customer (never on the sync's own write-back), the endpoint is the app's route,
the deploy fills in the secret parts, and the Power Automate flow stands down when the push path is on."""

from __future__ import annotations

import json
import re
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
from tests.support import salesforce_formula
from tests.unit import test_flow_definition as power_automate

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "salesforce"
SOURCE = PROJECT / "force-app" / "main" / "default"
WORKFLOW = SOURCE / "workflows" / "Account.workflow-meta.xml"
FLOW = SOURCE / "flows" / "SAP_Customer_Sync_Push.flow-meta.xml"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
# Standard Account fields (Salesforce's Account object reference) the outbound message may send.
STANDARD_ACCOUNT_FIELDS = {
    "Id",
    "Name",
    "Type",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingState",
    "BillingCountry",
    "Phone",
    "LastModifiedDate",
    "SystemModstamp",
}


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
        assert (
            name in STANDARD_ACCOUNT_FIELDS
            or (SOURCE / "objects" / "Account" / "fields" / f"{name}.field-meta.xml").is_file()
        ), name


def test_the_outbound_message_carries_no_session_and_uses_salesforces_own_retries(outbound_message):
    assert text(outbound_message, "md:includeSessionId") == "false"  # the app never calls back with it
    assert text(outbound_message, "md:protected") == "false"
    assert text(outbound_message, "md:useDeadLetterQueue") == "false"
    assert (
        text(outbound_message, "md:apiVersion")
        == json.loads((PROJECT / "sfdx-project.json").read_text())["sourceApiVersion"]
    )


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
    assert (text(start, "md:object"), text(start, "md:triggerType"), text(start, "md:recordTriggerType")) == (
        "Account",
        "RecordAfterSave",
        "CreateAndUpdate",
    )
    assert text(flow, "md:processType") == "AutoLaunchedFlow"


# --- the entry conditions, evaluated the way Salesforce documents them -----------------------------------

# The custom metadata record the flow reads its customer types from (the org's copy of
# SALESFORCE_CUSTOMER_TYPES; Metadata API "CustomMetadata": customMetadata/<Type>.<Record>.md-meta.xml).
SETTING_TYPE = SOURCE / "objects" / "SAP_Customer_Sync_Setting__mdt"
SETTING_RECORD = SOURCE / "customMetadata" / "SAP_Customer_Sync_Setting.Default.md-meta.xml"
CUSTOMER_TYPES_REFERENCE = "SAP_Customer_Sync_Setting__mdt.Default.Customer_Types__c"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"


def deployed_customer_types() -> str:
    [value] = [
        v
        for v in ElementTree.parse(SETTING_RECORD).getroot().findall("md:values", NS)
        if text(v, "md:field") == "Customer_Types__c"
    ]
    assert value.find("md:value", NS).get(XSI) == "xsd:string"
    return text(value, "md:value")


def meets(record: dict, flow: ElementTree.Element, customer_types: str | None = None) -> bool:
    """The start element's formula (filterFormula; no filters beside it), with the custom metadata record
    as deployed or as an admin set it (`customer_types`)."""
    start = flow.find("md:start", NS)
    assert start.find("md:filters", NS) is None and text(start, "md:filterLogic") is None
    metadata = {CUSTOMER_TYPES_REFERENCE: deployed_customer_types() if customer_types is None else customer_types}
    result = salesforce_formula.evaluate(text(start, "md:filterFormula"), record, metadata)
    assert isinstance(result, bool)
    return result


def starts(before: dict | None, after: dict, flow: ElementTree.Element, customer_types: str | None = None) -> bool:
    """A record-triggered flow with "only when a record is updated to meet the condition requirements"
    (doesRequireRecordChangedToMeetCriteria): runs on create when the record meets them, on update only
    when the record did not meet them before the save and does after it."""
    assert text(flow.find("md:start", NS), "md:doesRequireRecordChangedToMeetCriteria") == "true"
    return meets(after, flow, customer_types) and (before is None or not meets(before, flow, customer_types))


PROSPECT = {
    "Id": "001Dn00000AbCdEIAV",
    "Name": "Acme",
    "Type": "Prospect",
    CUSTOMER_NUMBER_FIELD: None,
    SYNC_STATUS_FIELD: None,
}
CUSTOMER = {**PROSPECT, "Type": account_fields.CUSTOMER_TYPE}


def test_an_account_becoming_a_customer_or_created_as_one_is_sent(flow):
    assert starts(PROSPECT, CUSTOMER, flow)
    assert starts(None, CUSTOMER, flow)


@pytest.mark.parametrize(
    "change", [{"Type": "Prospect"}, {CUSTOMER_NUMBER_FIELD: "0000100042"}, {SYNC_STATUS_FIELD: "Failed"}]
)
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
    formula = text(flow.find("md:start", NS), "md:filterFormula")
    referenced = set(re.findall(r"\{!\$Record\.(\w+)\}", formula))
    assert referenced == {account_fields.TYPE_FIELD, CUSTOMER_NUMBER_FIELD, SYNC_STATUS_FIELD}
    assert f'"{account_fields.STATUS_FAILED}"' in formula
    assert "{!$CustomMetadata." + CUSTOMER_TYPES_REFERENCE + "}" in formula
    assert f'"{account_fields.CUSTOMER_TYPE}"' not in formula  # no account type is written into the flow


# --- the customer types: one list, SALESFORCE_CUSTOMER_TYPES in the app, the custom metadata record here ----


def test_the_deployed_record_holds_the_apps_default_customer_types():
    assert tuple(deployed_customer_types().split(",")) == account_fields.DEFAULT_CUSTOMER_TYPES


def test_the_record_the_flow_reads_is_a_deployed_custom_metadata_type_field():
    type_, record, field_name = CUSTOMER_TYPES_REFERENCE.split(".")
    definition = ElementTree.parse(SETTING_TYPE / f"{type_}.object-meta.xml").getroot()
    assert text(definition, "md:visibility") == "Public"
    field_definition = ElementTree.parse(SETTING_TYPE / "fields" / f"{field_name}.field-meta.xml").getroot()
    assert (text(field_definition, "md:fullName"), text(field_definition, "md:type")) == (field_name, "Text")
    assert SETTING_RECORD.name == f"{type_.removesuffix('__mdt')}.{record}.md-meta.xml"
    # Long enough for what the setting accepts in a real org: several picklist values and their commas.
    assert int(text(field_definition, "md:length")) == 255


OLDER_PICKLIST = "Customer - Direct,Customer - Channel"


@pytest.mark.parametrize(
    ("customer_types", "account_type", "sent"),
    [
        (OLDER_PICKLIST, "Customer - Direct", True),
        (OLDER_PICKLIST, "Customer - Channel", True),
        ("Customer - Direct, Customer - Channel", "Customer - Channel", True),
        ("Customer - Direct , Customer - Channel", "Customer - Direct", True),
        (OLDER_PICKLIST, "Prospect", False),
        (OLDER_PICKLIST, "Customer", False),
        (OLDER_PICKLIST, "Customer - D", False),  # a part of a value is not the value
        (OLDER_PICKLIST, None, False),
        ("Customer", "Customer", True),
    ],
)
def test_the_flow_sends_the_accounts_whose_type_is_in_the_records_list(flow, customer_types, account_type, sent):
    assert starts(PROSPECT, {**CUSTOMER, "Type": account_type}, flow, customer_types) is sent


@pytest.mark.parametrize("customer_types", [OLDER_PICKLIST, "Customer - Direct, Customer - Channel", "Customer"])
def test_the_flow_and_the_app_read_the_same_list_the_same_way(flow, customer_types):
    from shared.settings import load_settings

    app = load_settings({"SAP_TRANSPORT": "simulator", "SALESFORCE_CUSTOMER_TYPES": customer_types})
    for account_type in ("Customer", "Customer - Direct", "Customer - Channel", "Prospect"):
        in_app = account_fields.is_customer_type(account_type, app.salesforce.customer_types)
        assert meets({**CUSTOMER, "Type": account_type}, flow, customer_types) is in_app, account_type


# --- the Power Automate flow: the same fields, and the switch ----------------------------------------------


def test_the_power_automate_flow_passes_the_same_fields_under_the_same_properties():
    parameters = power_automate.ACTIONS[power_automate.CREATE]["inputs"]["parameters"]
    passed = {
        value.removeprefix("@triggerOutputs()?['body/").removesuffix("']"): name.removeprefix("body/")
        for name, value in parameters.items()
    }
    assert passed == account_fields.REQUEST_PROPERTY_OF_FIELD


def test_the_power_automate_flow_creates_nothing_while_the_push_path_is_the_way_in():
    assert power_automate.starts(power_automate.NEW_CUSTOMER, sapsync_Trigger="flow")
    assert not power_automate.starts(power_automate.NEW_CUSTOMER, sapsync_Trigger="push")
    assert power_automate.starts(power_automate.NEW_CUSTOMER)  # the default stays the flow


@pytest.mark.parametrize(
    "formula",
    [
        'BEGINS(TEXT({!$Record.Type}), "Customer")',
        "{!$Record.Owner.Name}",
        '{!$Label.Customer} & ""',
        "ISBLANK({!$Record.Name}) || TRUE",
    ],
)
def test_the_formula_evaluator_refuses_what_it_does_not_model(formula):
    with pytest.raises(salesforce_formula.FormulaNotSupported):
        salesforce_formula.evaluate(formula, CUSTOMER, {})
