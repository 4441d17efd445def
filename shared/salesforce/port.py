"""Write-back of the SAP outcome to the Salesforce account (port; the adapter lives beside it)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

# The custom fields on Account (see salesforce/ for their metadata).
CUSTOMER_NUMBER_FIELD = "SAP_Customer_Number__c"
SYNC_STATUS_FIELD = "SAP_Sync_Status__c"
SYNC_ERROR_FIELD = "SAP_Sync_Error__c"
SYNCED_AT_FIELD = "SAP_Synced_At__c"


class SalesforceError(Exception):
    """Base class; the message is safe to log (no tokens)."""


class SalesforceUnavailable(SalesforceError):
    """Salesforce did not answer or answered 5xx: retry the write-back later."""


class SalesforceRejected(SalesforceError):
    """Salesforce refused the update (404 account gone, 400 field error): a person must look."""


class SalesforceAuthenticationFailed(SalesforceError):
    """Login failed with the configured credentials: a configuration problem, not retried in a loop."""


class AccountWriteBack(ABC):
    @abstractmethod
    def record_created(self, account_id: str, customer_number: str, synced_at: datetime) -> None: ...

    @abstractmethod
    def record_failed(self, account_id: str, error: str, synced_at: datetime) -> None: ...

    @abstractmethod
    def check_login(self) -> None:
        """Log in afresh with the configured credentials and make one cheap call on the new session (the
        health check). Raises SalesforceAuthenticationFailed or SalesforceUnavailable."""
