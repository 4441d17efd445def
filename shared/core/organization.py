"""The SAP organization a customer is created in: sales areas, their company codes and reference customers.

What the integration team knows about its SAP customising (SAP_SALES_AREAS, SAP_DEFAULT_SALES_AREA):
plain data, read by the settings and used by the pure mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SalesArea:
    sales_organization: str
    distribution_channel: str
    division: str

    @classmethod
    def parse(cls, text: str, setting: str) -> SalesArea:
        """SALESORG/CHANNEL/DIVISION; ValueError (naming `setting`) when it is not one."""
        parts = [part.strip() for part in text.split("/")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(
                f"{setting}: '{text}' is not a sales area; expected SALESORG/CHANNEL/DIVISION, e.g. 1000/10/00"
            )
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.sales_organization}/{self.distribution_channel}/{self.division}"


@dataclass(frozen=True)
class SalesAreaSetup:
    """What the integration team knows about one sales area of their SAP customising."""

    # The company code the sales organization belongs to (TVKO-BUKRS). The BAPI does not take a
    # company code: SAP derives it from the sales organization, so we check a request against it.
    company_code: str | None = None
    # BAPI_CUSTOMER_CREATEFROMDATA1 copies every field we do not pass (account group, reconciliation
    # account, payment terms, ...) from this customer; it must exist in the sales area.
    reference_customer: str | None = None
    # The language (ISO 639-1) for customers of this sales area when neither the request nor the country
    # table gives one; before SAP_DEFAULT_LANGUAGE (shared/core/mapping.py).
    language: str | None = None


@dataclass(frozen=True)
class SapOrganization:
    """Organizational defaults that the mapping applies when a request leaves them out."""

    default_sales_area: SalesArea | None = None
    sales_areas: Mapping[SalesArea, SalesAreaSetup] = field(default_factory=dict)
    # SAP_DEFAULT_LANGUAGE as ISO 639-1: the language when nothing else gives one (None: such a request
    # is refused, since the create BAPIs need a language key).
    default_language: str | None = None

    def sales_areas_of_company_code(self, company_code: str) -> list[SalesArea]:
        return [area for area, setup in self.sales_areas.items() if setup.company_code == company_code]
