"""The production SAP adapter over the simulator, and the German customer the SAP tests start from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sap_simulator as simulator
from sap_simulator import CustomerRecord
from shared.sap.rfc import RfcSapGateway

# A German customer's address as BAPIKNA101_1 (PI_COMPANYDATA) and KNA1/ADRC hold it: what the create's tests
# send and what the change path's tests (rfc, wire, relay) find in SAP before they change it.
GERMAN_ADDRESS = {
    "NAME": "Müller Maschinenbau GmbH",
    "CITY": "München",
    "POSTL_COD1": "80331",
    "STREET": "Hauptstr. 5",
    "COUNTRY": "DE",
    "COUNTRYISO": "DE",
    "REGION": "09",
    "LANGU": "D",
    "LANGU_ISO": "DE",
    "CURRENCY": "EUR",
    "CURRENCY_ISO": "EUR",
}
GERMAN_PHONE = "+49891234567"


def simulated_gateway(**options: object) -> RfcSapGateway:
    """The production rfc adapter over the simulator (the process default system unless `system=`
    is given through a logon parameter), knowing how the simulator's FIND says "nothing found"."""
    return RfcSapGateway({}, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES, **options)  # type: ignore[arg-type]


def customer_in_sales_area(number: str, address: dict[str, str], **record: Any) -> CustomerRecord:
    """A committed customer (account group 0001) in sales area 1000/10/00, with a copy of `address`."""
    return CustomerRecord(number, "0001", dict(address), sales_areas={("1000", "10", "00"): {}}, **record)


@contextmanager
def fresh_system_with(*customers: CustomerRecord) -> Iterator[simulator.SimulatedSap]:
    """A fresh simulated SAP holding `customers`, the process default system while the block runs."""
    with simulator.use_system(simulator.SimulatedSap()) as fresh:
        for customer in customers:
            fresh.add_customer(customer)
        yield fresh
