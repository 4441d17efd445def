"""The port through which the service talks to SAP, whatever the transport."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from shared.models import CustomerCreation


@dataclass(frozen=True)
class SapMessage:
    """One BAPIRETURN1/BAPIRET2 message: type (S, I, W, E, A), id (message class), number, text."""

    type: str
    id: str
    number: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "number": self.number, "text": self.text}


@dataclass(frozen=True)
class SapCustomerCreated:
    customer_number: str
    messages: tuple[SapMessage, ...] = field(default=())
    # True when the duplicate guard found a customer that an earlier, lost answer had created.
    already_existed: bool = False


class SapGateway(ABC):
    """Create customers in SAP. Errors: see shared.sap.errors (transient, permanent, configuration,
    business rejection)."""

    @abstractmethod
    def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
        """Look the account up with the duplicate guard; create and commit on one session if absent."""

    @abstractmethod
    def find_customer_by_account_id(self, account_id: str, account_id_field: str = "SORT2") -> str | None:
        """The SAP customer number that carries this Salesforce account Id, if any (committed data)."""

    @abstractmethod
    def read_customer(self, customer_number: str) -> dict[str, Any]:
        """BAPI_CUSTOMER_GETDETAIL2's answer by parameter name (for status pages and tests)."""

    @abstractmethod
    def ping(self) -> None:
        """RFC_PING; raises the same errors as the other calls."""
