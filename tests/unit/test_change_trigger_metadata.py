"""The Salesforce side of the change path (issue 26): the record-triggered flow SAP_Customer_Sync_Change sends the
push path's outbound message when a save changes a field Salesforce owns on an account that already has its SAP
number, never for the integration user's own saves nor for the sync's write-back; the outbound message carries
SystemModstamp, the order of changes; the integration user's Id is filled in at deploy. The entry formula is
evaluated by tests/support/salesforce_formula.py with the functions' documented meaning (ISCHANGED included)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.core import account_fields, ownership
from shared.core import preflight_salesforce_change as preflight_change
from shared.salesforce import simple_salesforce
from tests.support import salesforce_formula

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "salesforce"
SOURCE = PROJECT / "force-app" / "main" / "default"
CHANGE_FLOW = SOURCE / "flows" / "SAP_Customer_Sync_Change.flow-meta.xml"
CREATE_FLOW = SOURCE / "flows" / "SAP_Customer_Sync_Push.flow-meta.xml"
WORKFLOW = SOURCE / "workflows" / "Account.workflow-meta.xml"
SETTING_RECORD = SOURCE / "customMetadata" / "SAP_Customer_Sync_Setting.Default.md-meta.xml"
SETTING_FIELDS = SOURCE / "objects" / "SAP_Customer_Sync_Setting__mdt" / "fields"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
USER_ID_REFERENCE = "SAP_Customer_Sync_Setting__mdt.Default.Integration_User_Id__c"
CUSTOMER_TYPES_REFERENCE = "SAP_Customer_Sync_Setting__mdt.Default.Customer_Types__c"
INTEGRATION_USER = "005Dn000001IntUSERAA"  # 18 characters
PERSON = "005Dn000001PersonAAA"
# What Salesforce owns in SAP (shared/core/ownership.py) by the CreateSAPCustomer request property its Account field
# is sent as (account_fields); the Account has no standard field for houseNumber, email or language.
OWNED_PROPERTIES = tuple(
    account_fields.REQUEST_PROPERTY_OF_FIELD[field] for field in preflight_change.ACCOUNT_FIELD_OF_OWNED.values()
)


def text(element: ElementTree.Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


@pytest.fixture(scope="module")
def change_flow() -> ElementTree.Element:
    return ElementTree.parse(CHANGE_FLOW).getroot()


def formula(flow: ElementTree.Element) -> str:
    return text(flow.find("md:start", NS), "md:filterFormula") or ""


def sends(flow: ElementTree.Element, before: dict | None, after: dict, user_id: str = INTEGRATION_USER) -> bool:
    """A record-triggered flow on update whose entry conditions are checked on every save
    (doesRequireRecordChangedToMeetCriteria false): it runs when the saved record meets the formula."""
    start = flow.find("md:start", NS)
    assert text(start, "md:doesRequireRecordChangedToMeetCriteria") == "false"
    assert start.find("md:filters", NS) is None and text(start, "md:filterLogic") is None
    if before is None and text(start, "md:recordTriggerType") == "Update":
        return False  # a create never starts an update-only flow
    metadata = {USER_ID_REFERENCE: user_id, CUSTOMER_TYPES_REFERENCE: "Customer"}
    result = salesforce_formula.evaluate(formula(flow), after, metadata, before)
    assert isinstance(result, bool)
    return result


SYNCED = {
    "Id": "001Dn00000AbCdEIAV",
    "Name": "Acme GmbH",
    "Type": "Customer",
    "BillingStreet": "Marienplatz 1",
    "BillingCity": "München",
    "BillingPostalCode": "80331",
    "BillingState": "Bayern",
    "BillingCountry": "Germany",
    "Phone": "+49 89 123456",
    "SAP_Customer_Number__c": "0000100042",
    "SAP_Sync_Status__c": "Synced",
    "SAP_Company_Code__c": "1000",
    "LastModifiedById": INTEGRATION_USER,
}


def saved_by(person: str, record: dict, **changes: str | None) -> dict:
    return {**record, **changes, "LastModifiedById": person}


def test_the_change_flow_sends_the_push_paths_outbound_message_after_an_update_of_an_account(change_flow):
    [action] = change_flow.findall("md:actionCalls", NS)
    [message] = ElementTree.parse(WORKFLOW).getroot().findall("md:outboundMessages", NS)
    assert text(action, "md:actionType") == "outboundMessage"
    assert text(action, "md:actionName") == f"Account.{text(message, 'md:fullName')}"
    start = change_flow.find("md:start", NS)
    assert text(start, "md:connector/md:targetReference") == text(action, "md:name")
    assert (text(start, "md:object"), text(start, "md:triggerType"), text(start, "md:recordTriggerType")) == (
        "Account",
        "RecordAfterSave",
        "Update",
    )
    assert text(change_flow, "md:status") == "Active" and text(change_flow, "md:processType") == "AutoLaunchedFlow"


def test_the_outbound_message_carries_system_modstamp_for_the_order_of_changes():
    [message] = ElementTree.parse(WORKFLOW).getroot().findall("md:outboundMessages", NS)
    sent = [field.text for field in message.findall("md:fields", NS)]
    assert account_fields.SYSTEM_MODSTAMP_FIELD == "SystemModstamp" and "SystemModstamp" in sent
    assert account_fields.SYSTEM_MODSTAMP_FIELD in account_fields.OUTBOUND_MESSAGE_FIELDS


@pytest.mark.parametrize("prop", OWNED_PROPERTIES)
def test_a_person_changing_an_owned_field_of_a_synced_account_sends_it(change_flow, prop):
    field = {value: key for key, value in account_fields.REQUEST_PROPERTY_OF_FIELD.items()}[prop]
    assert sends(change_flow, SYNCED, saved_by(PERSON, SYNCED, **{field: "Neuer Wert 7"}))


def test_a_field_that_was_blank_and_now_has_a_value_is_a_change(change_flow):
    before = {**SYNCED, "Phone": None}
    assert sends(change_flow, before, saved_by(PERSON, before, Phone="+49 89 654321"))
    assert sends(change_flow, SYNCED, saved_by(PERSON, SYNCED, Phone=None))  # and cleared


def test_the_changed_fields_are_the_account_fields_of_what_salesforce_owns(change_flow):
    changed = re.findall(r"ISCHANGED\(\{!\$Record\.(\w+)\}\)", formula(change_flow))
    assert sorted(changed) == sorted(preflight_change.OWNED_ACCOUNT_FIELDS)  # what the go-live check looks for


def test_every_owned_field_an_account_field_carries_is_watched_and_its_property_is_the_owned_ones():
    by_name = {owned.name: owned for owned in ownership.OWNED_FIELDS}
    table = preflight_change.ACCOUNT_FIELD_OF_OWNED
    assert set(ownership.OWNED_FIELD_NAMES) - set(table) == {"houseNumber", "email", "language"}
    for name, field in table.items():
        sent_as = account_fields.REQUEST_PROPERTY_OF_FIELD[field]
        # region and country are sent as names (BillingState, BillingCountry); ownership names their code property
        assert sent_as in (by_name[name].request_property, by_name[name].request_property.removesuffix("Code")), name


@pytest.mark.parametrize(
    "change",
    [
        {"Type": "Prospect"},
        {"SAP_Company_Code__c": "2000"},
        {"SAP_Sales_Organization__c": "2000"},
        {"Description": "a note"},
        {},
    ],
)
def test_a_save_that_changes_no_owned_field_sends_nothing(change_flow, change):
    assert not sends(change_flow, SYNCED, saved_by(PERSON, SYNCED, **change))


def test_an_account_without_an_sap_number_is_the_create_flows_not_the_change_flows(change_flow):
    new = {**SYNCED, "SAP_Customer_Number__c": None, "SAP_Sync_Status__c": None}
    assert not sends(change_flow, new, saved_by(PERSON, new, BillingStreet="Karlsplatz 2"))
    assert not sends(change_flow, None, saved_by(PERSON, SYNCED))  # nor a create


@pytest.mark.parametrize("user_id", [INTEGRATION_USER, INTEGRATION_USER[:15]], ids=["18", "15"])
def test_the_integration_users_own_save_of_an_owned_field_sends_nothing(change_flow, user_id):
    assert not sends(
        change_flow, SYNCED, saved_by(INTEGRATION_USER, SYNCED, BillingStreet="Karlsplatz 2"), user_id=user_id
    )


@pytest.mark.parametrize("created", [True, False], ids=["number", "failure"])
def test_the_sync_writing_back_never_sends_a_change(change_flow, created):
    sent: list[dict] = []
    writer = object.__new__(simple_salesforce.SimpleSalesforceWriteBack)
    writer._update_account = lambda account_id, values: sent.append(values)
    if created:
        writer.record_created(SYNCED["Id"], "0000100042", datetime.now(UTC))
    else:
        writer.record_failed(SYNCED["Id"], "SAP rejected: E F2 173: ...", datetime.now(UTC))
    written = {**SYNCED, **sent[0]}
    # Not even when the user clause were wrong: the write-back changes no owned field.
    assert not sends(change_flow, SYNCED, saved_by(PERSON, written))
    assert not sends(change_flow, SYNCED, saved_by(INTEGRATION_USER, written))


def _create_flow_sends(before: dict | None, after: dict) -> bool:
    from tests.unit.test_push_metadata import starts

    return starts(before, after, ElementTree.parse(CREATE_FLOW).getroot())


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, {**SYNCED, "SAP_Customer_Number__c": None, "SAP_Sync_Status__c": None, "LastModifiedById": PERSON}),
        (
            {**SYNCED, "Type": "Prospect", "SAP_Customer_Number__c": None, "SAP_Sync_Status__c": None},
            {**SYNCED, "SAP_Customer_Number__c": None, "SAP_Sync_Status__c": None, "LastModifiedById": PERSON},
        ),
        (SYNCED, saved_by(PERSON, SYNCED, BillingStreet="Karlsplatz 2")),
        (SYNCED, saved_by(PERSON, SYNCED, Name="Acme Holding GmbH")),
    ],
)
def test_no_save_starts_both_flows(change_flow, before, after):
    assert not (sends(change_flow, before, after) and _create_flow_sends(before, after))
    assert sends(change_flow, before, after) or _create_flow_sends(before, after)


def test_the_integration_user_id_is_a_deployed_custom_metadata_field_filled_in_at_deploy():
    definition = ElementTree.parse(SETTING_FIELDS / "Integration_User_Id__c.field-meta.xml").getroot()
    assert (text(definition, "md:type"), text(definition, "md:length")) == ("Text", "18")
    [value] = [
        v
        for v in ElementTree.parse(SETTING_RECORD).getroot().findall("md:values", NS)
        if text(v, "md:field") == "Integration_User_Id__c"
    ]
    assert value.find("md:value", NS).get(XSI) == "xsd:string"
    placeholder = text(value, "md:value")
    replacements = json.loads((PROJECT / "sfdx-project.json").read_text())["replacements"]
    [replacement] = [r for r in replacements if r["stringToReplace"] == placeholder]
    assert replacement["filename"] == str(SETTING_RECORD.relative_to(PROJECT))
    assert replacement["replaceWithEnv"] == "SAP_SYNC_INTEGRATION_USER_ID"
    assert not replacement.get("allowUnsetEnvVariable")  # an unset variable stops the deploy
    assert "{!$CustomMetadata." + USER_ID_REFERENCE + "}" in ElementTree.parse(CHANGE_FLOW).getroot().findtext(
        "md:start/md:filterFormula", namespaces=NS
    )


def test_the_formula_evaluator_reads_ischanged_only_of_a_record_field():
    with pytest.raises(salesforce_formula.FormulaNotSupported):
        salesforce_formula.evaluate("ISCHANGED({!$Record.Owner.Name})", SYNCED, {}, SYNCED)
    with pytest.raises(salesforce_formula.FormulaNotSupported):
        salesforce_formula.evaluate("PRIORVALUE({!$Record.Name})", SYNCED, {}, SYNCED)


def test_the_integration_user_may_read_the_custom_metadata_the_go_live_check_compares():
    # PermissionSet's customMetadataTypeAccesses (Metadata API "PermissionSet"; {enabled, name} as jsforce's
    # PermissionSetCustomMetadataTypeAccess): orgs that restrict custom metadata types' access need it for the
    # SOQL the check runs; without it the check fails closed with the manual step.
    permission_set = ElementTree.parse(
        SOURCE / "permissionsets" / "SAP_Customer_Sync_Integration.permissionset-meta.xml"
    ).getroot()
    granted = {
        text(access, "md:name")
        for access in permission_set.findall("md:customMetadataTypeAccesses", NS)
        if text(access, "md:enabled") == "true"
    }
    assert preflight_change.SETTING_TYPE in granted
