"""The go-live check's port to S/4HANA's Business Partner service (`SAP_TRANSPORT=odata`, issues 24 and 25):
read-only probes of API_BUSINESS_PARTNER, never a create, never a PATCH.

The RFC probes (shared/sap/inspector.py: RFC_SYSTEM_INFO, GETDETAIL2, GETSALESAREAS, BAPI_CUSTOMER_FIND) have no
counterpart on this service, so its probes are its own: the logon (the service document), the gateway's metadata
self-check, a reference customer's sales area and company code data (A_CustomerSalesArea and A_CustomerCompany
read by key, what the create copies), and whether the duplicate guard's question can be asked at all (a $filter on
BusinessPartnerIDByExtSystem). `BusinessPartnerProbes` is a SapInspector so the composition root hands it over in
the same place; the RFC-only probes (`customer`, `find`) refuse. The adapter: shared/sap/business_partner_inspector.py;
the use case: shared/usecases/preflight/sap_odata.py.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from shared.core.organization import SalesArea
from shared.sap.errors import SapConfigurationError
from shared.sap.inspector import CustomerProbe, FindAnswer, FindCriterion, SapInspector, SapSystemInfo

_RFC_ONLY = "an RFC probe: S/4HANA's Business Partner service has its own (shared/sap/business_partner_probes.py)"


@dataclass(frozen=True)
class ServiceDocument:
    """What the service document (GET on the service root) named: its entity sets."""

    entity_sets: tuple[str, ...]


@dataclass(frozen=True)
class ReferenceData:
    """A reference customer's data the create copies: whether A_CustomerSalesArea(customer, area) and
    A_CustomerCompany(customer, company code) exist; `company_code_found` None when no company code was asked."""

    customer: str
    sales_area_found: bool
    company_code_found: bool | None


class BusinessPartnerProbes(SapInspector):
    """Read-only probes of API_BUSINESS_PARTNER; SapError (shared/sap/errors.py) when SAP refuses or is not reached."""

    @abstractmethod
    def service_document(self) -> ServiceDocument:
        """GET the service root with the configured logon (the first request any create makes)."""

    @abstractmethod
    def reference_data(self, customer: str, area: SalesArea, company_code: str | None) -> ReferenceData:
        """The reference customer's sales area data in `area` and company code data in `company_code`, by key."""

    @abstractmethod
    def external_id_rows(self, external_id: str) -> int:
        """How many partners `$filter=BusinessPartnerIDByExtSystem eq '<external_id>'` answers (the guard's query);
        SapError when the service refuses the filter."""

    def system_info(self) -> SapSystemInfo:
        self.service_document()
        return SapSystemInfo(note="API_BUSINESS_PARTNER's service document answered")

    def customer(self, number: str) -> CustomerProbe:
        raise SapConfigurationError(_RFC_ONLY)

    def find(self, criteria: Sequence[FindCriterion], max_rows: int) -> FindAnswer:
        raise SapConfigurationError(_RFC_ONLY)
