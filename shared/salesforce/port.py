"""Salesforce's side (ports; the adapter lives beside them): the write-back of the SAP outcome to the
account, and the query for customers that have no SAP number yet (the reconcile)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.core import account_fields
from shared.core.models import MappingWarning
from shared.core.preflight_salesforce_change import ChangeTrigger
from shared.core.salesforce_org_facts import DescribedField, OrgLogin, OrgUser, OutboundMessageDefinition

# The custom fields on Account (see salesforce/ for their metadata).
CUSTOMER_NUMBER_FIELD = "SAP_Customer_Number__c"
SYNC_STATUS_FIELD = "SAP_Sync_Status__c"
SYNC_ERROR_FIELD = "SAP_Sync_Error__c"
SYNCED_AT_FIELD = "SAP_Synced_At__c"
# What the mapping changed to fit SAP (field and rule, never the value): a field of its own, so `Synced` stays
# the one success status and SAP_Sync_Error__c keeps meaning "why it failed".
SYNC_WARNINGS_FIELD = "SAP_Sync_Warnings__c"

# Which accounts become SAP customers: the flow's condition (flow/solution/Workflows/..., "Is a new customer
# without SAP number"): Type one of SALESFORCE_CUSTOMER_TYPES and SAP_Customer_Number__c empty.
ACCOUNT_TYPE_FIELD = account_fields.TYPE_FIELD
CUSTOMER_TYPE = account_fields.CUSTOMER_TYPE  # the default of SALESFORCE_CUSTOMER_TYPES

# The Account field behind each CreateSAPCustomer request property: the flow's "Create SAP customer"
# parameters, field for field (tests/unit/test_reconcile.py holds the two together).
REQUEST_PROPERTY_FIELDS: Mapping[str, str] = {
    "accountId": "Id",
    "name": "Name",
    "street": "BillingStreet",
    "city": "BillingCity",
    "postalCode": "BillingPostalCode",
    "state": "BillingState",
    "country": "BillingCountry",
    "phone": "Phone",
    "companyCode": "SAP_Company_Code__c",
    "salesOrganization": "SAP_Sales_Organization__c",
    "distributionChannel": "SAP_Distribution_Channel__c",
    "division": "SAP_Division__c",
    "referenceCustomer": "SAP_Reference_Customer__c",
}


class SalesforceError(Exception):
    """Base class; the message is safe to log (no tokens). Each class's `kind` (the caller's move) and `label`:
    shared/sap/errors.py's table."""

    kind = "rejected"  # what the write-back does with any refusal it has no class for: a person looks
    label = "Salesforce error"


class SalesforceUnavailable(SalesforceError):
    """Salesforce did not answer or answered 5xx: retry the write-back later."""

    kind = "transient"
    label = "Salesforce unavailable"


class SalesforceRejected(SalesforceError):
    """Salesforce refused the update (404 account gone, 400 field error): a person must look."""

    kind = "rejected"
    label = "Salesforce rejected"


class SalesforceAuthenticationFailed(SalesforceError):
    """Login failed with the configured credentials: a configuration problem, not retried in a loop."""

    kind = "misconfigured"
    label = "Salesforce login failed"


class AccountWriteBack(ABC):
    @abstractmethod
    def record_created(
        self, account_id: str, customer_number: str, synced_at: datetime, warnings: Sequence[MappingWarning] = ()
    ) -> None:
        """The number, Synced, and what the mapping changed to fit SAP (SYNC_WARNINGS_FIELD, only when
        something was changed)."""

    @abstractmethod
    def record_failed(self, account_id: str, error: str, synced_at: datetime) -> None: ...

    @abstractmethod
    def check_login(self) -> None:
        """Log in afresh with the configured credentials and make one cheap call on the new session (the
        health check). Raises SalesforceAuthenticationFailed or SalesforceUnavailable."""


@dataclass(frozen=True)
class AccountPage:
    """One page of a query's result: the accounts as CreateSAPCustomer request bodies (camelCase, as the
    flow would send them), and the size of the whole result (Salesforce's totalSize)."""

    requests: tuple[Mapping[str, Any], ...]
    total_size: int


class CustomerAccounts(ABC):
    @abstractmethod
    def customers_without_sap_number(self) -> Iterator[AccountPage]:
        """Every account the flow would send (Type one of the customer types, no SAP customer number), a page at
        a time, following the query's pages to the end. Raises SalesforceAuthenticationFailed or
        SalesforceUnavailable (also part-way: the pages already yielded stay valid)."""


class SalesforceOrgInspector(ABC):
    """What the go-live check asks the org (`python -m admin preflight`, issue 24); read-only. Each call
    raises SalesforceAuthenticationFailed, SalesforceUnavailable or SalesforceRejected (the messages are safe
    to show: error codes and field names, never a token)."""

    @abstractmethod
    def log_in(self) -> OrgLogin:
        """A fresh login with the configured OAuth flow at the configured login URL."""

    @abstractmethod
    def supported_api_versions(self) -> tuple[str, ...]:
        """The REST API versions the org serves ("61.0", ...): GET /services/data/."""

    @abstractmethod
    def describe_account(self) -> dict[str, DescribedField]:
        """The Account fields the logged-in user can see, by API name (sObject Describe)."""

    @abstractmethod
    def find_user(self, *, username: str | None = None, user_id: str | None = None) -> OrgUser | None:
        """One user by username or by Id (SOQL on User); None when there is none."""

    @abstractmethod
    def assigned_permission_sets(self, user_id: str) -> tuple[str, ...]:
        """The API names of the permission sets assigned to a user (SOQL on PermissionSetAssignment,
        PermissionSet.Name; profiles' own permission sets included)."""

    @abstractmethod
    def outbound_message(self, full_name: str) -> OutboundMessageDefinition | None:
        """The outbound message with this Metadata API full name ("Account.SAP_Customer_Sync_Push"), from the
        Tooling API's WorkflowOutboundMessage; None when the org has none of that name."""

    def change_trigger(self, flow_api_name: str) -> ChangeTrigger:
        """The change flow (Tooling API FlowDefinition and its active Flow version) and the custom metadata
        record's integration user Id (issue 26; shared/core/preflight_salesforce_change.py). Not abstract: an
        inspector that cannot read flows refuses, and the check fails closed with the manual step."""
        raise SalesforceRejected("this org inspector does not read flows")
