"""The go-live check's Salesforce area (`python -m admin preflight --only salesforce`, issue 24).

    check_salesforce(parts)   one CheckResult per check of shared.core.preflight_salesforce.Check, in order

It asks the org (the `SalesforceOrgInspector` port: a login, the API versions, the describe of Account, SOQL on
User and PermissionSetAssignment, the Tooling API's WorkflowOutboundMessage, FlowDefinition and Flow, SOQL on the
custom metadata record) and leaves every decision to shared/core/preflight_salesforce*.py. Read-only. A check
that needs an earlier one that failed (no login: no describe) is SKIPPED, saying which; a call that fails fails
its own check with what Salesforce answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.core import preflight_salesforce as rules
from shared.core import preflight_salesforce_change as change_rules
from shared.core import preflight_salesforce_push as push_rules
from shared.core.preflight import CheckResult
from shared.core.preflight_salesforce import Check, SalesforceExpectations
from shared.core.salesforce_org_facts import DescribedField, OrgUser
from shared.salesforce.port import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceOrgInspector,
    SalesforceRejected,
    SalesforceUnavailable,
)

_Answer = TypeVar("_Answer")


@dataclass(frozen=True)
class SalesforcePreflightParts:
    """What the Salesforce checks need: the org (None when no login is configured: SALESFORCE_AUTH unset) and
    what the settings expect of it (customer types, write-back mode, push path and this app's URL, the
    permission set, the API version, the login)."""

    org: SalesforceOrgInspector | None
    expected: SalesforceExpectations


class _CallFailed(Exception):
    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.found)
        self.result = result


def check_salesforce(parts: SalesforcePreflightParts) -> list[CheckResult]:
    expected = parts.expected
    why_not = rules.not_needed(expected)
    if why_not is not None:
        return [rules.skip(check, why_not) for check in Check.ALL]
    org = parts.org
    if org is None or expected.auth is None:
        first = (
            rules.login_not_configured(expected)
            if expected.push_path
            else rules.login_failed(expected, "SALESFORCE_AUTH is not set", unavailable=False)
        )
        return [first, *_skip_rest(Check.ALL[1:], "needs the login")]
    try:
        login = org.log_in()
    except SalesforceAuthenticationFailed as error:
        return [
            rules.login_failed(expected, str(error), unavailable=False),
            *_skip_rest(Check.ALL[1:], "needs the login"),
        ]
    except SalesforceError as error:
        return [
            rules.login_failed(expected, str(error), unavailable=isinstance(error, SalesforceUnavailable)),
            *_skip_rest(Check.ALL[1:], "needs the login"),
        ]
    results = [rules.login_passed(expected, login.instance_url)]
    try:
        api_version = rules.check_api_version(expected, _ask(org.supported_api_versions, Check.API_VERSION))
    except _CallFailed as failure:
        api_version = failure.result
    results.append(api_version)
    if api_version.failed:
        return [*results, *_skip_rest(Check.ALL[2:], "needs a supported SALESFORCE_API_VERSION")]
    results.extend(_describe_checks(org, expected))
    user_results, user = _user_checks(org, expected, login.user_id)
    results.extend(user_results)
    results.append(_outbound_message_check(org, expected))
    writer_id = login.user_id or (user.user_id if user else None)
    results.append(_change_trigger_check(org, expected, writer_id))
    return results


def _describe_checks(org: SalesforceOrgInspector, expected: SalesforceExpectations) -> list[CheckResult]:
    try:
        described: dict[str, DescribedField] = _ask(org.describe_account, Check.ACCOUNT_FIELDS)
    except _CallFailed as failure:
        return [
            failure.result,
            *_skip_rest((Check.SYNC_STATUS_VALUES, Check.CUSTOMER_TYPES), "needs the describe of Account"),
        ]
    fields = rules.check_account_fields(expected, described)
    status = rules.check_sync_status_values(described) or rules.skip(
        Check.SYNC_STATUS_VALUES, "SAP_Sync_Status__c is missing or no picklist (see account_fields)"
    )
    types = rules.check_customer_types(expected, described) or rules.skip(
        Check.CUSTOMER_TYPES, "the Account Type field is missing or no picklist (see account_fields)"
    )
    return [fields, status, types]


def _user_checks(
    org: SalesforceOrgInspector, expected: SalesforceExpectations, session_user_id: str | None
) -> tuple[list[CheckResult], OrgUser | None]:
    """The integration user's checks, and the user when found (the change trigger compares it)."""
    username = expected.integration_username
    try:
        if username:
            user = _ask(lambda: org.find_user(username=username), Check.INTEGRATION_USER)
        elif session_user_id:
            user = _ask(lambda: org.find_user(user_id=session_user_id), Check.INTEGRATION_USER)
        else:
            user = None
    except _CallFailed as failure:
        return [failure.result, rules.skip(Check.PERMISSION_SET, "needs the integration user")], None
    if user is None and not username and not session_user_id:
        why = "the login answered no identity and SALESFORCE_USERNAME is not set: no user to check"
        return [
            rules.result(Check.INTEGRATION_USER, False, why, "set SALESFORCE_USERNAME to the integration user"),
            rules.skip(Check.PERMISSION_SET, "needs the integration user"),
        ], None
    results = [rules.check_integration_user(expected, session_user_id, user)]
    if user is None:
        return [*results, rules.skip(Check.PERMISSION_SET, "needs the integration user")], None
    try:
        assigned = _ask(lambda: org.assigned_permission_sets(user.user_id), Check.PERMISSION_SET)
    except _CallFailed as failure:
        return [*results, failure.result], user
    return [*results, rules.check_permission_set(expected, user, assigned)], user


