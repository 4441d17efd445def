"""The values of the change path (issue 26): what the app asks SAP to change, and what SAP holds now.

Both speak in PI_COMPANYDATA's terms (BAPIKNA106 field names: NAME, STREET, POSTL_COD1, CITY, REGION,
COUNTRY, LANGU, TELEPHONE, ...), as the create does: BAPI_CUSTOMER_CHANGEFROMDATA1 takes that structure
with one X flag per field (PI_COMPANYDATAX, BAPIKNA106X), and BAPI_CUSTOMER_GETDETAIL1 answers it
(PE_COMPANYDATA), so one set of names carries the change, the snapshot SAP is compared with, and the
values the ledger keeps as last applied. The Business Partner gateway (S/4HANA) translates them to its
PATCH bodies as it translates the create's parameters. Being plain data, both cross the relay as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.core.models import MappingWarning


@dataclass(frozen=True)
class CustomerChange:
    """One change for one SAP customer: only fields Salesforce owns whose value differs from what SAP was
    last given. `company_data`: BAPIKNA106 field -> new value ("" clears it); the X flags are derived from
    its keys, so nothing else is flagged. The sales area names the customer's sales data the change applies
    to (PI_SALESORG is a required parameter of CHANGEFROMDATA1; PI_DISTR_CHAN and PI_DIVISION go with it).
    `system_modstamp`: Salesforce's SystemModstamp of the account version these values come from (ISO 8601),
    which orders changes."""

    account_id: str
    customer_number: str
    company_data: dict[str, str]
    sales_organization: str
    distribution_channel: str
    division: str
    system_modstamp: str
    warnings: tuple[MappingWarning, ...] = field(default=())


@dataclass(frozen=True)
class SapCustomerSnapshot:
    """What SAP holds now for one customer (GETDETAIL1's PE_COMPANYDATA, or the Business Partner read back
    into the same names): BAPIKNA106 field -> value, for at least the fields the product owns."""

    customer_number: str
    company_data: Mapping[str, str]


@dataclass(frozen=True)
class SapCustomerChanged:
    """SAP took the change and committed it."""

    customer_number: str
    messages: tuple[object, ...] = field(default=())  # shared.sap.port.SapMessage (the core cannot name it)
