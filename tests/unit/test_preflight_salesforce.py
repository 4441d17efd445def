"""The go-live check's Salesforce decisions (shared/core/preflight_salesforce.py) as tables, and the facts they
share with the rest of the project (metadata, the write-back, the push route) held together."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from pathlib import Path

import pytest

from shared.core import account_fields
from shared.core import preflight_salesforce as rules
from shared.core import preflight_salesforce_push as push_rules
from shared.core.preflight import Verdict
from shared.core.preflight_salesforce import FIELD_NEEDS, Check, FieldNeed, SalesforceExpectations
from shared.core.salesforce_org_facts import DescribedField, OrgUser, OutboundMessageDefinition
from shared.salesforce import simple_salesforce

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "salesforce" / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
APP = "https://sapsync.azurewebsites.net"
PUSH_URL = f"{APP}/api/salesforce/outbound-messages?code=FUNCTIONKEY"
INTEGRATION = OrgUser("0055g00000FAKEUAA5", "integration@example.com", True)

EXPECTED = SalesforceExpectations(
    auth="client_credentials",
    login_url="https://example.my.salesforce.com",
    api_version="61.0",
    customer_types=("Customer",),
    writeback="function",
    push_path=True,
    app_url=APP,
    integration_username=None,
)


def text_field(name: str, length: int, updateable: bool = True) -> DescribedField:
    return DescribedField(name, "string", length, updateable)


def picklist(name: str, *values: str, inactive: tuple[str, ...] = ()) -> DescribedField:
    entries = tuple((value, True) for value in values) + tuple((value, False) for value in inactive)
    return DescribedField(name, "picklist", 255, True, entries)


def project_org() -> dict[str, DescribedField]:
    """The describe an org answers after `sf project deploy start` of salesforce/ (custom fields from their
    metadata files), with Salesforce's standard fields (Object Reference, "Account")."""
    described = {
        "Id": DescribedField("Id", "id", 18, False),
        "Name": text_field("Name", 255),
        "BillingStreet": DescribedField("BillingStreet", "textarea", 255, True),
        "BillingCity": text_field("BillingCity", 40),
        "BillingPostalCode": text_field("BillingPostalCode", 20),
        "BillingState": text_field("BillingState", 80),
        "BillingCountry": text_field("BillingCountry", 80),
        "Phone": DescribedField("Phone", "phone", 40, True),
        "Type": picklist("Type", "Prospect", "Customer"),
        "LastModifiedDate": DescribedField("LastModifiedDate", "datetime", 0, False),
        "SystemModstamp": DescribedField("SystemModstamp", "datetime", 0, False),
    }
    for path in (SOURCE / "objects" / "Account" / "fields").glob("*.field-meta.xml"):
        root = ElementTree.parse(path).getroot()
        name = root.findtext("md:fullName", namespaces=NS)
        kind = root.findtext("md:type", namespaces=NS)
        if kind == "Picklist":
            values = [
                value.findtext("md:fullName", namespaces=NS)
                for value in root.findall("md:valueSet/md:valueSetDefinition/md:value", NS)
            ]
            described[name] = picklist(name, *values)
        else:
            salesforce_type = {"Text": "string", "DateTime": "datetime"}[kind]
            described[name] = DescribedField(name, salesforce_type, int(root.findtext("md:length", "0", NS)), True)
    return described


# ----------------------------------------------------------------------------- the facts held together


def test_the_projects_own_fields_pass_the_field_check():
    assert rules.check_account_fields(EXPECTED, project_org()).verdict is Verdict.PASSED


def test_the_permission_set_and_outbound_message_names_are_the_projects_metadata():
    assert (SOURCE / "permissionsets" / f"{rules.INTEGRATION_PERMISSION_SET}.permissionset-meta.xml").is_file()
    workflow = ElementTree.parse(SOURCE / "workflows" / "Account.workflow-meta.xml").getroot()
    assert (
        "Account." + workflow.findtext("md:outboundMessages/md:fullName", namespaces=NS) == rules.PUSH_OUTBOUND_MESSAGE
    )


def test_the_push_path_is_the_push_functions_route():
    prefix = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    route = re.search(r'route="([^"]+)"', (ROOT / "functions" / "push.py").read_text()).group(1)
    assert f"/{prefix}/{route}" == rules.PUSH_PATH


def test_the_statuses_and_text_lengths_are_what_the_write_back_writes():
    assert rules.SYNC_STATUS_VALUES == (simple_salesforce.STATUS_SYNCED, simple_salesforce.STATUS_FAILED)
    assert (
        rules.SYNC_TEXT_LENGTH == simple_salesforce.SYNC_ERROR_MAX_LENGTH == simple_salesforce.SYNC_WARNINGS_MAX_LENGTH
    )


