"""What the go-live check asks the Salesforce org (the `SalesforceOrgInspector` port), on simple-salesforce over
real HTTP, with the app's own login (shared/salesforce/connection.py's `SalesforceConnection`: the
configured OAuth flow at the configured login URL). Read-only; reads no settings (the composition root hands
them in: shared/bootstrap/salesforce.py).

The calls, each as Salesforce documents it (developer.salesforce.com):
* GET /services/data/: the Versions resource, a JSON list of {"label", "url", "version"} (REST API Developer
  Guide, "Versions"); asked with the session's bearer token.
* GET /services/data/vXX.X/sobjects/Account/describe/: sObject Describe (REST API Developer Guide), `fields`.
* GET /services/data/vXX.X/query/?q=SOQL on User (Username, IsActive) and PermissionSetAssignment with the
  relationship field PermissionSet.Name (Object Reference, "PermissionSetAssignment": AssigneeId,
  PermissionSetId; the answer nests the parent as {"PermissionSet": {"attributes": ..., "Name": ...}}, REST
  API Developer Guide, "Execute a SOQL Query", relationship queries).
* The change trigger (issue 26): Tooling API FlowDefinition (DeveloperName, ActiveVersionId) and Flow (Metadata
  of the active version: start, actionCalls), and SOQL on the custom metadata type SAP_Customer_Sync_Setting__mdt;
  see shared/core/preflight_salesforce_change.py for the sources.
* GET /services/data/vXX.X/tooling/query/?q=SOQL on WorkflowOutboundMessage (Tooling API Developer Guide,
  "WorkflowOutboundMessage" and "Query"): first Id and Name of every outbound message, then FullName and
  Metadata one record at a time ("Query this field only if the query result contains no more than one record").
The user the session acts as: the identity URL `id` of the token answer (.../id/ORG_ID/USER_ID), which every
flow's answer carries (REST API Developer Guide, the OAuth flows' sample answers; for client credentials also
the published schema of its successful answer, api-evangelist/salesforce json-schema
salesforce-successful-client-credentials-flow-*; unverified against a live org). It is read by overriding the
connection's `_request_token` (connection.py has no public hook for it yet). The Salesforce CLI asks
/services/oauth2/userinfo instead (@salesforce/core, lib/org/authInfo.js), which may need the openid scope.
Unverified against a live org here: whether `Name` holds the label or the developer name (both are tried
first, then every message is looked at, up to `_MOST_OUTBOUND_MESSAGES`), and the exact JSON spelling of
`Metadata` (read as the Metadata API's WorkflowOutboundMessage: endpointUrl, fields; absent keys fail closed).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.util import exception_handler

from shared.core.preflight_salesforce_change import (
    INTEGRATION_USER_FIELD,
    SETTING_RECORD,
    SETTING_TYPE,
    ChangeTrigger,
    RecordTriggeredFlow,
)
from shared.core.salesforce_org import SalesforceSettings
from shared.core.salesforce_org_facts import DescribedField, OrgLogin, OrgUser, OutboundMessageDefinition
from shared.salesforce.account_query import soql_string
from shared.salesforce.connection import DEFAULT_TIMEOUT_SECONDS, SalesforceConnection
from shared.salesforce.port import SalesforceOrgInspector, SalesforceUnavailable

# An org has few outbound messages; past this many the search stops (fails closed: "not found").
_MOST_OUTBOUND_MESSAGES = 200
_SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


class _IdentityKeepingConnection(SalesforceConnection):
    """The app's connection, keeping the identity URL of the last token answer (the user the session acts as)."""

    identity_url: str | None = None

    def _request_token(self) -> dict[str, Any]:
        answer = super()._request_token()
        identity = answer.get("id")
        self.identity_url = identity if isinstance(identity, str) else None
        return answer


