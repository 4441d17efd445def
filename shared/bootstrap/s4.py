"""The composition root's S/4HANA part: the Business Partner gateway (shared/sap/business_partner.py) that
SAP_TRANSPORT=odata names, built from its settings (shared/settings/s4.py). The function app builds it to
talk to S/4HANA Cloud directly over HTTPS; the on-premise agent builds the same gateway for an S/4HANA on
premise behind the relay (same relay, same proof, same wire format: shared/sap/wire.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shared.settings import Settings, SettingsError

if TYPE_CHECKING:
    from shared.sap.business_partner_http import ODataConnection
    from shared.sap.port import SapGateway

logger = logging.getLogger("shared.bootstrap")


def build_business_partner_gateway(config: Settings, *, pool_size: int, call_log_level: int) -> SapGateway:
    """The Business Partner gateway with `pool_size` idle HTTP sessions kept (0: one per unit of work)."""
    from shared.sap.business_partner import BusinessPartnerGateway

    odata = config.sap_odata
    if odata is None:
        raise SettingsError("SAP_ODATA_URL: required when SAP_TRANSPORT=odata")
    without_company_code = sorted(
        str(area) for area, setup in config.sap_organization.sales_areas.items() if not setup.company_code
    )
    if without_company_code:
        # The BAPI derived the company code from the sales organization; A_CustomerCompany needs it given.
        logger.warning(
            "SAP_SALES_AREAS: %s without companyCode: S/4HANA needs it for the customer's company code "
            "data, so a create in such a sales area fails as misconfigured",
            ", ".join(without_company_code),
        )
    return BusinessPartnerGateway(
        odata_connection(config),
        config.sap_organization,
        odata.grouping,
        pool_size=pool_size,
        call_log_level=call_log_level,
    )


def odata_connection(config: Settings) -> ODataConnection:
    """Where API_BUSINESS_PARTNER is and how to log on (SAP_ODATA_*): the gateway's, and the go-live probes'."""
    from shared.sap.business_partner_http import ODataConnection

    odata = config.sap_odata
    if odata is None:
        raise SettingsError("SAP_ODATA_URL: required when SAP_TRANSPORT=odata")
    return ODataConnection(
        service_url=odata.url,
        auth=odata.auth.value,
        user=odata.user,
        password=odata.password,
        client_id=odata.client_id,
        client_secret=odata.client_secret,
        token_url=odata.token_url,
        timeout_seconds=config.sap_timeout_seconds,
    )