def test_every_field_the_product_reads_or_writes_is_checked():
    from shared.salesforce.port import SYNC_ERROR_FIELD, SYNC_WARNINGS_FIELD, SYNCED_AT_FIELD

    needed = {need.name for need in FIELD_NEEDS}
    assert set(account_fields.OUTBOUND_MESSAGE_FIELDS) <= needed
    assert {SYNC_ERROR_FIELD, SYNC_WARNINGS_FIELD, SYNCED_AT_FIELD} <= needed
    written = {need.name for need in FIELD_NEEDS if need.written}
    assert written == {
        account_fields.CUSTOMER_NUMBER_FIELD,
        account_fields.SYNC_STATUS_FIELD,
        SYNC_ERROR_FIELD,
        SYNC_WARNINGS_FIELD,
        SYNCED_AT_FIELD,
    }


# ----------------------------------------------------------------------------- one field

NUMBER = FieldNeed("SAP_Customer_Number__c", frozenset({"string"}), 10, written=True)


@pytest.mark.parametrize(
    ("described", "writes_back", "problems"),
    [
        (text_field(NUMBER.name, 10), True, []),
        (text_field(NUMBER.name, 18), True, []),
        (None, True, ["SAP_Customer_Number__c is missing (not deployed, or not readable by the integration user)"]),
        (text_field(NUMBER.name, 8), True, ["SAP_Customer_Number__c holds 8 characters, the product needs 10"]),
        (
            DescribedField(NUMBER.name, "double", 0, True),
            True,
            ["SAP_Customer_Number__c is double, the product needs string"],
        ),
        (
            text_field(NUMBER.name, 10, updateable=False),
            True,
            ["SAP_Customer_Number__c is not editable by the integration user"],
        ),
        (text_field(NUMBER.name, 10, updateable=False), False, []),  # the flow writes it, not the app's user
        (
            text_field(NUMBER.name, 8, updateable=False),
            True,
            [
                "SAP_Customer_Number__c holds 8 characters, the product needs 10",
                "SAP_Customer_Number__c is not editable by the integration user",
            ],
        ),
    ],
    ids=["fits", "longer", "missing", "too_short", "wrong_type", "read_only", "read_only_flow_mode", "both"],
)
def test_field_problems(described, writes_back, problems):
    assert rules.field_problems(NUMBER, described, writes_back) == problems


def test_a_missing_field_fails_the_field_check_with_the_deploy_command():
    org = project_org()
    del org["SAP_Sync_Warnings__c"]
    checked = rules.check_account_fields(EXPECTED, org)
    assert checked.verdict is Verdict.FAILED and "SAP_Sync_Warnings__c is missing" in checked.found
    assert "sf project deploy start" in checked.fix and "Set Field-Level Security" in checked.fix


# ----------------------------------------------------------------------------- picklists


@pytest.mark.parametrize(
    ("status", "verdict", "missing"),
    [
        (picklist("SAP_Sync_Status__c", "Synced", "Failed"), Verdict.PASSED, ""),
        (picklist("SAP_Sync_Status__c", "Synced", "Failed", "Pending"), Verdict.PASSED, ""),
        (picklist("SAP_Sync_Status__c", "Synced"), Verdict.FAILED, "missing: Failed"),
        (picklist("SAP_Sync_Status__c", "Synced", inactive=("Failed",)), Verdict.FAILED, "missing: Failed"),
        (picklist("SAP_Sync_Status__c", "synced", "Failed"), Verdict.FAILED, "missing: Synced"),  # API names are exact
        (picklist("SAP_Sync_Status__c"), Verdict.FAILED, "missing: Synced, Failed"),
    ],
    ids=["both", "one_more", "no_failed", "failed_inactive", "other_case", "none"],
)
def test_sync_status_values(status, verdict, missing):
    checked = rules.check_sync_status_values({status.name: status})
    assert checked.verdict is verdict and missing in checked.found
    if verdict is Verdict.FAILED:
        assert "SAP Sync Status > Values" in checked.fix


def test_sync_status_values_leave_a_missing_status_field_to_the_field_check():
    assert rules.check_sync_status_values({}) is None
    assert rules.check_sync_status_values({"SAP_Sync_Status__c": text_field("SAP_Sync_Status__c", 255)}) is None


