"""What the S/4 double's service and its create rules share: the parent of each child entity set, the
number ranges, the customising, ETags and the partner's composed names."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from s4_simulator.store import Row
from shared.core.business_partner_facts import (
    ADDRESS_EMAIL_ADDRESS,
    ADDRESS_PHONE_NUMBER,
    BUSINESS_PARTNER,
    BUSINESS_PARTNER_ADDRESS,
    BUSINESS_PARTNER_ROLE,
    CUSTOMER,
    CUSTOMER_COMPANY,
    CUSTOMER_SALES_AREA,
    ENTITY_SETS,
    EntitySetFact,
)

# Each child set: its parent set and which of its properties carry the parent's key (the published
# metadata has no referential constraints; this is the double's reading of the key names).
PARENTS: dict[str, tuple[EntitySetFact, tuple[str, ...]]] = {
    BUSINESS_PARTNER_ADDRESS.name: (BUSINESS_PARTNER, ("BusinessPartner",)),
    BUSINESS_PARTNER_ROLE.name: (BUSINESS_PARTNER, ("BusinessPartner",)),
    ADDRESS_PHONE_NUMBER.name: (BUSINESS_PARTNER_ADDRESS, ("AddressID",)),
    ADDRESS_EMAIL_ADDRESS.name: (BUSINESS_PARTNER_ADDRESS, ("AddressID",)),
    CUSTOMER_SALES_AREA.name: (CUSTOMER, ("Customer",)),
    CUSTOMER_COMPANY.name: (CUSTOMER, ("Customer",)),
}


@dataclass(frozen=True)
class Numbering:
    """The number ranges: Business Partners (internal numbering), customers, address numbers."""

    first_partner: int = 1_000_000
    first_customer: int = 17_100_000
    same_numbers: bool = False  # CVI gives the customer the partner's number
    first_address: int = 22_000


@dataclass(frozen=True)
class Customizing:
    """Sales areas (with their company code) and company codes the double knows (IDES-like, as the RFC
    simulator's customising)."""

    sales_areas: dict[tuple[str, str, str], str] = field(
        default_factory=lambda: {("1000", "10", "00"): "1000", ("3000", "10", "00"): "3000"}
    )

    @property
    def company_codes(self) -> set[str]:
        return set(self.sales_areas.values())


def new_etag() -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return f'W/"SADL-{stamp}~{secrets.token_hex(6)}"'


def row_set(row: Row) -> EntitySetFact:
    return ENTITY_SETS[row.entity_set]


def partner_names(record: dict[str, Any]) -> dict[str, str]:
    """BusinessPartnerFullName / BusinessPartnerName (81, read-only): the organization's names joined
    (how SAP composes them is not published; the double's reading)."""
    names = " ".join(str(record.get(f"OrganizationBPName{n}") or "").strip() for n in (1, 2)).strip()
    return {"BusinessPartnerFullName": names[:81], "BusinessPartnerName": names[:81]}
