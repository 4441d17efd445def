"""Write-back of the SAP outcome to the Salesforce Account, with simple-salesforce; and the factories the
composition root calls with the app's settings.

The login and the session it keeps: shared/salesforce/connection.py (`SalesforceConnection`); the accounts to
reconcile: shared/salesforce/account_query.py. Their names stay importable from here (the org inspector and
the tests import them from this module).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import requests

from shared.core.models import MappingWarning
from shared.core.salesforce_org import SalesforceSettings
from shared.salesforce.account_query import (
    CUSTOMERS_WITHOUT_SAP_NUMBER_SOQL,
    SimpleSalesforceAccounts,
    customers_without_sap_number_soql,
    soql_string,
)
from shared.salesforce.connection import (
    DEFAULT_TIMEOUT_SECONDS,
    SalesforceConnection,
    jwt_audience,
)
from shared.salesforce.port import (
    CUSTOMER_NUMBER_FIELD,
    SYNC_ERROR_FIELD,
    SYNC_STATUS_FIELD,
    SYNC_WARNINGS_FIELD,
    SYNCED_AT_FIELD,
    AccountWriteBack,
    SalesforceRejected,
)

__all__ = [
    "CUSTOMERS_WITHOUT_SAP_NUMBER_SOQL",
    "DEFAULT_TIMEOUT_SECONDS",
    "STATUS_FAILED",
    "STATUS_SYNCED",
    "SYNC_ERROR_MAX_LENGTH",
    "SYNC_WARNINGS_MAX_LENGTH",
    "HasSalesforceSettings",
    "SalesforceConnection",
    "SimpleSalesforceAccounts",
    "SimpleSalesforceWriteBack",
    "accounts_from_settings",
    "customers_without_sap_number_soql",
    "jwt_audience",
    "soql_string",
    "sync_warnings_text",
    "truncate_sync_error",
    "writeback_from_settings",
]

logger = logging.getLogger(__name__)

SYNC_ERROR_MAX_LENGTH = 255  # length of the SAP_Sync_Error__c text field
SYNC_WARNINGS_MAX_LENGTH = 255  # length of the SAP_Sync_Warnings__c text field
STATUS_SYNCED = "Synced"
STATUS_FAILED = "Failed"
_SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


# The cheapest call that proves a session works for what the app does with it (it reads and writes
# Accounts): one Id, no record data.
_SESSION_CHECK_QUERY = "SELECT Id FROM Account LIMIT 1"


class SimpleSalesforceWriteBack(AccountWriteBack):
    """Updates the SAP sync fields of an Account. Thread-safe; logs in lazily and keeps the session."""

    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        connection: SalesforceConnection | None = None,
    ) -> None:
        self._connection = connection or SalesforceConnection(settings, session, timeout_seconds)

    def record_created(
        self, account_id: str, customer_number: str, synced_at: datetime, warnings: Sequence[MappingWarning] = ()
    ) -> None:
        fields: dict[str, Any] = {
            CUSTOMER_NUMBER_FIELD: customer_number,
            SYNC_STATUS_FIELD: STATUS_SYNCED,
            SYNC_ERROR_FIELD: None,
            SYNCED_AT_FIELD: _salesforce_datetime(synced_at),
        }
        if warnings:
            # Only when something was changed: an account is created once, so there is no older warning to
            # clear, and an org that has not deployed the field yet fails only these write-backs (visibly:
            # writeBack failed, INVALID_FIELD naming it), not every one.
            fields[SYNC_WARNINGS_FIELD] = sync_warnings_text(warnings)
        self._update_account(account_id, fields)

    def record_failed(self, account_id: str, error: str, synced_at: datetime) -> None:
        self._update_account(
            account_id,
            {
                SYNC_STATUS_FIELD: STATUS_FAILED,
                SYNC_ERROR_FIELD: truncate_sync_error(error),
                SYNCED_AT_FIELD: _salesforce_datetime(synced_at),
            },
        )

    def check_login(self) -> None:
        connection = self._connection
        client = connection.fresh_login()
        connection.call(
            lambda _: client.query(_SESSION_CHECK_QUERY, timeout=connection.timeout_seconds), "the session check"
        )

    # ----------------------------------------------------------------------------- calls

    def _update_account(self, account_id: str, fields: dict[str, Any]) -> None:
        if not _SALESFORCE_ID.match(account_id):
            # It goes into the URL path; anything else could address another resource.
            raise SalesforceRejected(f"'{account_id}' is not a Salesforce Id")
        timeout = self._connection.timeout_seconds
        # restful() rather than client.Account.update(): only it passes a timeout on to requests.
        self._connection.call(
            lambda client: client.restful(
                f"sobjects/Account/{account_id}", method="PATCH", json=fields, timeout=timeout
            ),
            f"account {account_id}",
        )
        logger.info("Salesforce account updated", extra={"account_id": account_id})


class HasSalesforceSettings(Protocol):
    """What the factories below are handed, not read: the app's settings (shared.settings.Settings)."""

    @property
    def salesforce(self) -> SalesforceSettings: ...


def accounts_from_settings(
    settings: HasSalesforceSettings, session: requests.Session | None = None
) -> SimpleSalesforceAccounts:
    return SimpleSalesforceAccounts(settings.salesforce, session=session)


def writeback_from_settings(
    settings: HasSalesforceSettings, session: requests.Session | None = None
) -> SimpleSalesforceWriteBack:
    return SimpleSalesforceWriteBack(settings.salesforce, session=session)


def truncate_sync_error(error: str) -> str:
    """Fit an error text into SAP_Sync_Error__c; a trailing ellipsis shows that it was cut."""
    if len(error) <= SYNC_ERROR_MAX_LENGTH:
        return error
    return error[: SYNC_ERROR_MAX_LENGTH - 1] + "…"


def sync_warnings_text(warnings: Sequence[MappingWarning]) -> str:
    """The warnings as SAP_Sync_Warnings__c holds them: their rules (each names its field) joined by "; ", cut
    to the field's length with a trailing ellipsis. The rules hold no values (shared.core.mapping)."""
    text = "; ".join(warning.message for warning in warnings)
    if len(text) <= SYNC_WARNINGS_MAX_LENGTH:
        return text
    return text[: SYNC_WARNINGS_MAX_LENGTH - 1] + "…"


def _salesforce_datetime(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds")