@pytest.mark.parametrize(
    ("configured", "values", "verdict", "found"),
    [
        (("Customer",), ("Prospect", "Customer"), Verdict.PASSED, "all active Type values"),
        (
            ("Customer - Direct", "Customer - Channel"),
            ("Customer - Direct", "Customer - Channel"),
            Verdict.PASSED,
            "all",
        ),
        (
            ("Customer",),
            ("Prospect", "Customer - Direct", "Customer - Channel"),
            Verdict.FAILED,
            "not in the Type picklist: Customer",
        ),
        (
            ("Customer - Direct", "Customer - Channel"),
            ("Customer - Direct",),
            Verdict.FAILED,
            "not in the Type picklist: Customer - Channel",
        ),
    ],
    ids=["default", "older_picklist", "older_org_default_setting", "one_of_two_missing"],
)
def test_customer_types(configured, values, verdict, found):
    expected = replace(EXPECTED, customer_types=configured)
    checked = rules.check_customer_types(expected, {"Type": picklist("Type", *values)})
    assert checked.verdict is verdict and found in checked.found
    if verdict is Verdict.FAILED:
        assert "SALESFORCE_CUSTOMER_TYPES" in checked.fix and ", ".join(values) in checked.fix


def test_an_inactive_type_value_does_not_count():
    checked = rules.check_customer_types(EXPECTED, {"Type": picklist("Type", "Prospect", inactive=("Customer",))})
    assert checked.verdict is Verdict.FAILED


# ----------------------------------------------------------------------------- API version, users


@pytest.mark.parametrize(
    ("configured", "served", "verdict"),
    [
        ("61.0", ("59.0", "60.0", "61.0", "62.0"), Verdict.PASSED),
        ("61.0", ("31.0", "66.0"), Verdict.FAILED),
        ("99.0", ("31.0", "61.0", "66.0"), Verdict.FAILED),
        ("61.0", (), Verdict.FAILED),
    ],
    ids=["served", "gap", "future", "nothing_served"],
)
def test_api_version(configured, served, verdict):
    checked = rules.check_api_version(replace(EXPECTED, api_version=configured), served)
    assert checked.verdict is verdict
    if verdict is Verdict.FAILED and served:
        assert f"e.g. {max(served, key=lambda v: float(v))}" in checked.fix


@pytest.mark.parametrize(
    ("username", "session_user", "user", "verdict", "found"),
    [
        (
            None,
            INTEGRATION.user_id,
            INTEGRATION,
            Verdict.PASSED,
            "integration@example.com (0055g00000FAKEUAA5), active",
        ),
        (None, INTEGRATION.user_id[:15], INTEGRATION, Verdict.PASSED, "active"),
        (None, INTEGRATION.user_id, replace(INTEGRATION, is_active=False), Verdict.FAILED, "inactive"),
        (
            "other@example.com",
            INTEGRATION.user_id,
            OrgUser("0055g00000OTHERAAA", "other@example.com", True),
            Verdict.FAILED,
            "not the user the session acts as",
        ),
        (
            "gone@example.com",
            INTEGRATION.user_id,
            None,
            Verdict.FAILED,
            "SALESFORCE_USERNAME=gone@example.com is no user",
        ),
    ],
    ids=["session_user", "id15", "inactive", "username_not_the_run_as_user", "no_such_user"],
)
def test_integration_user(username, session_user, user, verdict, found):
    checked = rules.check_integration_user(replace(EXPECTED, integration_username=username), session_user, user)
    assert checked.verdict is verdict and found in checked.found


@pytest.mark.parametrize(
    ("assigned", "verdict"),
    [
        (("X00e5g000001FAKEAAA", "SAP_Customer_Sync_Integration"), Verdict.PASSED),
        (("X00e5g000001FAKEAAA", "SAP_Customer_Sync_Reader"), Verdict.FAILED),
        ((), Verdict.FAILED),
    ],
    ids=["assigned", "only_the_reader_set", "none"],
)
def test_permission_set(assigned, verdict):
    checked = rules.check_permission_set(EXPECTED, INTEGRATION, assigned)
    assert checked.verdict is verdict
    if verdict is Verdict.FAILED:
        assert (
            "sf org assign permset --name SAP_Customer_Sync_Integration --on-behalf-of integration@example.com"
            in checked.fix
        )


# ----------------------------------------------------------------------------- the outbound message

MESSAGE = OutboundMessageDefinition(
    rules.PUSH_OUTBOUND_MESSAGE, PUSH_URL, account_fields.OUTBOUND_MESSAGE_FIELDS, INTEGRATION.user_id
)


