"""The go-live check's change trigger decision (shared/core/preflight_salesforce_change.py) as a table: the project's
flow as deployed passes; each row breaks exactly one thing (the flow missing, inactive, starting elsewhere, not
sending the outbound message, not watching one owned field, not leaving out the integration user, the custom
metadata record empty or naming another user) and fails with its fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devtools.fake_salesforce_flows import project_flow, project_setting
from shared.core.preflight import Verdict
from shared.core.preflight_salesforce import Check
from shared.core.preflight_salesforce_change import (
    CHANGE_FLOW,
    INTEGRATION_USER_FIELD,
    OWNED_ACCOUNT_FIELDS,
    ChangeTrigger,
    RecordTriggeredFlow,
    change_trigger_unreadable,
    check_change_trigger,
)
from tests.unit.test_preflight_salesforce import EXPECTED, INTEGRATION


def _deployed(api_name: str, user_id: str) -> ChangeTrigger:
    """The project's flow and custom metadata record as `sf project deploy start` leaves them (active)."""
    metadata = project_flow(api_name)
    start = metadata["start"]
    flow = RecordTriggeredFlow(
        api_name,
        "3015g0000000001AAA",
        start["object"],
        start["triggerType"],
        start["recordTriggerType"],
        start["filterFormula"],
        tuple(action["actionName"] for action in metadata["actionCalls"]),
    )
    return ChangeTrigger(flow, project_setting(user_id)[INTEGRATION_USER_FIELD])


PROJECT_TRIGGER = _deployed(CHANGE_FLOW, INTEGRATION.user_id)
FLOW = PROJECT_TRIGGER.flow
assert FLOW is not None


def _without(field: str) -> str:
    formula = FLOW.filter_formula or ""
    return formula.replace(f"    ISCHANGED({{!$Record.{field}}}),\n", "").replace(
        f",\n    ISCHANGED({{!$Record.{field}}})\n", "\n"
    )


CASES = {
    "as deployed": (PROJECT_TRIGGER, Verdict.PASSED, "leaves out the integration user"),
    "15-character Id in the record": (
        replace(PROJECT_TRIGGER, integration_user_setting=INTEGRATION.user_id[:15]),
        Verdict.PASSED,
        "is active",
    ),
    "no flow": (replace(PROJECT_TRIGGER, flow=None), Verdict.FAILED, f"no flow {CHANGE_FLOW}"),
    "inactive": (
        replace(PROJECT_TRIGGER, flow=RecordTriggeredFlow(CHANGE_FLOW, None)),
        Verdict.FAILED,
        "has no active version",
    ),
    "before save": (
        replace(PROJECT_TRIGGER, flow=replace(FLOW, trigger_type="RecordBeforeSave")),
        Verdict.FAILED,
        "not after the save of an Account update",
    ),
    "on Contact": (
        replace(PROJECT_TRIGGER, flow=replace(FLOW, object_name="Contact")),
        Verdict.FAILED,
        "starts on Contact/RecordAfterSave/Update",
    ),
    "on create only": (
        replace(PROJECT_TRIGGER, flow=replace(FLOW, record_trigger_type="Create")),
        Verdict.FAILED,
        "not after the save of an Account update",
    ),
    "another action": (
        replace(PROJECT_TRIGGER, flow=replace(FLOW, action_names=("Account.Other_Message",))),
        Verdict.FAILED,
        "does not send the outbound message Account.SAP_Customer_Sync_Push",
    ),
    "metadata unread": (
        replace(PROJECT_TRIGGER, flow=RecordTriggeredFlow(CHANGE_FLOW, "3015g0000000001AAA")),
        Verdict.FAILED,
        "not after the save of an Account update",
    ),
    "no user clause": (
        replace(
            PROJECT_TRIGGER,
            flow=replace(
                FLOW, filter_formula=(FLOW.filter_formula or "").replace("Integration_User_Id__c", "Customer_Types__c")
            ),
        ),
        Verdict.FAILED,
        "does not compare LastModifiedById",
    ),
    "record empty": (
        replace(PROJECT_TRIGGER, integration_user_setting=None),
        Verdict.FAILED,
        "Integration_User_Id__c is empty or missing",
    ),
    "placeholder left": (
        replace(PROJECT_TRIGGER, integration_user_setting="005000000000000AAA"),
        Verdict.FAILED,
        "its own saves would be sent as changes",
    ),
}


@pytest.mark.parametrize(("trigger", "verdict", "found"), list(CASES.values()), ids=list(CASES))
def test_change_trigger(trigger, verdict, found):
    checked = check_change_trigger(EXPECTED, trigger, INTEGRATION.user_id)
    assert checked.check == Check.CHANGE_TRIGGER
    assert checked.verdict is verdict and found in checked.found, checked.found
    if verdict is Verdict.FAILED:
        assert checked.fix


@pytest.mark.parametrize("field", OWNED_ACCOUNT_FIELDS)
def test_an_owned_field_the_flow_does_not_watch_fails_naming_it(field):
    unwatched = replace(PROJECT_TRIGGER, flow=replace(FLOW, filter_formula=_without(field)))
    assert _without(field) != FLOW.filter_formula
    checked = check_change_trigger(EXPECTED, unwatched, INTEGRATION.user_id)
    assert checked.verdict is Verdict.FAILED
    assert checked.found.endswith(f"does not watch {field} (ISCHANGED)")


def test_another_user_in_the_record_fails_with_the_integration_users_id_in_the_fix():
    other = replace(PROJECT_TRIGGER, integration_user_setting="0055g00000OTHERAAA")
    checked = check_change_trigger(EXPECTED, other, INTEGRATION.user_id)
    assert checked.verdict is Verdict.FAILED
    assert f"set {INTEGRATION_USER_FIELD} to {INTEGRATION.user_id}" in checked.fix


def test_a_flow_the_org_refuses_to_show_fails_closed_with_the_manual_check():
    checked = change_trigger_unreadable(EXPECTED, "Salesforce answered 400 INVALID_TYPE")
    assert checked.verdict is Verdict.FAILED and "INVALID_TYPE" in checked.found
    assert "Setup > Flows" in checked.fix and "View Setup and Configuration" in checked.fix
    assert all(field in checked.fix for field in OWNED_ACCOUNT_FIELDS)
