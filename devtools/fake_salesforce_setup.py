"""The fake Salesforce's setup side: what the go-live check (`python -m admin preflight`, issue 24) asks an org,
served by devtools/fake_salesforce.py the way Salesforce serves it. Each fact with its source
(developer.salesforce.com unless said otherwise); what stays unverified is marked.

* GET /services/data/: the Versions resource, a JSON list of {"label", "url", "version"}, "Authentication:
  none" (REST API Developer Guide, "Versions" and "List Available REST API Versions", whose example starts at
  {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}; the guide's index names Spring '26
  as API 66.0). Served here: 31.0 to 66.0 (`set_api_versions` changes it); a versioned path of a version the
  org does not serve is 404 NOT_FOUND (unverified: the body a real org sends for it).
* GET /services/data/vXX.X/sobjects/Account/describe/: sObject Describe (REST API Developer Guide; the shape
  of the SOAP API's DescribeSObjectResult and Field): `name`, `fields` with `name`, `label`, `type`,
  `length` (text: maximum in characters; 0 for other types), `updateable`, `createable`, `nillable`,
  `custom`, `picklistValues` (PicklistEntry: `active`, `defaultValue`, `label`, `validFor`, `value`),
  `restrictedPicklist`. Field types: the SOAP API's fieldType names (id, string, textarea, picklist, phone,
  datetime). Standard fields' types and lengths: Object Reference, "Account" (BillingStreet textarea(255),
  BillingCity 40, BillingPostalCode 20, BillingState 80, BillingCountry 80, Phone phone(40), Type picklist);
  the custom fields' from salesforce/force-app/.../objects/Account/fields/*.field-meta.xml. Unverified: the
  `length` Salesforce answers for a picklist (255 here) and for Id (18 here).
  A field the user may not read is left out of the describe, which is how a missing field looks too.
  Field-level security is not derived from the permission sets here (`set_field(updateable=False)` models a
  field the integration user may not edit): in a real org whose profile grants nothing on the custom fields,
  a missing permission set assignment also hides or locks them, and the field check fails beside it.
* SOQL (GET .../query/?q=) on User (Id, Username, IsActive) and PermissionSetAssignment (AssigneeId,
  PermissionSetId, the parent relationship PermissionSet.Name, nested in the record as {"PermissionSet":
  {"attributes": {...}, "Name": ...}}: REST API Developer Guide, "Execute a SOQL Query", relationship queries;
  Object Reference, "PermissionSetAssignment" and "PermissionSet": every user also has an assignment of
  the permission set owned by their profile, IsOwnedByProfile, here named "X00e5g000001FAKEAAA" (the name
  form unverified)).
* Tooling API query (GET .../tooling/query/?q=) on WorkflowOutboundMessage (Tooling API Developer Guide,
  "WorkflowOutboundMessage": Id, Name, FullName, IntegrationUserId, EntityDefinitionId, ApiVersion, Metadata;
  "FullName" and "Metadata": "Query this field only if the query result contains no more than one record.
  Otherwise, an error is returned"). The error here is 400 MALFORMED_QUERY (its text unverified). The
  answer carries `size`, `totalSize`, `done`, `queryLocator`, `entityTypeName` and `records` (Tooling API
  Developer Guide, "Query" examples; the same keys in a Tooling answer quoted in jsforce/jsforce issue #1268).
  `Metadata` is the Metadata API's WorkflowOutboundMessage (Metadata API Developer Guide, "Workflow"):
  apiVersion, description, endpointUrl, fields, includeSessionId, integrationUser, name, protected,
  useDeadLetterQueue. Without View Setup and Configuration the query is refused (`set_views_setup`). Unverified: whether
  `Name` holds the label or the developer name (the label here; the adapter tries both and then FullName).
  The org starts with the project's outbound message as `sf project deploy start` would put it (its
  workflows/Account.workflow-meta.xml, the placeholder URL included, sent as the integration user).

* GET /services/oauth2/userinfo and GET .../sobjects/User/{id}: what the Salesforce CLI asks after a login by
  access token (@salesforce/core, lib/org/authInfo.js, retrieveUserInfo), served so the CLI can act as referee.

Referee run (by hand, 7 Dec 2026; not a test: it needs Node 22 and @salesforce/cli, which the project does not
install): @salesforce/cli 2.150.6 on Node 22 logged in to this fake with `sf org login access-token` (it read the
versions, userinfo and the User record), and its client library (@jsforce/jsforce-node, bundled with the CLI) read
the versions, the describe of Account (picklistValues, type, length, updateable), SOQL on User and on
PermissionSetAssignment (PermissionSet.Name nested), and both Tooling queries on WorkflowOutboundMessage (FullName,
Metadata.endpointUrl, Metadata.fields), and took an INVALID_FIELD error as Salesforce's. `sf data query` itself
also asks the query resource for `columns=true` (column metadata, undocumented), which this fake does not serve.
That proves the shapes parse in Salesforce's own client, not that a real org answers the same.

Knobs, each breaking one thing: `drop_field` (in fake_salesforce.py), `set_field`, `set_picklist`,
`set_type_values`, `set_views_setup`, `set_api_versions`, `set_user_active`, `add_user`, `unassign_permission_set`,
`assign_permission_set`, `deploy_outbound_message`, `delete_outbound_message`, `add_other_outbound_message`.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devtools.fake_salesforce_soql import id18, selection

_SOURCE = Path(__file__).resolve().parents[1] / "salesforce" / "force-app" / "main" / "default"
_WORKFLOW = _SOURCE / "workflows" / "Account.workflow-meta.xml"
_PERMISSION_SETS = _SOURCE / "permissionsets"
_NS = {"md": "http://soap.sforce.com/2006/04/metadata"}


PROFILE_PERMISSION_SET = "X00e5g000001FAKEAAA"
ACCOUNT_ENTITY_ID = "Account"  # EntityDefinitionId of a standard object is its name (unverified for Tooling)


def _season_label(version: int) -> str:
    """Salesforce's release name of an API version: 32.0 is Winter '15, three releases a year (Versions example)."""
    season = ("Winter", "Spring", "Summer")[(version - 32) % 3]
    return f"{season} '{15 + (version - 32) // 3:02d}"


# The Account fields' describe types (see the module docstring); fake_salesforce.ACCOUNT_FIELDS has the lengths.
ACCOUNT_FIELD_TYPES: dict[str, str] = {
    "Id": "id",
    "Name": "string",
    "Type": "picklist",
    "BillingStreet": "textarea",
    "BillingCity": "string",
    "BillingPostalCode": "string",
    "BillingState": "string",
    "BillingStateCode": "picklist",
    "BillingCountry": "string",
    "BillingCountryCode": "picklist",
    "Phone": "phone",
    "CurrencyIsoCode": "picklist",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
    "SAP_Customer_Number__c": "string",
    "SAP_Sync_Status__c": "picklist",
    "SAP_Sync_Error__c": "string",
    "SAP_Sync_Warnings__c": "string",
    "SAP_Synced_At__c": "datetime",
    "SAP_Company_Code__c": "string",
    "SAP_Sales_Organization__c": "string",
    "SAP_Distribution_Channel__c": "string",
    "SAP_Division__c": "string",
    "SAP_Reference_Customer__c": "string",
}
# The fake's Type picklist: the values the project names (shared/core/account_fields.py: a new org's "Customer";
# the older default picklist's "Customer - Direct" and "Customer - Channel") and "Prospect", which the tests use.
# A real org's default set depends on when it was made: unverified.
DEFAULT_TYPE_VALUES = ("Prospect", "Customer", "Customer - Direct", "Customer - Channel", "Other")


@dataclass(frozen=True)
class FieldShape:
    """A field's describe facts beyond its name: type, length, editable for the integration user."""

    type: str
    length: int
    updateable: bool