@pytest.mark.parametrize(
    ("app_url", "message", "sender", "verdict", "found"),
    [
        (APP, MESSAGE, INTEGRATION, Verdict.PASSED, f"sends to {APP}/api/salesforce/outbound-messages"),
        (
            APP + "/",
            replace(MESSAGE, endpoint_url=PUSH_URL.replace("sapsync", "SAPSYNC")),
            INTEGRATION,
            Verdict.PASSED,
            "sends to",
        ),
        (APP, None, None, Verdict.FAILED, "no outbound message Account.SAP_Customer_Sync_Push"),
        (
            APP,
            replace(MESSAGE, endpoint_url="https://other.azurewebsites.net/api/salesforce/outbound-messages?code=K"),
            INTEGRATION,
            Verdict.FAILED,
            "points elsewhere",
        ),
        (
            APP,
            replace(MESSAGE, endpoint_url=PUSH_URL.replace("https:", "http:")),
            INTEGRATION,
            Verdict.FAILED,
            "points elsewhere",
        ),
        (
            APP,
            replace(MESSAGE, endpoint_url=f"{APP}/api/outbound?code=K"),
            INTEGRATION,
            Verdict.FAILED,
            "points elsewhere",
        ),
        (APP, replace(MESSAGE, endpoint_url=PUSH_URL.split("?")[0]), INTEGRATION, Verdict.FAILED, "no function key"),
        (
            APP,
            replace(MESSAGE, fields=account_fields.OUTBOUND_MESSAGE_FIELDS[:-1]),
            INTEGRATION,
            Verdict.FAILED,
            "does not send SystemModstamp",  # the order of changes (issue 26)
        ),
        (
            APP,
            MESSAGE,
            replace(INTEGRATION, is_active=False),
            Verdict.FAILED,
            "sending user (User to Send As) is inactive",
        ),
        (None, MESSAGE, INTEGRATION, Verdict.FAILED, "this app's URL was not given"),
    ],
    ids=[
        "points_here",
        "host_case_and_slash",
        "missing",
        "other_host",
        "http",
        "other_path",
        "no_key",
        "field_missing",
        "sender_inactive",
        "app_url_unknown",
    ],
)
def test_outbound_message(app_url, message, sender, verdict, found):
    checked = push_rules.check_outbound_message(replace(EXPECTED, app_url=app_url), message, sender)
    assert checked.verdict is verdict and found in checked.found
    assert "FUNCTIONKEY" not in checked.found and "code=K" not in checked.found  # the key is never shown
    if verdict is Verdict.FAILED:
        assert "sf project deploy start --source-dir force-app" in checked.fix
        assert "Setup > Outbound Messages > SAP Customer Sync Push" in checked.fix


# ----------------------------------------------------------------------------- when the checks apply


@pytest.mark.parametrize(
    ("auth", "writeback", "push", "applies"),
    [
        (None, "off", False, False),
        (None, "flow", False, False),
        ("client_credentials", "off", False, True),  # admin reconcile logs in
        ("jwt", "function", False, True),
        (None, "off", True, True),  # the push path without a login: fails, see below
        ("client_credentials", "function", True, True),
    ],
)
def test_when_the_salesforce_checks_apply(auth, writeback, push, applies):
    expected = replace(EXPECTED, auth=auth, writeback=writeback, push_path=push)
    assert (rules.not_needed(expected) is None) is applies


def test_the_push_path_without_a_login_fails_the_login_check_naming_the_settings():
    checked = rules.login_not_configured(replace(EXPECTED, auth=None, writeback="off"))
    assert checked.check == Check.LOGIN and checked.verdict is Verdict.FAILED
    assert "SALESFORCE_WRITEBACK=function" in checked.fix and "SALESFORCE_ORGANIZATION_ID" in checked.fix


@pytest.mark.parametrize(
    ("auth", "unavailable", "fix"),
    [
        ("client_credentials", False, "Client Credentials Flow"),
        ("jwt", False, "SALESFORCE_PRIVATE_KEY"),
        ("password", False, "SALESFORCE_SECURITY_TOKEN"),
        ("client_credentials", True, "status.salesforce.com"),
    ],
)
def test_a_failed_login_names_the_fix_of_its_flow(auth, unavailable, fix):
    checked = rules.login_failed(replace(EXPECTED, auth=auth), "invalid_client", unavailable=unavailable)
    assert checked.verdict is Verdict.FAILED and fix in checked.fix
    assert f"SALESFORCE_AUTH={auth}" in checked.found and "invalid_client" in checked.found


def test_an_outbound_message_the_user_may_not_read_fails_with_the_manual_check_and_the_way_to_read_it():
    checked = push_rules.outbound_message_unreadable(
        EXPECTED, "Salesforce answered 400 INVALID_TYPE for the outbound messages"
    )
    assert checked.check == Check.OUTBOUND_MESSAGE and checked.verdict is Verdict.FAILED
    assert "INVALID_TYPE" in checked.found
    assert f"Endpoint URL {APP}/api/salesforce/outbound-messages?code=" in checked.fix
    assert "View Setup and Configuration" in checked.fix
