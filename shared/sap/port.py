"""The port through which the use cases talk to SAP, whatever the transport (rfc in process, relay to the
on-premise agent, or the simulator: docs/sap.md)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.core.models import CustomerCreation
from shared.sap.errors import SapConfigurationError
from shared.sap.messages import SapMessage as SapMessage  # where the ports' users have always found it


@dataclass(frozen=True)
class SapCustomerCreated:
    customer_number: str
    messages: tuple[SapMessage, ...] = field(default=())
    # True when the duplicate guard found the customer an earlier attempt (whose answer was lost)
    # created, instead of creating another one.
    adopted: bool = False


@dataclass(frozen=True)
class SapInterface:
    """What the live system's metadata says about the fields the mapping fills.

    `company_data_lengths`: PI_COMPANYDATA (BAPIKNA106) CHAR field -> length in UTF-16 code units.
    """

    company_data_lengths: Mapping[str, int]


class SapGateway(ABC):
    """Create customers in SAP. Errors: see shared.sap.errors."""

    @abstractmethod
    def check_interface(self) -> SapInterface:
        """Hold every function, parameter and field we send or read against the live system's metadata
        (once; later calls answer from memory). Raises SapInterfaceMismatch naming what is missing."""

    @abstractmethod
    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        """Create and commit on one session. When `creation.search_since` is set (an earlier attempt's
        outcome is unknown), first look for the customer that attempt may have created: adopt one
        match, create when there is none, raise SapNeedsReview when it cannot tell. The search leaves out
        `creation.excluded_customers` (other accounts' customers, or ones an operator rejected)."""

    @abstractmethod
    def ping(self) -> None:
        """RFC_PING; raises the same errors as the other calls."""

    # The change path (issue 26). Not abstract: a gateway that cannot change customers (or a test double
    # written for the create) refuses a change as a configuration problem, never pretends to apply it.
    def read_customer(self, customer_number: str) -> SapCustomerSnapshot:
        """What SAP holds now for the customer (BAPI_CUSTOMER_GETDETAIL1 in the first sales area GETSALESAREAS
        names, or the Business Partner), for the change path's conflict check. Errors: see shared.sap.errors
        (an unknown customer is a rejection)."""
        raise SapConfigurationError(f"{type(self).__name__} cannot read customers (no change path)")

    def change_customer(self, change: CustomerChange) -> SapCustomerChanged:
        """Change only the fields `change.company_data` names (CHANGEFROMDATA1 with one X flag each, then
        BAPI_TRANSACTION_COMMIT on the same session; or the Business Partner PATCHes with If-Match).
        Applying the same change twice leaves SAP as once: a change whose outcome is unknown is sent again."""
        raise SapConfigurationError(f"{type(self).__name__} cannot change customers (no change path)")
