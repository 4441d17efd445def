"""The Salesforce Account fields the sync reads, and which request property each one becomes.

One place for this fact: the Power Automate flow passes these fields to CreateSAPCustomer under these
property names (flow/solution/Workflows/*.json, held to this table by tests/unit/test_flow_definition.py),
and the outbound message of the push path (salesforce/force-app/main/default/workflows/
Account.workflow-meta.xml) sends exactly these fields plus the few the push path checks before it
accepts an account (`PUSH_CHECK_FIELDS`). Both ways in therefore build the same request, validated by
shared/core/validation.py.

Country and state are sent as names (BillingCountry, BillingState): the *Code fields exist only in orgs
with State and Country/Territory Picklists enabled, and naming a field an org lacks makes the deploy
of the outbound message fail. The validation accepts names and codes alike.
"""

from __future__ import annotations

from collections.abc import Mapping

# Salesforce Account field (API name) -> CreateSAPCustomer request property.
REQUEST_PROPERTY_OF_FIELD: dict[str, str] = {
    "Id": "accountId",
    "Name": "name",
    "BillingStreet": "street",
    "BillingCity": "city",
    "BillingPostalCode": "postalCode",
    "BillingState": "state",
    "BillingCountry": "country",
    "Phone": "phone",
    "SAP_Company_Code__c": "companyCode",
    "SAP_Sales_Organization__c": "salesOrganization",
    "SAP_Distribution_Channel__c": "distributionChannel",
    "SAP_Division__c": "division",
    "SAP_Reference_Customer__c": "referenceCustomer",
}

# The account's type once it is a customer: the standard Account.Type picklist value of a new org, and
# the default of SALESFORCE_CUSTOMER_TYPES (shared/settings/), which lists every value that means
# "customer" in an org (orgs made with the older default picklist have "Customer - Direct" and
# "Customer - Channel" instead; many orgs rename values). The Salesforce push flow reads the same list from
# its custom metadata record (salesforce/.../customMetadata/SAP_Customer_Sync_Setting.Default.md-meta.xml),
# the Power Automate flow from its environment variable sapsync_CustomerTypes.
CUSTOMER_TYPE = "Customer"
DEFAULT_CUSTOMER_TYPES: tuple[str, ...] = (CUSTOMER_TYPE,)
# What the push path checks on each notification before it accepts the account (see
# shared/core/outbound_message.py, `AccountChange.not_a_candidate`): that it still meets the flow's
# entry criteria when the message is sent, and when it was last changed (the out-of-order rule).
TYPE_FIELD = "Type"
CUSTOMER_NUMBER_FIELD = "SAP_Customer_Number__c"
SYNC_STATUS_FIELD = "SAP_Sync_Status__c"
LAST_MODIFIED_FIELD = "LastModifiedDate"
# The order of changes (issue 26): SystemModstamp is set on every save, by people and by the system alike,
# and an outbound message carries the record as it is when sent ("Understanding Notifications", SOAP API
# guide), so a notification's SystemModstamp says how new its data is; the ledger keeps the newest applied.
SYSTEM_MODSTAMP_FIELD = "SystemModstamp"
PUSH_CHECK_FIELDS = (TYPE_FIELD, CUSTOMER_NUMBER_FIELD, SYNC_STATUS_FIELD, LAST_MODIFIED_FIELD, SYSTEM_MODSTAMP_FIELD)
# The sync status the write-back sets after a rejection (shared/salesforce/simple_salesforce.py
# STATUS_FAILED; a test holds them equal): a person clears it to have the push path send the account again.
STATUS_FAILED = "Failed"

# Every field the outbound message must carry, in the order the metadata lists them.
OUTBOUND_MESSAGE_FIELDS = (*REQUEST_PROPERTY_OF_FIELD, *PUSH_CHECK_FIELDS)


def is_customer_type(account_type: str | None, customer_types: tuple[str, ...]) -> bool:
    """Whether an Account Type value is one of those that mean "customer". Exact, as Salesforce compares
    a picklist's API value in a flow's condition and in SOQL's IN on a restricted value set (unverified
    here: SOQL compares picklist values without regard to case; the values come from one picklist, so the
    spelling is the picklist's own either way)."""
    return account_type is not None and account_type in customer_types


def request_payload(fields: Mapping[str, str | None]) -> dict[str, str | None]:
    """The CreateSAPCustomer body for an account's Salesforce fields (absent fields stay absent)."""
    return {prop: fields[name] for name, prop in REQUEST_PROPERTY_OF_FIELD.items() if name in fields}