@dataclass
class _OutboundMessage:
    record_id: str
    name: str
    full_name: str
    integration_user_id: str
    metadata: dict[str, Any] = field(default_factory=dict)


def project_outbound_message(integration_username: str) -> dict[str, Any]:
    """The project's outbound message as its metadata file has it (the Metadata API WorkflowOutboundMessage)."""
    root = ElementTree.parse(_WORKFLOW).getroot()
    message = root.find("md:outboundMessages", _NS)
    assert message is not None

    def text(tag: str) -> str:
        return message.findtext(f"md:{tag}", default="", namespaces=_NS)

    return {
        "apiVersion": float(text("apiVersion")),
        "description": text("description"),
        "endpointUrl": text("endpointUrl"),
        "fields": [item.text for item in message.findall("md:fields", _NS)],
        "includeSessionId": text("includeSessionId") == "true",
        "integrationUser": integration_username,
        "name": text("name"),
        "protected": text("protected") == "true",
        "useDeadLetterQueue": text("useDeadLetterQueue") == "true",
        "fullName": text("fullName"),
    }


class FakeOrgSetup:
    """The org's users, permission sets, outbound messages, API versions and field shapes. Thread-safe."""

    def __init__(
        self,
        integration_user_id: str,
        integration_username: str,
        field_lengths: Mapping[str, int | None],
        read_only: frozenset[str],
    ) -> None:
        self._lock = threading.Lock()
        self._field_lengths = dict(field_lengths)
        self._read_only = read_only
        self.integration_user_id = integration_user_id
        self._versions: tuple[str, ...] = tuple(f"{version}.0" for version in range(31, 67))
        self._users: dict[str, dict[str, Any]] = {}
        self._permission_sets: dict[str, str] = {}  # Id -> Name
        self._assignments: list[tuple[str, str]] = []  # (AssigneeId, PermissionSetId)
        self._messages: dict[str, _OutboundMessage] = {}
        self._field_shapes: dict[str, FieldShape] = {}
        self.type_values: tuple[str, ...] = DEFAULT_TYPE_VALUES
        self._views_setup = True  # the integration user has View Setup and Configuration
        self._numbers = iter(range(1, 10**6))
        self.add_user(integration_username, user_id=integration_user_id)
        for number, path in enumerate(sorted(_PERMISSION_SETS.glob("*.permissionset-meta.xml")), start=1):
            self._permission_sets[id18(f"0PS5g{number:010d}")] = path.name.split(".")[0]
        self._permission_sets[id18("0PS5g0000009999")] = PROFILE_PERMISSION_SET
        self.assign_permission_set(integration_user_id, "SAP_Customer_Sync_Integration")
        self.assign_permission_set(integration_user_id, PROFILE_PERMISSION_SET)
        metadata = project_outbound_message(integration_username)
        self._deploy(metadata, integration_user_id)

    # ----------------------------------------------------------------------------- knobs

    def set_api_versions(self, versions: Sequence[str]) -> None:
        with self._lock:
            self._versions = tuple(versions)

    def serves_version(self, version: str) -> bool:
        with self._lock:
            return version in self._versions

    def add_user(self, username: str, *, active: bool = True, user_id: str | None = None) -> str:
        with self._lock:
            user_id = user_id or id18(f"0055g{next(self._numbers) + 100:010d}")
            self._users[user_id] = {"Id": user_id, "Username": username, "IsActive": active}
            return user_id

    def set_user_active(self, user_id: str, active: bool) -> None:
        """Deactivate (or reactivate) a user: Setup > Users > Edit > Active."""
        with self._lock:
            self._users[user_id]["IsActive"] = active

    def user_active(self, user_id: str) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            return bool(user and user["IsActive"])

    def assign_permission_set(self, user_id: str, name: str) -> None:
        with self._lock:
            set_id = next(key for key, value in self._permission_sets.items() if value == name)
            self._assignments.append((user_id, set_id))

    def unassign_permission_set(self, user_id: str, name: str) -> None:
        with self._lock:
            self._assignments = [
                (assignee, set_id)
                for assignee, set_id in self._assignments
                if not (assignee == user_id and self._permission_sets[set_id] == name)
            ]

    def deploy_outbound_message(self, **changes: Any) -> None:
        """(Re)deploy the project's outbound message with `changes` to its metadata (endpointUrl=..., fields=[...]);
        `integration_user_id=` picks the sending user."""
        user_id = changes.pop("integration_user_id", self.integration_user_id)
        with self._lock:
            username = self._users[user_id]["Username"]
        self._deploy({**project_outbound_message(username), **changes, "integrationUser": username}, user_id)

    def delete_outbound_message(self) -> None:
        """Remove the project's outbound message (Setup > Outbound Messages > Del)."""
        with self._lock:
            for record_id in [
                key for key, message in self._messages.items() if message.full_name == "Account.SAP_Customer_Sync_Push"
            ]:
                del self._messages[record_id]

    def set_field(
        self,
        name: str,
        *,
        type: str | None = None,
        length: int | None = None,
        updateable: bool | None = None,
    ) -> None:
        """Change one field's describe facts (an admin changed its type or length, or its field-level security)."""
        base = self._base_shape(name, self._field_lengths.get(name))
        with self._lock:
            current = self._field_shapes.get(name, base)
            self._field_shapes[name] = replace(
                current,
                **{
                    key: value
                    for key, value in (("type", type), ("length", length), ("updateable", updateable))
                    if value is not None
                },
            )

    def set_views_setup(self, allowed: bool) -> None:
        """Whether the integration user has View Setup and Configuration. Without it a Tooling API query on a setup
        object is refused 400 INVALID_TYPE "sObject type '...' is not supported." (reported for non-admin users:
        afawcett/apex-toolingapi issue #19, tprouvot/Salesforce-Inspector-reloaded issue #1310, which granting
        View Setup and Configuration fixed; unverified for WorkflowOutboundMessage in particular)."""
        with self._lock:
            self._views_setup = allowed

    def views_setup(self) -> bool:
        with self._lock:
            return self._views_setup

    def set_type_values(self, values: Sequence[str]) -> None:
        """The Account Type picklist's values (Setup > Object Manager > Account > Fields & Relationships > Type)."""
        with self._lock:
            self.type_values = tuple(values)

    def add_other_outbound_message(self, full_name: str, name: str, endpoint_url: str) -> None:
        """Another outbound message of the org (another object's or another integration's)."""
        metadata = {
            **project_outbound_message(""),
            "fullName": full_name.partition(".")[2],
            "name": name,
            "endpointUrl": endpoint_url,
            "fields": ["Id"],
        }
        self._deploy(metadata, self.integration_user_id, full_name.partition(".")[0])

    def _deploy(self, metadata: dict[str, Any], user_id: str, object_name: str = "Account") -> None:
        full_name = f"{object_name}.{metadata.pop('fullName')}"
        with self._lock:
            for record_id in [key for key, message in self._messages.items() if message.full_name == full_name]:
                del self._messages[record_id]
            record_id = id18(f"04k5g{next(self._numbers):010d}")
            self._messages[record_id] = _OutboundMessage(record_id, metadata["name"], full_name, user_id, metadata)

    # ----------------------------------------------------------------------------- answers

    def versions(self) -> list[dict[str, str]]:
        with self._lock:
            versions = self._versions
        return [
            {"label": _season_label(int(float(version))), "url": f"/services/data/v{version}", "version": version}
            for version in versions
        ]

    def _base_shape(self, name: str, length: int | None) -> FieldShape:
        kind = ACCOUNT_FIELD_TYPES.get(name, "string" if length else "anyType")
        return FieldShape(kind, {"id": 18, "picklist": 255}.get(kind, length or 0), name not in self._read_only)

    def describe_account(
        self, lengths: Mapping[str, int | None], picklists: Mapping[str, tuple[str, ...]], labels: Mapping[str, str]
    ) -> dict[str, Any]:
        """The describe of Account with the org's fields (`lengths`: name -> text length, dropped ones left out)."""
        read_only = self._read_only
        fields = []
        with self._lock:
            shapes = dict(self._field_shapes)
            type_values = self.type_values
        for name, length in lengths.items():
            shape = shapes.get(name) or self._base_shape(name, length)
            values = type_values if name == "Type" else picklists.get(name, ())
            fields.append(
                {
                    "name": name,
                    "label": labels.get(name, name),
                    "type": shape.type,
                    "length": shape.length,
                    "updateable": shape.updateable,
                    "createable": shape.updateable,
                    "nillable": name not in read_only,
                    "custom": name.endswith("__c"),
                    "restrictedPicklist": name in picklists,
                    "picklistValues": [
                        {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}
                        for value in values
                    ]
                    if shape.type == "picklist"
                    else [],
                }
            )
        return {
            "name": "Account",
            "label": "Account",
            "custom": False,
            "queryable": True,
            "updateable": True,
            "fields": fields,
        }

    def user_record(self, user_id: str, version: str) -> dict[str, Any] | None:
        """GET sobjects/User/{id} (15 or 18 characters)."""
        with self._lock:
            user = next((dict(record) for key, record in self._users.items() if key[:15] == user_id[:15]), None)
        if user is None:
            return None
        return {"attributes": {"type": "User", "url": f"/services/data/v{version}/sobjects/User/{user['Id']}"}, **user}

    def rows(
        self,
        sobject: str,
        fields: Sequence[str],
        conditions: Sequence[tuple[str, str, Any]],
        compare: Callable[[Any, str, Any], bool],
        version: str,
    ) -> list[dict[str, Any]]:
        """The records of User or PermissionSetAssignment meeting every (field, operator, value) of `conditions`
        (`compare`: the fake's SOQL comparison), with the selected fields. KeyError: a field the object lacks."""
        selected, where = selection(fields, conditions, _COLUMNS[sobject])
        with self._lock:
            if sobject == "User":
                records = [dict(user) for user in self._users.values()]
            else:
                records = [
                    {
                        "Id": id18(f"0Pa5g{number:010d}"),
                        "AssigneeId": assignee,
                        "PermissionSetId": set_id,
                        "PermissionSet.Name": self._permission_sets[set_id],
                    }
                    for number, (assignee, set_id) in enumerate(self._assignments, start=1)
                ]
        answer = []
        for record in records:
            if not all(compare(record.get(name), operator, value) for name, operator, value in where):
                continue
            row: dict[str, Any] = {
                "attributes": {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"}
            }
            for name in selected:
                parent, dot, child = name.partition(".")
                if dot:
                    parent_url = f"/services/data/v{version}/sobjects/{parent}/{record[parent + 'Id']}"
                    row.setdefault(parent, {"attributes": {"type": parent, "url": parent_url}})[child] = record[name]
                else:
                    row[name] = record[name]
            answer.append(row)
        return answer

    def outbound_messages(
        self,
        fields: Sequence[str],
        conditions: Sequence[tuple[str, str, Any]],
        compare: Callable[[Any, str, Any], bool],
        version: str,
    ) -> list[dict[str, Any]]:
        """Tooling rows of WorkflowOutboundMessage; FullName or Metadata with more than one row: ValueError;
        KeyError: a field the object lacks."""
        selected, where = selection(fields, conditions, _COLUMNS["WorkflowOutboundMessage"])
        with self._lock:
            records = [
                {
                    "Id": message.record_id,
                    "Name": message.name,
                    "FullName": message.full_name,
                    "IntegrationUserId": message.integration_user_id,
                    "EntityDefinitionId": ACCOUNT_ENTITY_ID,
                    "ApiVersion": message.metadata.get("apiVersion"),
                    "Metadata": dict(message.metadata),
                }
                for message in self._messages.values()
            ]
        chosen = [
            record
            for record in records
            if all(compare(record.get(name), operator, value) for name, operator, value in where)
        ]
        if len(chosen) > 1 and {"FullName", "Metadata"} & set(selected):
            raise ValueError(
                "When retrieving results with Metadata or FullName fields, the query qualifications must "
                f"specify no more than one row for retrieval. Result size: {len(chosen)}"
            )
        url = f"/services/data/v{version}/tooling/sobjects/WorkflowOutboundMessage/"
        return [
            {
                "attributes": {"type": "WorkflowOutboundMessage", "url": url + record["Id"]},
                **{name: record[name] for name in selected},
            }
            for record in chosen
        ]


# The fields each setup object answers here (its real field list is longer).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "User": ("Id", "Username", "IsActive"),
    "PermissionSetAssignment": ("Id", "AssigneeId", "PermissionSetId", "PermissionSet.Name"),
    "WorkflowOutboundMessage": (
        "Id",
        "Name",
        "FullName",
        "IntegrationUserId",
        "EntityDefinitionId",
        "ApiVersion",
        "Metadata",
    ),
}
SETUP_OBJECTS = ("User", "PermissionSetAssignment")
TOOLING_OBJECTS = ("WorkflowOutboundMessage",)
