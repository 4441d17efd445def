"""The Salesforce area's use case (shared/usecases/preflight/salesforce.py) on an in-memory org: which checks run,
which are skipped and why, and that a failing call fails its own check only. The same checks against the fake
Salesforce over HTTPS: tests/integration/test_preflight_salesforce.py."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from shared.core import account_fields
from shared.core.preflight import Area, Verdict
from shared.core.preflight_salesforce import PUSH_OUTBOUND_MESSAGE, Check, SalesforceExpectations
from shared.core.preflight_salesforce_change import ChangeTrigger
from shared.core.salesforce_org_facts import DescribedField, OrgLogin, OrgUser, OutboundMessageDefinition
from shared.salesforce.port import (
    SalesforceAuthenticationFailed,
    SalesforceOrgInspector,
    SalesforceRejected,
    SalesforceUnavailable,
)
from shared.usecases.preflight.salesforce import SalesforcePreflightParts, check_salesforce
from tests.unit.test_preflight_salesforce import EXPECTED as UNIT_EXPECTED
from tests.unit.test_preflight_salesforce import INTEGRATION, PUSH_URL, project_org
from tests.unit.test_preflight_salesforce_change import PROJECT_TRIGGER

# The unit tests' expectations (tests/unit/test_preflight_salesforce.py), signing in with a JWT as the named user.
EXPECTED = replace(UNIT_EXPECTED, auth="jwt", integration_username=INTEGRATION.username)


MESSAGE = OutboundMessageDefinition(
    PUSH_OUTBOUND_MESSAGE, PUSH_URL, account_fields.OUTBOUND_MESSAGE_FIELDS, INTEGRATION.user_id
)


@dataclass
class InMemoryOrg(SalesforceOrgInspector):
    """An org that answers from memory; `failures` names a call that raises the given error instead."""

    fields: dict[str, DescribedField] = field(default_factory=project_org)
    users: tuple[OrgUser, ...] = (INTEGRATION,)
    assigned: tuple[str, ...] = ("SAP_Customer_Sync_Integration",)
    message: OutboundMessageDefinition | None = field(default_factory=lambda: MESSAGE)
    trigger: ChangeTrigger = field(default_factory=lambda: PROJECT_TRIGGER)
    failures: dict[str, Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]

    def log_in(self) -> OrgLogin:
        self._call("log_in")
        return OrgLogin("https://example.my.salesforce.com", INTEGRATION.user_id)

    def supported_api_versions(self) -> tuple[str, ...]:
        self._call("supported_api_versions")
        return ("60.0", "61.0", "62.0")

    def describe_account(self) -> dict[str, DescribedField]:
        self._call("describe_account")
        return dict(self.fields)

    def find_user(self, *, username: str | None = None, user_id: str | None = None) -> OrgUser | None:
        self._call("find_user")
        return next((user for user in self.users if user.username == username or user.user_id == user_id), None)

    def assigned_permission_sets(self, user_id: str) -> tuple[str, ...]:
        self._call("assigned_permission_sets")
        return self.assigned

    def outbound_message(self, full_name: str) -> OutboundMessageDefinition | None:
        self._call("outbound_message")
        return self.message if self.message and self.message.full_name == full_name else None

    def change_trigger(self, flow_api_name: str) -> ChangeTrigger:
        self._call("change_trigger")
        flow = self.trigger.flow
        return replace(self.trigger, flow=flow if flow and flow.api_name == flow_api_name else None)


def verdicts(org: SalesforceOrgInspector | None, expected: SalesforceExpectations = EXPECTED) -> dict[str, Verdict]:
    results = check_salesforce(SalesforcePreflightParts(org, expected))
    assert [result.check for result in results] == list(Check.ALL)
    assert {result.area for result in results} == {Area.SALESFORCE}
    return {result.check: result.verdict for result in results}


def test_a_correct_org_passes_every_check():
    assert set(verdicts(InMemoryOrg()).values()) == {Verdict.PASSED}


def test_nothing_is_asked_when_the_app_never_calls_salesforce():
    org = InMemoryOrg()
    expected = replace(EXPECTED, auth=None, writeback="flow", push_path=False)
    assert set(verdicts(org, expected).values()) == {Verdict.SKIPPED}
    assert org.calls == []


def test_the_push_path_without_a_login_fails_the_login_and_skips_the_rest():
    result = verdicts(None, replace(EXPECTED, auth=None, writeback="off"))
    assert result.pop(Check.LOGIN) is Verdict.FAILED and set(result.values()) == {Verdict.SKIPPED}


@pytest.mark.parametrize("error", [SalesforceAuthenticationFailed("invalid_grant"), SalesforceUnavailable("503")])
def test_a_failed_login_skips_every_other_check(error):
    org = InMemoryOrg(failures={"log_in": error})
    result = verdicts(org)
    assert result.pop(Check.LOGIN) is Verdict.FAILED and set(result.values()) == {Verdict.SKIPPED}
    assert org.calls == ["log_in"]


@pytest.mark.parametrize(
    ("call", "failed", "skipped"),
    [
        ("supported_api_versions", {Check.API_VERSION}, set(Check.ALL[2:])),
        ("describe_account", {Check.ACCOUNT_FIELDS}, {Check.SYNC_STATUS_VALUES, Check.CUSTOMER_TYPES}),
        ("find_user", {Check.INTEGRATION_USER, Check.OUTBOUND_MESSAGE}, {Check.PERMISSION_SET}),
        ("assigned_permission_sets", {Check.PERMISSION_SET}, set()),
        ("outbound_message", {Check.OUTBOUND_MESSAGE}, set()),
        ("change_trigger", {Check.CHANGE_TRIGGER}, set()),
    ],
)
@pytest.mark.parametrize(
    "error",
    [SalesforceRejected("Salesforce answered 400 INVALID_TYPE"), SalesforceUnavailable("Salesforce answered 503")],
)
def test_a_failing_call_fails_its_own_check_and_skips_only_those_that_need_it(call, failed, skipped, error):
    """(find_user serves two checks: the integration user and the outbound message's sending user.)"""
    result = verdicts(InMemoryOrg(failures={call: error}))
    assert {check for check, verdict in result.items() if verdict is Verdict.FAILED} == failed
    assert {check for check, verdict in result.items() if verdict is Verdict.SKIPPED} == skipped


def test_a_missing_status_field_is_reported_once_by_the_field_check():
    fields = project_org()
    del fields["SAP_Sync_Status__c"]
    result = verdicts(InMemoryOrg(fields=fields))
    assert result[Check.ACCOUNT_FIELDS] is Verdict.FAILED
    assert result[Check.SYNC_STATUS_VALUES] is Verdict.SKIPPED


def test_without_a_username_the_sessions_user_is_checked():
    org = InMemoryOrg()
    result = verdicts(org, replace(EXPECTED, auth="client_credentials", integration_username=None))
    assert set(result.values()) == {Verdict.PASSED}


def test_the_outbound_messages_sending_user_is_looked_up_and_must_be_active():
    sender = OrgUser("0055g00000SENDRAAA", "sender@example.com", False)
    message = OutboundMessageDefinition(
        PUSH_OUTBOUND_MESSAGE, PUSH_URL, account_fields.OUTBOUND_MESSAGE_FIELDS, sender.user_id
    )
    result = verdicts(InMemoryOrg(users=(INTEGRATION, sender), message=message))
    assert {check for check, verdict in result.items() if verdict is Verdict.FAILED} == {Check.OUTBOUND_MESSAGE}


def test_without_the_push_path_the_outbound_message_is_not_asked():
    org = InMemoryOrg()
    result = verdicts(org, replace(EXPECTED, push_path=False))
    assert result[Check.OUTBOUND_MESSAGE] is Verdict.SKIPPED
    assert "outbound_message" not in org.calls


def test_an_outbound_message_the_org_refuses_to_show_fails_with_the_manual_check():
    refused = SalesforceRejected("Salesforce answered 400 INVALID_TYPE for the outbound messages")
    results = check_salesforce(SalesforcePreflightParts(InMemoryOrg(failures={"outbound_message": refused}), EXPECTED))
    [outbound] = [result for result in results if result.check == Check.OUTBOUND_MESSAGE]
    assert outbound.verdict is Verdict.FAILED and "View Setup and Configuration" in outbound.fix


def test_without_the_push_path_the_change_trigger_is_not_asked():
    org = InMemoryOrg()
    assert verdicts(org, replace(EXPECTED, push_path=False))[Check.CHANGE_TRIGGER] is Verdict.SKIPPED
    assert "change_trigger" not in org.calls


def test_an_inspector_that_cannot_read_flows_fails_the_change_trigger_closed_with_the_manual_check():
    class WithoutFlows(InMemoryOrg):
        change_trigger = SalesforceOrgInspector.change_trigger  # the port's default: it refuses

    results = check_salesforce(SalesforcePreflightParts(WithoutFlows(), EXPECTED))
    [change] = [result for result in results if result.check == Check.CHANGE_TRIGGER]
    assert change.verdict is Verdict.FAILED and "Setup > Flows" in change.fix
    assert {result.check for result in results if result.failed} == {Check.CHANGE_TRIGGER}


def test_the_change_trigger_compares_the_sessions_user_and_is_skipped_without_one():
    other = OrgUser("0055g00000OTHERAAA", "other@example.com", True)
    org = InMemoryOrg(trigger=replace(PROJECT_TRIGGER, integration_user_setting=other.user_id))
    assert verdicts(org)[Check.CHANGE_TRIGGER] is Verdict.FAILED

    class NoIdentity(InMemoryOrg):
        def log_in(self) -> OrgLogin:
            return OrgLogin("https://example.my.salesforce.com", None)

    result = verdicts(NoIdentity(users=()), replace(EXPECTED, integration_username="nobody@example.com"))
    assert result[Check.CHANGE_TRIGGER] is Verdict.SKIPPED
