"""The operations command's own wiring: the ledger, the retry queue and (for a write-back) Salesforce,
from the app's settings, with short storage timeouts. It never connects to SAP: a create it decides on
runs in the function app's queue trigger."""

from __future__ import annotations

from shared.bootstrap import stale_claim_window
from shared.core.models import CustomerCreation
from shared.sap import SapConfigurationError, SapCustomerCreated, SapGateway, SapInterface
from shared.settings import Settings, WriteBackMode
from shared.usecases import Services


class NoSap(SapGateway):
    """The command never talks to SAP: a create it decides on runs in the function app's queue trigger."""

    def check_interface(self) -> SapInterface:
        raise SapConfigurationError("the operations command does not connect to SAP")

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        raise SapConfigurationError("the operations command does not connect to SAP")

    def ping(self) -> None:
        raise SapConfigurationError("the operations command does not connect to SAP")


def operations_services(settings: Settings) -> Services:
    from shared.storage.clients import COMMAND_CLIENT_OPTIONS
    from shared.storage.queue import storage_retry_queue_from_settings
    from shared.storage.table_ledger import table_ledger_from_settings

    writeback = None
    if settings.writeback is WriteBackMode.FUNCTION:
        from shared.salesforce.simple_salesforce import writeback_from_settings

        writeback = writeback_from_settings(settings)
    return Services(sap=NoSap(), ledger=table_ledger_from_settings(settings, **COMMAND_CLIENT_OPTIONS),
                    retry_queue=storage_retry_queue_from_settings(settings, **COMMAND_CLIENT_OPTIONS),
                    organisation=settings.sap_organisation, retry=settings.retry, writeback=writeback,
                    # The app's own windows, so the command calls abandoned exactly what the app would.
                    stale_claim_after=stale_claim_window(settings.sap_timeout_seconds))
