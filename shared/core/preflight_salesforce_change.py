"""The go-live check's decision on the push path's change trigger (issue 26): the record-triggered flow
SAP_Customer_Sync_Change (salesforce/force-app/main/default/flows/) exists, its active version runs after the save
of an Account update, watches every Account field Salesforce owns (ISCHANGED in its formula entry condition), sends
the push path's outbound message, and leaves out the integration user (the custom metadata record
SAP_Customer_Sync_Setting.Default's Integration_User_Id__c is that user's Id). Pure; tested as tables in
tests/unit/test_preflight_salesforce_change.py; the org is asked by shared/salesforce/org_inspector.py.

What the org answers, as plain data (`RecordTriggeredFlow`, `ChangeTrigger`), named as Salesforce names it:
* Tooling API "FlowDefinition" (API 34.0+): `DeveloperName`, `ActiveVersionId` ("The ID of the active flow version",
  null when no version is active), `LatestVersionId` (Tooling API Developer Guide, "FlowDefinition").
* Tooling API "Flow": `Status` and `Metadata`, the Metadata API's Flow type (Metadata API Developer Guide, "Flow":
  `start` with `object`, `triggerType`, `recordTriggerType`, `filterFormula`; `actionCalls` with `actionName`,
  `actionType`); `Metadata` may be queried only one record at a time, as for WorkflowOutboundMessage.
* SOQL on the custom metadata type SAP_Customer_Sync_Setting__mdt (custom metadata records are queryable with
  SOQL: Salesforce Help, "Access Custom Metadata Records Programmatically").
Unverified against a live org: the JSON spelling of a Flow's `Metadata` (read as the Metadata API names it; absent
keys fail closed) and whether an org lets the integration user read flows without View Setup and Configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.core.preflight import CheckResult
from shared.core.preflight_salesforce import PUSH_OUTBOUND_MESSAGE, Check, SalesforceExpectations, result

CHANGE_FLOW = "SAP_Customer_Sync_Change"
SETTING_TYPE = "SAP_Customer_Sync_Setting__mdt"
SETTING_RECORD = "Default"
INTEGRATION_USER_FIELD = "Integration_User_Id__c"
# The Account field behind each field Salesforce owns (shared/core/ownership.py's business names; the Account has no
# standard field for houseNumber (part of BillingStreet), email or language, so nothing in Salesforce changes them):
# the change flow must watch each (tests/unit/test_change_trigger_metadata.py holds the flow's formula and
# ownership.py to this table).
ACCOUNT_FIELD_OF_OWNED: dict[str, str] = {
    "name": "Name",
    "street": "BillingStreet",
    "postalCode": "BillingPostalCode",
    "city": "BillingCity",
    "region": "BillingState",
    "country": "BillingCountry",
    "phone": "Phone",
}
OWNED_ACCOUNT_FIELDS: tuple[str, ...] = tuple(ACCOUNT_FIELD_OF_OWNED.values())
SETUP_PAGE = "Setup > Flows > SAP Customer Sync: push changes of synced customers"
_WATCHED = re.compile(r"ISCHANGED\s*\(\s*\{!\$Record\.(\w+)\}\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class RecordTriggeredFlow:
    """A flow's definition and, when one is active, its active version's start and actions."""

    api_name: str
    active_version_id: str | None
    object_name: str | None = None
    trigger_type: str | None = None  # RecordAfterSave, RecordBeforeSave, ...
    record_trigger_type: str | None = None  # Create, Update, CreateAndUpdate, Delete
    filter_formula: str | None = None
    action_names: tuple[str, ...] = ()  # actionCalls' actionName, e.g. "Account.SAP_Customer_Sync_Push"


@dataclass(frozen=True)
class ChangeTrigger:
    """What the org has of the change trigger: the flow (None: not deployed) and the custom metadata record's
    Integration_User_Id__c (None: the record or the field is missing, or empty)."""

    flow: RecordTriggeredFlow | None
    integration_user_setting: str | None


def _deploy(expected: SalesforceExpectations) -> str:
    return (
        "deploy it: export SAP_SYNC_PUSH_URL=... SAP_SYNC_INTEGRATION_USERNAME=... SAP_SYNC_INTEGRATION_USER_ID="
        f"<the integration user's 18-character Id>; cd salesforce && sf project deploy start --source-dir force-app "
        f'--target-org ORG (docs/push.md, "Set it up"); then check {SETUP_PAGE}'
    )


def check_change_trigger(
    expected: SalesforceExpectations, trigger: ChangeTrigger, integration_user_id: str
) -> CheckResult:
    """The change flow is active, runs after an Account update, watches every owned field, sends the push path's
    outbound message, and leaves out the integration user (`integration_user_id`: the user the app's session acts
    as, whose saves are the write-back)."""
    flow = trigger.flow
    if flow is None:
        return result(
            Check.CHANGE_TRIGGER,
            False,
            f"no flow {CHANGE_FLOW}: changes of synced accounts never reach SAP",
            _deploy(expected),
        )
    if flow.active_version_id is None:
        return result(
            Check.CHANGE_TRIGGER,
            False,
            f"{CHANGE_FLOW} has no active version: changes of synced accounts never reach SAP",
            f"activate it in {SETUP_PAGE} > Activate (a production org deploys flows inactive unless Process "
            "Automation Settings > Deploy processes and flows as active is on)",
        )
    problems = _flow_problems(flow)
    problems += _user_problems(trigger.integration_user_setting, integration_user_id)
    found = f"{CHANGE_FLOW} is active" + (
        f": {'; '.join(problems)}"
        if problems
        else f", watches {len(OWNED_ACCOUNT_FIELDS)} owned fields, leaves out the integration user"
    )
    fix = _deploy(expected)
    if any("Integration_User_Id__c" in problem for problem in problems):
        user = integration_user_id
        fix = (
            f"set {INTEGRATION_USER_FIELD} to {user} in Setup > Custom Metadata Types > SAP Customer Sync Setting > "
            f"Manage Records > {SETTING_RECORD} (or deploy with SAP_SYNC_INTEGRATION_USER_ID={user}); " + fix
        )
    return result(Check.CHANGE_TRIGGER, not problems, found, fix)


def _flow_problems(flow: RecordTriggeredFlow) -> list[str]:
    problems = []
    start = (flow.object_name, flow.trigger_type, flow.record_trigger_type)
    if start[0] != "Account" or start[1] != "RecordAfterSave" or start[2] not in ("Update", "CreateAndUpdate"):
        shown = "/".join(part or "?" for part in start)
        problems.append(f"its active version starts on {shown}, not after the save of an Account update")
    if PUSH_OUTBOUND_MESSAGE not in flow.action_names:
        problems.append(f"it does not send the outbound message {PUSH_OUTBOUND_MESSAGE}")
    watched = {name.lower() for name in _WATCHED.findall(flow.filter_formula or "")}
    unwatched = [name for name in OWNED_ACCOUNT_FIELDS if name.lower() not in watched]
    if unwatched:
        problems.append(f"its entry condition does not watch {', '.join(unwatched)} (ISCHANGED)")
    if INTEGRATION_USER_FIELD.lower() not in (flow.filter_formula or "").lower():
        problems.append(f"its entry condition does not compare LastModifiedById with {INTEGRATION_USER_FIELD}")
    return problems


def _user_problems(setting: str | None, user_id: str) -> list[str]:
    if not setting:
        return [f"{SETTING_TYPE}.{SETTING_RECORD}'s {INTEGRATION_USER_FIELD} is empty or missing"]
    if setting.strip()[:15] != user_id[:15]:
        return [
            f"{INTEGRATION_USER_FIELD} is {setting.strip()}, not the integration user {user_id}: its own "
            "saves would be sent as changes"
        ]
    return []


def change_trigger_unreadable(expected: SalesforceExpectations, answer: str) -> CheckResult:
    """The Tooling API refused to show flows (without View Setup and Configuration, as for the outbound message):
    fail closed with the manual check and the way to let the check read it."""
    return result(
        Check.CHANGE_TRIGGER,
        False,
        f"the change flow could not be read: {answer}",
        f"check by hand in {SETUP_PAGE}: Active, Account, after save on update, entry condition watching "
        f"{', '.join(OWNED_ACCOUNT_FIELDS)}, action {PUSH_OUTBOUND_MESSAGE}; and in Setup > Custom Metadata Types > "
        f"SAP Customer Sync Setting > {SETTING_RECORD}: {INTEGRATION_USER_FIELD} = the integration user's Id. Or let "
        "the check read it: run it once as a user with View Setup and Configuration",
    )
