"""What the simulated system and its function modules share: the records they hold and the view of the
system a function module works on.

Why a module of its own: the system (system.py) dispatches to the function modules (functions.py), and
the function modules read and change the system's state; with these types here, functions.py needs
nothing from system.py and the two import in one direction only (system -> functions -> records).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sap_simulator.customizing import Customizing
from sap_simulator.faults import FaultPlan
from sap_simulator.interfaces import Structures

SalesAreaKey = tuple[str, str, str]


@dataclass
class CustomerRecord:
    """One customer master record: address (BAPIKNA106 names), KNA1 general data, KNB1 per company
    code, KNVV per sales area."""

    number: str
    account_group: str
    address: dict[str, str]
    general: dict[str, str] = field(default_factory=dict)
    company_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    sales_areas: dict[SalesAreaKey, dict[str, str]] = field(default_factory=dict)

    def kna1(self) -> dict[str, str]:
        """The record as table KNA1 holds it (the fields BAPI_CUSTOMER_FIND can search). KNA1's name,
        city and street columns are 35 characters (NAME1_GP, ORT01_GP, STRAS_GP; U): longer address
        values live on in the central address only."""
        a = self.address
        return {
            "KUNNR": self.number,
            "KTOKD": self.account_group,
            "NAME1": a.get("NAME", "")[:35],
            "NAME2": a.get("NAME_2", "")[:35],
            "NAME3": a.get("NAME_3", "")[:35],
            "NAME4": a.get("NAME_4", "")[:35],
            "ORT01": a.get("CITY", "")[:35],
            "PSTLZ": a.get("POSTL_COD1", ""),
            "STRAS": a.get("STREET", "")[:35],
            "LAND1": a.get("COUNTRY", ""),
            "REGIO": a.get("REGION", ""),
            "SPRAS": a.get("LANGU", ""),
            "TELF1": a.get("TEL1_NUMBR", "")[:16],
            "ERDAT": self.general.get("CREAT_DATE", ""),
            "ERNAM": self.general.get("ENTERED_BY", ""),
        }


@dataclass
class Session:
    """One RFC session (the ABAP user context): what it created, and the address changes it made (customer
    number -> the BAPIKNA106 fields to write, "" clearing one), wait here until COMMIT."""

    session_id: int
    user: str
    pending: list[CustomerRecord] = field(default_factory=list)
    changes: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def ides_reference_customers() -> list[CustomerRecord]:
    """IDES's classic reference customers: 1000 (Becker Berlin) and 3000 (Thomas Bush Inc.)."""
    return [
        CustomerRecord(
            number="0000001000",
            account_group="0001",
            address={
                "NAME": "Becker Berlin",
                "CITY": "Berlin",
                "POSTL_COD1": "13467",
                "STREET": "Calvinstr. 36",
                "COUNTRY": "DE",
                "COUNTRYISO": "DE",
                "REGION": "11",
                "LANGU": "D",
                "LANGU_ISO": "DE",
                "CURRENCY": "EUR",
                "CURRENCY_ISO": "EUR",
            },
            general={"CREAT_DATE": "19941108", "ENTERED_BY": "IDES", "TRANSPZONE": "D000020000"},
            company_codes={"1000": {"RECONC_ACCT": "140000", "PMNTTRMS": "ZB01", "CREATED_ON": "19941108"}},
            sales_areas={
                ("1000", "10", "00"): {
                    "CURRENCY": "EUR",
                    "ZTERM": "ZB01",
                    "VSBED": "01",
                    "VWERK": "1000",
                    "KALKS": "1",
                    "INCO1": "CIF",
                }
            },
        ),
        CustomerRecord(
            number="0000003000",
            account_group="0001",
            address={
                "NAME": "Thomas Bush Inc.",
                "CITY": "Chicago",
                "POSTL_COD1": "60603",
                "STREET": "4000 Lake Shore Drive",
                "COUNTRY": "US",
                "COUNTRYISO": "US",
                "REGION": "IL",
                "LANGU": "E",
                "LANGU_ISO": "EN",
                "CURRENCY": "USD",
                "CURRENCY_ISO": "USD",
            },
            general={"CREAT_DATE": "19950213", "ENTERED_BY": "IDES", "TAXJURCODE": "IL0000000"},
            company_codes={"3000": {"RECONC_ACCT": "120000", "PMNTTRMS": "0001", "CREATED_ON": "19950213"}},
            sales_areas={
                ("3000", "10", "00"): {
                    "CURRENCY": "USD",
                    "ZTERM": "0001",
                    "VSBED": "01",
                    "VWERK": "3000",
                    "KALKS": "1",
                    "INCO1": "FOB",
                }
            },
        ),
    ]


class SystemState(Protocol):
    """What a function module sees of the system (SimulatedSap), called with the system's lock held:
    its customising, DDIC structures, committed customers, number ranges, counters, faults and the
    BAPI_CUSTOMER_FIND answer options (SimulatedSap's docstring)."""

    customizing: Customizing
    structures: Structures
    customers: MutableMapping[str, CustomerRecord]  # a dict, or store.py's CommittedCustomers
    counters: Counter[str]
    faults: FaultPlan
    find_rows: str
    find_no_match: str
    find_no_match_message: tuple[str, str]
    today: Callable[[], date]

    def draw_customer_number(self, account_group: str) -> str | None: ...
