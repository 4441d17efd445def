"""The go-live check's Salesforce decisions (issue 24): what the org must have for this product, as pure
functions from what the org answered (shared/core/salesforce_org_facts.py) and what the settings expect
(`SalesforceExpectations`) to one `CheckResult` each. Tested as tables (tests/unit/test_preflight_salesforce*.py);
the use case (shared/usecases/preflight/salesforce.py) asks the org and calls these.

Every failed check names its fix: the setting, the Setup page, or the `sf` command of salesforce/README.md.
What a check shows is safe to show: field, setting and permission set names, user names of integration
users, counts; never a token, a secret, or the function key in the outbound message's URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.core import account_fields
from shared.core.preflight import Area, CheckResult, failed, passed, skipped
from shared.core.salesforce_org_facts import DescribedField, OrgUser

AREA = Area.SALESFORCE

# The permission set of the integration user and the outbound message of the push path: the names in
# salesforce/force-app/main/default/permissionsets/ and workflows/Account.workflow-meta.xml (a test holds
# them together). The outbound message's Metadata API full name is Object.DeveloperName.
INTEGRATION_PERMISSION_SET = "SAP_Customer_Sync_Integration"
PUSH_OUTBOUND_MESSAGE = "Account.SAP_Customer_Sync_Push"
# The push function's path: routePrefix "api" (host.json) + its route (functions/push.py; a test holds them).
PUSH_PATH = "/api/salesforce/outbound-messages"
# The statuses the write-back writes (shared/salesforce/simple_salesforce.py STATUS_SYNCED / STATUS_FAILED,
# the Power Automate flow writes the same two; a test holds them together).
SYNC_STATUS_SYNCED = "Synced"
SYNC_STATUS_VALUES = (SYNC_STATUS_SYNCED, account_fields.STATUS_FAILED)
# What the write-back may write into the error and warnings texts (the adapter cuts longer texts to these:
# simple_salesforce.SYNC_ERROR_MAX_LENGTH / SYNC_WARNINGS_MAX_LENGTH; a test holds them together).
SYNC_TEXT_LENGTH = 255

_DEPLOY_FIELDS = (
    "cd salesforce && sf project deploy start --source-dir force-app/main/default/objects "
    "--source-dir force-app/main/default/permissionsets --target-org ORG"
)


def assign_permission_set(username: str) -> str:
    return (
        f"sf org assign permset --name {INTEGRATION_PERMISSION_SET} --on-behalf-of {username} --target-org ORG "
        f"(or Setup > Users > Users > {username} > Permission Set Assignments > Edit Assignments)"
    )


class Check:
    """The stable ids of the Salesforce checks (`CheckResult.check`) and their titles, in the order they run."""

    LOGIN = "login"
    API_VERSION = "api_version"
    ACCOUNT_FIELDS = "account_fields"
    SYNC_STATUS_VALUES = "sync_status_values"
    CUSTOMER_TYPES = "customer_types"
    INTEGRATION_USER = "integration_user"
    PERMISSION_SET = "permission_set"
    OUTBOUND_MESSAGE = "outbound_message"
    CHANGE_TRIGGER = "change_trigger"

    TITLES: Mapping[str, str] = {
        LOGIN: "log in with the configured OAuth flow and login URL",
        API_VERSION: "SALESFORCE_API_VERSION is one the org serves",
        ACCOUNT_FIELDS: "every Account field the product reads and writes exists with a usable type and length",
        SYNC_STATUS_VALUES: "SAP_Sync_Status__c has every value the product writes",
        CUSTOMER_TYPES: "the Account Type picklist holds every SALESFORCE_CUSTOMER_TYPES value",
        INTEGRATION_USER: "the integration user exists and is active",
        PERMISSION_SET: f"the integration user holds the permission set {INTEGRATION_PERMISSION_SET}",
        OUTBOUND_MESSAGE: "the push path's outbound message exists and points at this app",
        CHANGE_TRIGGER: "the change flow is active, watches the owned fields and leaves out the integration user",
    }
    ALL: tuple[str, ...] = tuple(TITLES)


@dataclass(frozen=True)
class SalesforceExpectations:
    """What the settings say the org must offer (built by the composition root from the settings)."""

    auth: str | None  # SALESFORCE_AUTH (None: no login configured)
    login_url: str  # SALESFORCE_LOGIN_URL
    api_version: str  # SALESFORCE_API_VERSION
    customer_types: tuple[str, ...]  # SALESFORCE_CUSTOMER_TYPES
    writeback: str  # SALESFORCE_WRITEBACK: function, flow or off
    push_path: bool  # SALESFORCE_ORGANIZATION_ID is set: the app accepts outbound messages
    # This app's base URL (https://APP.azurewebsites.net); None: not known to the check.
    app_url: str | None = None
    integration_username: str | None = None  # SALESFORCE_USERNAME
    permission_set: str = INTEGRATION_PERMISSION_SET
    outbound_message: str = PUSH_OUTBOUND_MESSAGE

    @property
    def writes_back(self) -> bool:
        """The function app itself writes the outcome to the account (its user must be able to edit the fields)."""
        return self.writeback == "function"


def result(check: str, ok: bool, found: str, fix: str) -> CheckResult:
    title = Check.TITLES[check]
    return passed(AREA, check, title, found) if ok else failed(AREA, check, title, found, fix)


def skip(check: str, why: str) -> CheckResult:
    return skipped(AREA, check, Check.TITLES[check], why)


def not_needed(expected: SalesforceExpectations) -> str | None:
    """Why no Salesforce check applies (None: they do). The app calls Salesforce when it writes back
    (function), when it takes the push path, or, with a login configured, for `admin reconcile`."""
    if expected.auth is None and not expected.push_path and not expected.writes_back:
        return (
            f"SALESFORCE_WRITEBACK={expected.writeback}, the push path is off (SALESFORCE_ORGANIZATION_ID not "
            "set) and SALESFORCE_AUTH is not set: this app never calls Salesforce"
        )
    return None


def login_not_configured(expected: SalesforceExpectations) -> CheckResult:
    """The push path is on but nothing can log in: its accounts never get their number back."""
    return result(
        Check.LOGIN,
        False,
        "the push path is on (SALESFORCE_ORGANIZATION_ID set) but SALESFORCE_AUTH is "
        "not set: the app cannot write the SAP number back to the accounts Salesforce pushes",
        "set SALESFORCE_WRITEBACK=function with SALESFORCE_AUTH and its credentials (docs/push.md, "
        '"Set it up", step 1), or unset SALESFORCE_ORGANIZATION_ID if the push path is not used',
    )


def login_failed(expected: SalesforceExpectations, reason: str, *, unavailable: bool) -> CheckResult:
    """The login with the configured flow failed: `reason` is the adapter's message (OAuth error code and
    description, never a credential); `unavailable`: no answer or a 5xx, rather than a refusal."""
    where = f"SALESFORCE_AUTH={expected.auth} at SALESFORCE_LOGIN_URL={expected.login_url}"
    if unavailable:
        fix = (
            f"check SALESFORCE_LOGIN_URL ({expected.login_url}: your My Domain login URL, Setup > My Domain) and "
            "that this machine reaches it over HTTPS; retry if Salesforce reports an outage (status.salesforce.com)"
        )
    else:
        fix = {
            "client_credentials": "check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (Setup > App Manager > "
            "the connected app > View > Manage Consumer Details), that SALESFORCE_LOGIN_URL is the My Domain login "
            "URL, and that the app's policies enable the client credentials flow with an active Run As user "
            "(Setup > App Manager > the connected app > Manage > Edit Policies > Client Credentials Flow)",
            "jwt": "check SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY (its certificate is "
            "the connected app's digital signature), that the user is active and pre-authorized (Manage > Edit "
            "Policies > Admin approved users are pre-authorized, and the permission set or profile under Manage "
            "Permission Sets)",
            "password": "check SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_USERNAME, "
            "SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN, and that the user is active and not frozen "
            "(Setup > Users); better, move to client_credentials or jwt (the username-password flow is being retired)",
        }.get(expected.auth or "", "set SALESFORCE_AUTH to client_credentials, jwt or password")
    return result(Check.LOGIN, False, f"{where}: {reason}", fix)


def login_passed(expected: SalesforceExpectations, instance_url: str) -> CheckResult:
    return result(
        Check.LOGIN, True, f"SALESFORCE_AUTH={expected.auth} at {expected.login_url}: session on {instance_url}", ""
    )


def check_api_version(expected: SalesforceExpectations, served: Sequence[str]) -> CheckResult:
    """The configured REST API version is one the org lists (GET /services/data/)."""
    ok = expected.api_version in served
    newest = max(served, key=_version_key) if served else None
    found = f"SALESFORCE_API_VERSION={expected.api_version}; the org serves " + (
        f"{min(served, key=_version_key)} to {newest}" if served else "no version"
    )
    return result(
        Check.API_VERSION,
        ok,
        found,
        f"set SALESFORCE_API_VERSION to a version the org serves, e.g. "
        f"{newest or '61.0'} (the product is built and tested against 61.0)",
    )


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


@dataclass(frozen=True)
class FieldNeed:
    """One Account field the product uses: the types it can work with, the least length (text), and whether
    the function app writes it (then its user must be able to edit it)."""

    name: str
    types: frozenset[str]
    min_length: int = 0
    written: bool = False


_TEXT = frozenset({"string"})
_LONG_TEXT = frozenset({"string", "textarea"})
# Billing fields are text; with State and Country/Territory Picklists on, the name fields stay text
# (the *Code fields become picklists) — shared/core/account_fields.py sends the names.
_ADDRESS_TEXT = frozenset({"string", "textarea"})

# The fields the flow and the outbound message send and the reconcile reads (account_fields), and the ones the
# write-back writes. Lengths: SAP's keys (BUKRS 4, VKORG 4, VTWEG 2, SPART 2, KUNNR 10: shared/core/validation.py
# and mapping.py) must fit, the customer number (KUNNR, 10 digits) must fit, the error and warnings texts are cut to
# 255 by the write-back.
FIELD_NEEDS: tuple[FieldNeed, ...] = (
    FieldNeed("Id", frozenset({"id"})),
    FieldNeed("Name", _TEXT),
    FieldNeed("BillingStreet", _ADDRESS_TEXT),
    FieldNeed("BillingCity", _ADDRESS_TEXT),
    FieldNeed("BillingPostalCode", _ADDRESS_TEXT),
    FieldNeed("BillingState", _ADDRESS_TEXT),
    FieldNeed("BillingCountry", _ADDRESS_TEXT),
    FieldNeed("Phone", frozenset({"phone", "string"})),
    FieldNeed("SAP_Company_Code__c", _TEXT, 4),
    FieldNeed("SAP_Sales_Organization__c", _TEXT, 4),
    FieldNeed("SAP_Distribution_Channel__c", _TEXT, 2),
    FieldNeed("SAP_Division__c", _TEXT, 2),
    FieldNeed("SAP_Reference_Customer__c", _TEXT, 10),
    FieldNeed(account_fields.TYPE_FIELD, frozenset({"picklist"})),
    FieldNeed(account_fields.CUSTOMER_NUMBER_FIELD, _TEXT, 10, written=True),
    FieldNeed(account_fields.SYNC_STATUS_FIELD, frozenset({"picklist"}), written=True),
    FieldNeed(account_fields.LAST_MODIFIED_FIELD, frozenset({"datetime"})),
    FieldNeed(account_fields.SYSTEM_MODSTAMP_FIELD, frozenset({"datetime"})),
    FieldNeed("SAP_Sync_Error__c", _LONG_TEXT, SYNC_TEXT_LENGTH, written=True),
    FieldNeed("SAP_Synced_At__c", frozenset({"datetime"}), written=True),
    FieldNeed("SAP_Sync_Warnings__c", _LONG_TEXT, SYNC_TEXT_LENGTH, written=True),
)


def field_problems(need: FieldNeed, described: DescribedField | None, writes_back: bool) -> list[str]:
    """What is wrong with one field for the product (empty: nothing)."""
    if described is None:
        return [f"{need.name} is missing (not deployed, or not readable by the integration user)"]
    problems = []
    if described.type not in need.types:
        problems.append(f"{need.name} is {described.type}, the product needs {' or '.join(sorted(need.types))}")
    elif need.min_length and described.length < need.min_length:
        problems.append(f"{need.name} holds {described.length} characters, the product needs {need.min_length}")
    if need.written and writes_back and not described.updateable:
        problems.append(f"{need.name} is not editable by the integration user")
    return problems


def check_account_fields(expected: SalesforceExpectations, described: Mapping[str, DescribedField]) -> CheckResult:
    """Every field of `FIELD_NEEDS` in the describe of Account (`described`: by field name)."""
    problems = [
        problem
        for need in FIELD_NEEDS
        for problem in field_problems(need, described.get(need.name), expected.writes_back)
    ]
    if not problems:
        edit = "; the written ones editable" if expected.writes_back else ""
        return result(
            Check.ACCOUNT_FIELDS, True, f"all {len(FIELD_NEEDS)} fields present with usable types and lengths{edit}", ""
        )
    fix = (
        f"deploy the product's fields and permission sets: {_DEPLOY_FIELDS}; then "
        f"{assign_permission_set(expected.integration_username or 'INTEGRATION_USER')}. A field that exists in "
        "Setup > Object Manager > Account > Fields & Relationships but is reported missing or not editable lacks "
        "field-level security for the integration user (Set Field-Level Security on that field)"
    )
    return result(Check.ACCOUNT_FIELDS, False, "; ".join(problems), fix)


def check_sync_status_values(described: Mapping[str, DescribedField]) -> CheckResult | None:
    """SAP_Sync_Status__c has every status the product writes, active (None: the field itself is missing or no
    picklist, which `check_account_fields` reports)."""
    status = described.get(account_fields.SYNC_STATUS_FIELD)
    if status is None or status.type != "picklist":
        return None
    missing = [value for value in SYNC_STATUS_VALUES if value not in status.active_values]
    found = f"{account_fields.SYNC_STATUS_FIELD} values: {', '.join(status.active_values) or 'none'}"
    if missing:
        found += f"; missing: {', '.join(missing)}"
    return result(
        Check.SYNC_STATUS_VALUES,
        not missing,
        found,
        f"add (or reactivate) {', '.join(missing)} as API name(s) in Setup > Object Manager > Account > Fields "
        f"& Relationships > SAP Sync Status > Values, or deploy the field: {_DEPLOY_FIELDS}; the values are "
        "restricted, so a write-back of a missing value is refused",
    )


def check_customer_types(
    expected: SalesforceExpectations, described: Mapping[str, DescribedField]
) -> CheckResult | None:
    """Every SALESFORCE_CUSTOMER_TYPES value is an active value of the Type picklist (None: no Type picklist)."""
    type_field = described.get(account_fields.TYPE_FIELD)
    if type_field is None or type_field.type != "picklist":
        return None
    missing = [value for value in expected.customer_types if value not in type_field.active_values]
    found = f"SALESFORCE_CUSTOMER_TYPES={','.join(expected.customer_types)}"
    found += f"; not in the Type picklist: {', '.join(missing)}" if missing else "; all active Type values"
    offered = ", ".join(type_field.active_values) or "none"
    return result(
        Check.CUSTOMER_TYPES,
        not missing,
        found,
        f"set SALESFORCE_CUSTOMER_TYPES to the org's values that mean customer (API names; the org has: "
        f"{offered}) and the same in the custom metadata record SAP_Customer_Sync_Setting.Default and the Power "
        'Automate variable sapsync_CustomerTypes (salesforce/README.md, "Customer types"), or add the value '
        "in Setup > Object Manager > Account > Fields & Relationships > Type > Values",
    )


def check_integration_user(
    expected: SalesforceExpectations, session_user_id: str | None, user: OrgUser | None
) -> CheckResult:
    """The user the app acts as (the session's; SALESFORCE_USERNAME when set must be that user) exists and is active."""
    configured = expected.integration_username
    if user is None:
        who = f"SALESFORCE_USERNAME={configured}" if configured else f"the session's user {session_user_id or '?'}"
        return result(
            Check.INTEGRATION_USER,
            False,
            f"{who} is no user of this org",
            "set SALESFORCE_USERNAME to the integration user's username (Setup > Users > Users), or for "
            "client_credentials the connected app's Run As user (Manage > Edit Policies > Client Credentials Flow)",
        )
    problems = []
    if not user.is_active:
        problems.append("inactive")
    if session_user_id and user.user_id[:15] != session_user_id[:15]:
        problems.append("not the user the session acts as (for client_credentials: the connected app's Run As user)")
    found = f"{user.username} ({user.user_id})" + (f": {', '.join(problems)}" if problems else ", active")
    return result(
        Check.INTEGRATION_USER,
        not problems,
        found,
        "activate the integration user (Setup > Users > Users > Edit > Active) and make SALESFORCE_USERNAME "
        "and the connected app's Run As user the same integration user",
    )


def check_permission_set(expected: SalesforceExpectations, user: OrgUser, assigned: Sequence[str]) -> CheckResult:
    """The integration user holds the permission set (PermissionSetAssignment's PermissionSet.Name)."""
    ok = expected.permission_set in assigned
    found = (
        f"{user.username} holds {expected.permission_set}"
        if ok
        else f"{user.username} does not hold {expected.permission_set} ({len(assigned)} permission sets assigned)"
    )
    return result(
        Check.PERMISSION_SET,
        ok,
        found,
        f"deploy the permission sets if the org lacks it ({_DEPLOY_FIELDS}) and assign it: "
        f"{assign_permission_set(user.username)}",
    )
