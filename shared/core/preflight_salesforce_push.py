"""The go-live check's decision on the push path's outbound message (issue 24): that it exists, sends to this
app's push function with a function key and the fields the push path reads, and that its sending user is active;
and what to do when the org does not let the integration user read it. Pure; tested as tables in
tests/unit/test_preflight_salesforce.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from shared.core import account_fields
from shared.core.preflight import CheckResult
from shared.core.preflight_salesforce import PUSH_PATH, Check, SalesforceExpectations, result
from shared.core.salesforce_org_facts import OrgUser, OutboundMessageDefinition

SETUP_PAGE = "Setup > Outbound Messages > SAP Customer Sync Push"


def push_endpoint(app_url: str) -> str:
    return app_url.rstrip("/") + PUSH_PATH


def check_outbound_message(
    expected: SalesforceExpectations, message: OutboundMessageDefinition | None, sender: OrgUser | None
) -> CheckResult:
    """The outbound message exists, sends to this app's push function with a function key, sends the fields the
    push path reads, and its sending user is active. Its URL's query (the function key) is never shown."""
    deploy = (
        "deploy it with the app's URL: export SAP_SYNC_PUSH_URL='https://APP.azurewebsites.net/api/salesforce/"
        "outbound-messages?code=FUNCTION_KEY' SAP_SYNC_INTEGRATION_USERNAME=INTEGRATION_USER; cd salesforce && "
        'sf project deploy start --source-dir force-app --target-org ORG (docs/push.md, "Set it up"), or edit '
        f"it in {SETUP_PAGE}"
    )
    if message is None:
        return result(Check.OUTBOUND_MESSAGE, False, f"no outbound message {expected.outbound_message}", deploy)
    endpoint = urlsplit(message.endpoint_url)
    shown = f"{endpoint.scheme}://{endpoint.netloc}{endpoint.path}"
    problems = []
    if expected.app_url is None:
        problems.append("this app's URL was not given, so where it points cannot be compared")
    else:
        wanted = urlsplit(push_endpoint(expected.app_url))
        if (endpoint.scheme.lower(), endpoint.netloc.lower(), endpoint.path) != (
            wanted.scheme.lower(),
            wanted.netloc.lower(),
            wanted.path,
        ):
            problems.append(f"it points elsewhere, not at {push_endpoint(expected.app_url)}")
    if not parse_qs(endpoint.query).get("code"):
        problems.append("its URL has no function key (?code=): the function answers 401")
    missing = [name for name in account_fields.OUTBOUND_MESSAGE_FIELDS if name not in message.fields]
    if missing:
        problems.append(f"it does not send {', '.join(missing)}")
    if sender is None or not sender.is_active:
        problems.append("its sending user (User to Send As) is " + ("inactive" if sender else "unknown"))
    found = f"{message.full_name} sends to {shown}" + (f": {'; '.join(problems)}" if problems else "")
    fix = deploy
    if expected.app_url is None:
        fix = (
            "give the check this app's URL: python -m admin preflight --app-url https://APP.azurewebsites.net; "
            + deploy
        )
    return result(Check.OUTBOUND_MESSAGE, not problems, found, fix)


def outbound_message_unreadable(expected: SalesforceExpectations, answer: str) -> CheckResult:
    """The Tooling API refused the query (the integration user may not read setup: Tooling API objects ask for
    View Setup and Configuration, unverified for WorkflowOutboundMessage in particular): fail closed, with the
    manual check and the way to let the check read it."""
    where = push_endpoint(expected.app_url) if expected.app_url else "https://APP.azurewebsites.net" + PUSH_PATH
    return result(
        Check.OUTBOUND_MESSAGE,
        False,
        f"the outbound message could not be read: {answer}",
        f"check by hand in {SETUP_PAGE}: Endpoint URL {where}?code=<the function key>, and the User to "
        "Send As active; or let the check read it: run it once as a user with View Setup and "
        "Configuration (SALESFORCE_AUTH=jwt with that SALESFORCE_USERNAME), the integration user keeps "
        "its least rights",
    )
