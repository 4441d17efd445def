"""The SAP gateway of a process that never talks to SAP: the operations command (`python -m admin`), whose
creates run in the function app's queue trigger. The composition root (shared/bootstrap/) puts it
behind the port so a use case that would call SAP there fails with a clear configuration error."""

from __future__ import annotations

from shared.core.models import CustomerCreation
from shared.sap.errors import SapConfigurationError
from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface


class NoSap(SapGateway):
    """The command never talks to SAP: a create it decides on runs in the function app's queue trigger."""

    def check_interface(self) -> SapInterface:
        raise SapConfigurationError("the operations command does not connect to SAP")

    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        raise SapConfigurationError("the operations command does not connect to SAP")

    def ping(self) -> None:
        raise SapConfigurationError("the operations command does not connect to SAP")
