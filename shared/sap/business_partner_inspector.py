"""The go-live check's probes of S/4HANA's Business Partner service (shared/sap/business_partner_probes.py), over
the gateway's own HTTP session (shared/sap/business_partner_http.py: the same logon, cookies and error vocabulary)
and the gateway's own metadata self-check. Every request is a GET; nothing is created.

What each probe asks, and why it is what the product relies on:
* the service document (GET <service root>/, OData V2: the entity sets the service exposes): the logon and the
  URL, as the gateway's first request of a unit (its CSRF fetch) makes them;
* A_CustomerSalesArea(Customer, SalesOrganization, DistributionChannel, Division) and A_CustomerCompany(Customer,
  CompanyCode) read by key (keys in shared/core/business_partner_facts.py, from SAP's published metadata): what
  the create copies from the reference customer (shared/sap/business_partner_customer.py `reference`), so a
  missing one is the create's own rejection, found before go-live;
* `A_BusinessPartner?$filter=BusinessPartnerIDByExtSystem eq '<id>'` with an id no account can have: the
  duplicate guard's query (business_partner_customer.py `earlier_partners`). The field is not marked
  unfilterable in the published metadata, but a release or field control may refuse it (unverified on any real
  system): a refusal means the guard cannot work there, and the gateway refuses creates as misconfigured.
"""

from __future__ import annotations

import time

from shared.core.business_partner_facts import BUSINESS_PARTNER, CUSTOMER_COMPANY, CUSTOMER_SALES_AREA
from shared.core.organization import SalesArea
from shared.sap.business_partner import BusinessPartnerGateway
from shared.sap.business_partner_auth import BearerTokens
from shared.sap.business_partner_customer import entity_path
from shared.sap.business_partner_http import Answer, ODataConnection, ODataSession
from shared.sap.business_partner_probes import BusinessPartnerProbes, ReferenceData, ServiceDocument
from shared.sap.port import SapInterface

EXTERNAL_ID = "BusinessPartnerIDByExtSystem"


class BusinessPartnerInspector(BusinessPartnerProbes):
    """The probes on one HTTP session of their own (one logon for the whole check), each GET bounded by
    SAP_TIMEOUT_SECONDS."""

    def __init__(self, gateway: BusinessPartnerGateway, connection: ODataConnection) -> None:
        self._gateway = gateway
        self._connection = connection
        self._session: ODataSession | None = None

    def _get(self, path: str, params: dict[str, str] | None = None, missing_ok: bool = False) -> Answer | None:
        if self._session is None:
            tokens = None
            if self._connection.auth == "oauth":
                tokens = BearerTokens(
                    self._connection.token_url or "",
                    self._connection.client_id or "",
                    self._connection.client_secret or "",
                )
            self._session = ODataSession(self._connection, tokens=tokens)
        deadline = time.monotonic() + self._connection.timeout_seconds
        return self._session.get(path, params=params, deadline=deadline, missing_ok=missing_ok)

    def service_document(self) -> ServiceDocument:
        answer = self._get("")
        assert answer is not None
        sets = answer.entity.get("EntitySets")
        return ServiceDocument(tuple(str(name) for name in sets) if isinstance(sets, list) else ())

    def check_interface(self) -> SapInterface:
        return self._gateway.check_interface()

    def reference_data(self, customer: str, area: SalesArea, company_code: str | None) -> ReferenceData:
        sales_area = self._exists(
            CUSTOMER_SALES_AREA.name,
            CUSTOMER_SALES_AREA.keys,
            (customer, area.sales_organization, area.distribution_channel, area.division),
        )
        company = None
        if company_code:
            company = self._exists(CUSTOMER_COMPANY.name, CUSTOMER_COMPANY.keys, (customer, company_code))
        return ReferenceData(customer, sales_area, company)

    def external_id_rows(self, external_id: str) -> int:
        literal = external_id.replace("'", "''")
        answer = self._get(
            BUSINESS_PARTNER.name,
            params={"$filter": f"{EXTERNAL_ID} eq '{literal}'", "$select": "BusinessPartner", "$top": "2"},
        )
        assert answer is not None
        return len(answer.entities)

    def _exists(self, entity_set: str, key_names: tuple[str, ...], values: tuple[str, ...]) -> bool:
        path = entity_path(entity_set, dict(zip(key_names, values, strict=True)))
        return self._get(path, params={"$select": ",".join(key_names)}, missing_ok=True) is not None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
