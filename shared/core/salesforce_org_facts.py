"""What the go-live check learns from the Salesforce org (issue 24), as plain data: the port
(shared/salesforce/port.py, `SalesforceOrgInspector`) answers these, the decisions
(shared/core/preflight_salesforce.py) read them. No I/O here.

Each shape is the slice of a Salesforce answer the checks need, named as Salesforce names it:
* `DescribedField`: one entry of `fields` in the sObject Describe answer (REST API Developer Guide,
  "sObject Describe"; its shape is the SOAP API's DescribeSObjectResult / Field: `name`, `type`,
  `length` ("for string fields, the maximum size of the field in Unicode characters"), `updateable`
  (for the user asking: field-level security included), `picklistValues` (PicklistEntry: `value`,
  `label`, `active`, `defaultValue`, `validFor`)). A field the user may not read is left out of the
  answer altogether, as if it did not exist.
* `OrgUser`: a row of the User object (Object Reference, "User": `Id`, `Username`, `IsActive`).
* `OutboundMessageDefinition`: a row of the Tooling API object WorkflowOutboundMessage (Tooling API
  Developer Guide, "WorkflowOutboundMessage", API 32.0+: `FullName` "the full name of the associated
  metadata object in Metadata API", `IntegrationUserId` "the ID of the user under which this message is
  sent", `Metadata` of type WorkflowOutboundMessage, the Metadata API type whose fields are `endpointUrl`,
  `fields`, `integrationUser`, `includeSessionId`, `apiVersion`, `name`, `protected`, `useDeadLetterQueue`
  (Metadata API Developer Guide, "Workflow"; jsforce's api_metadata_schema WorkflowOutboundMessage lists
  the same)). `FullName` and `Metadata` may be queried only when the query returns at most one record
  (same page), so the adapter asks for them one message at a time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DescribedField:
    name: str
    type: str  # Salesforce's field type: "string", "textarea", "picklist", "datetime", "id", "phone", ...
    length: int  # for text types the maximum in characters; 0 for the others (as Salesforce answers)
    updateable: bool
    # The picklist's values (API names) with whether each is active; empty for any other type.
    picklist_values: tuple[tuple[str, bool], ...] = ()

    @property
    def active_values(self) -> tuple[str, ...]:
        return tuple(value for value, active in self.picklist_values if active)


@dataclass(frozen=True)
class OrgUser:
    user_id: str
    username: str
    is_active: bool


@dataclass(frozen=True)
class OrgLogin:
    """What a login tells: the instance the session belongs to and the user it acts as (the last part of
    the identity URL `id` in the token answer: .../id/ORG_ID/USER_ID; REST API Developer Guide / Salesforce
    Help, "Identity URLs"); None when the answer had no identity URL."""

    instance_url: str
    user_id: str | None


@dataclass(frozen=True)
class OutboundMessageDefinition:
    full_name: str  # Object.DeveloperName, e.g. "Account.SAP_Customer_Sync_Push"
    endpoint_url: str
    fields: tuple[str, ...]
    integration_user_id: str | None  # "User to send as"