class SimpleSalesforceOrgInspector(SalesforceOrgInspector):
    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._connection = _IdentityKeepingConnection(settings, session, timeout_seconds)
        self._timeout = timeout_seconds

    def log_in(self) -> OrgLogin:
        client = self._connection.fresh_login()
        return OrgLogin(
            instance_url=f"https://{client.sf_instance}", user_id=_user_id_of(self._connection.identity_url)
        )

    def supported_api_versions(self) -> tuple[str, ...]:
        def versions(client: Salesforce) -> Any:
            response = client.session.get(
                f"https://{client.sf_instance}/services/data/", headers=client.headers, timeout=self._timeout
            )
            if response.status_code >= 300:
                exception_handler(response, name="versions")
            return response.json()

        answer = self._connection.call(versions, "the API versions")
        if not isinstance(answer, list):
            raise SalesforceUnavailable("Salesforce's versions answer is not a list")
        return tuple(str(item["version"]) for item in answer if isinstance(item, dict) and "version" in item)

    def describe_account(self) -> dict[str, DescribedField]:
        answer = self._connection.call(
            lambda client: client.restful("sobjects/Account/describe/", timeout=self._timeout),
            "the describe of Account",
        )
        fields = answer.get("fields") if isinstance(answer, dict) else None
        if not isinstance(fields, list):
            raise SalesforceUnavailable("Salesforce's describe of Account has no fields list")
        described = {}
        for item in fields:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            values = tuple(
                (str(entry.get("value")), bool(entry.get("active")))
                for entry in item.get("picklistValues") or ()
                if isinstance(entry, dict)
            )
            described[item["name"]] = DescribedField(
                name=item["name"],
                type=str(item.get("type")),
                length=int(item.get("length") or 0),
                updateable=bool(item.get("updateable")),
                picklist_values=values,
            )
        return described

    def find_user(self, *, username: str | None = None, user_id: str | None = None) -> OrgUser | None:
        if user_id is not None:
            if not _SALESFORCE_ID.match(user_id):
                return None
            condition = f"Id = {soql_string(user_id)}"
        elif username is not None:
            condition = f"Username = {soql_string(username)}"
        else:
            raise ValueError("a username or a user id is needed")
        records = self._records(f"SELECT Id, Username, IsActive FROM User WHERE {condition} LIMIT 1", "the user")
        if not records:
            return None
        record = records[0]
        return OrgUser(str(record.get("Id")), str(record.get("Username")), record.get("IsActive") is True)

    def assigned_permission_sets(self, user_id: str) -> tuple[str, ...]:
        if not _SALESFORCE_ID.match(user_id):
            return ()
        records = self._records(
            f"SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = {soql_string(user_id)}",
            "the permission set assignments",
        )
        names = []
        for record in records:
            parent = record.get("PermissionSet")
            if isinstance(parent, dict) and isinstance(parent.get("Name"), str):
                names.append(parent["Name"])
        return tuple(names)

    def outbound_message(self, full_name: str) -> OutboundMessageDefinition | None:
        object_name, _, developer_name = full_name.partition(".")
        listed = self._tooling_records("SELECT Id, Name FROM WorkflowOutboundMessage", "the outbound messages")
        # The likely ones first: Name as the developer name or as its label (spaces for underscores).
        likely = {developer_name.lower(), developer_name.replace("_", " ").lower()}
        listed.sort(key=lambda record: str(record.get("Name", "")).lower() not in likely)
        for record in listed[:_MOST_OUTBOUND_MESSAGES]:
            record_id = str(record.get("Id", ""))
            if not _SALESFORCE_ID.match(record_id):
                continue
            [detail, *_] = self._tooling_records(
                f"SELECT Id, FullName, IntegrationUserId, Metadata FROM WorkflowOutboundMessage WHERE Id = "
                f"{soql_string(record_id)}",
                "the outbound message",
            ) or [{}]
            if str(detail.get("FullName", "")).lower() != full_name.lower():
                continue
            metadata = detail.get("Metadata")
            if not isinstance(metadata, dict) or not isinstance(metadata.get("endpointUrl"), str):
                raise SalesforceUnavailable(
                    f"the outbound message {object_name}.{developer_name} answered no Metadata.endpointUrl"
                )
            fields = metadata.get("fields") or ()
            user = detail.get("IntegrationUserId")
            return OutboundMessageDefinition(
                full_name=str(detail["FullName"]),
                endpoint_url=metadata["endpointUrl"],
                fields=tuple(str(name) for name in fields if isinstance(name, str)),
                integration_user_id=user if isinstance(user, str) else None,
            )
        return None

    def change_trigger(self, flow_api_name: str) -> ChangeTrigger:
        """FlowDefinition by DeveloperName, then its active version's Metadata (one record at a time, as for
        WorkflowOutboundMessage), then the custom metadata record; see shared/core/preflight_salesforce_change.py."""
        definitions = self._tooling_records(
            f"SELECT Id, DeveloperName, ActiveVersionId FROM FlowDefinition WHERE DeveloperName = "
            f"{soql_string(flow_api_name)}",
            "the flow definition",
        )
        flow: RecordTriggeredFlow | None = None
        if definitions:
            active = definitions[0].get("ActiveVersionId")
            active_id = active if isinstance(active, str) and _SALESFORCE_ID.match(active) else None
            flow = RecordTriggeredFlow(flow_api_name, active_id)
            if active_id is not None:
                flow = _flow_version(
                    flow,
                    self._tooling_records(
                        f"SELECT Id, Status, Metadata FROM Flow WHERE Id = {soql_string(active_id)}", "the flow"
                    ),
                )
        settings = self._records(
            f"SELECT {INTEGRATION_USER_FIELD} FROM {SETTING_TYPE} WHERE DeveloperName = {soql_string(SETTING_RECORD)}",
            "the custom metadata record",
        )
        value = settings[0].get(INTEGRATION_USER_FIELD) if settings else None
        return ChangeTrigger(flow, value if isinstance(value, str) and value.strip() else None)

    # ----------------------------------------------------------------------------- calls

    def _records(self, soql: str, what: str) -> list[dict[str, Any]]:
        answer = self._connection.call(lambda client: client.query(soql, timeout=self._timeout), what)
        return _records_of(answer, what)

    def _tooling_records(self, soql: str, what: str) -> list[dict[str, Any]]:
        answer = self._connection.call(
            lambda client: client.restful("tooling/query/", params={"q": soql}, timeout=self._timeout), what
        )
        return _records_of(answer, what)