def _outbound_message_check(org: SalesforceOrgInspector, expected: SalesforceExpectations) -> CheckResult:
    if not expected.push_path:
        return rules.skip(Check.OUTBOUND_MESSAGE, "the push path is off (SALESFORCE_ORGANIZATION_ID is not set)")
    try:
        message = org.outbound_message(expected.outbound_message)
    except SalesforceRejected as error:
        return push_rules.outbound_message_unreadable(expected, str(error))
    except SalesforceError as error:
        return _failed_call(Check.OUTBOUND_MESSAGE, error)
    try:
        sender: OrgUser | None = None
        if message is not None and message.integration_user_id:
            user_id = message.integration_user_id
            sender = _ask(lambda: org.find_user(user_id=user_id), Check.OUTBOUND_MESSAGE)
    except _CallFailed as failure:
        return failure.result
    return push_rules.check_outbound_message(expected, message, sender)


def _change_trigger_check(
    org: SalesforceOrgInspector, expected: SalesforceExpectations, writer_id: str | None
) -> CheckResult:
    """`writer_id`: the user whose saves are the write-back (the session's user, else SALESFORCE_USERNAME's)."""
    if not expected.push_path:
        return rules.skip(
            Check.CHANGE_TRIGGER,
            "the push path is off (SALESFORCE_ORGANIZATION_ID is not set): the Power Automate flow sends changes",
        )
    if writer_id is None:
        return rules.skip(Check.CHANGE_TRIGGER, "needs the integration user (see integration_user)")
    try:
        trigger = org.change_trigger(change_rules.CHANGE_FLOW)
    except SalesforceRejected as error:
        return change_rules.change_trigger_unreadable(expected, str(error))
    except SalesforceError as error:
        return _failed_call(Check.CHANGE_TRIGGER, error)
    return change_rules.check_change_trigger(expected, trigger, writer_id)


def _ask(call: Callable[[], _Answer], check: str) -> _Answer:
    """One call to the org; its failure becomes the failed result of `check` (raised as _CallFailed)."""
    try:
        return call()
    except SalesforceError as error:
        raise _CallFailed(_failed_call(check, error)) from None


def _failed_call(check: str, error: SalesforceError) -> CheckResult:
    """What Salesforce answered, and the likely fix: Salesforce unavailable, or a user without the right."""
    if isinstance(error, SalesforceUnavailable):
        fix = "Salesforce did not answer: run the check again; if it stays, see status.salesforce.com"
    else:
        fix = (
            "the integration user may lack the right to read this (API Enabled, read access to Account and its "
            "fields): check its permission sets and profile in Setup > Users, or check the item in Setup by hand"
        )
    return rules.result(check, False, str(error), fix)


def _skip_rest(checks: tuple[str, ...], why: str) -> list[CheckResult]:
    return [rules.skip(check, why) for check in checks]