def _records_of(answer: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
        raise SalesforceUnavailable(f"Salesforce's answer for {what} has no records list")
    return [record for record in answer["records"] if isinstance(record, dict)]


def _flow_version(flow: RecordTriggeredFlow, records: list[dict[str, Any]]) -> RecordTriggeredFlow:
    """The active version's start and actions from its Metadata (the Metadata API's Flow); absent keys stay None,
    which the check reads as not what it needs (fails closed)."""
    metadata = records[0].get("Metadata") if records else None
    if not isinstance(metadata, dict):
        raise SalesforceUnavailable(f"the flow {flow.api_name} answered no Metadata for its active version")
    start = metadata.get("start") if isinstance(metadata.get("start"), dict) else {}
    actions = metadata.get("actionCalls") or ()
    if isinstance(actions, dict):  # one element may come as an object rather than a list (unverified)
        actions = (actions,)

    def text(key: str) -> str | None:
        value = start.get(key)
        return value if isinstance(value, str) else None

    return replace(
        flow,
        object_name=text("object"),
        trigger_type=text("triggerType"),
        record_trigger_type=text("recordTriggerType"),
        filter_formula=text("filterFormula"),
        action_names=tuple(
            str(action["actionName"])
            for action in actions
            if isinstance(action, dict) and isinstance(action.get("actionName"), str)
        ),
    )


def _user_id_of(identity_url: str | None) -> str | None:
    """The user Id at the end of an identity URL (https://login.salesforce.com/id/ORG_ID/USER_ID)."""
    if not identity_url:
        return None
    last = urlsplit(identity_url).path.rstrip("/").rpartition("/")[2]
    return last if _SALESFORCE_ID.match(last) else None
