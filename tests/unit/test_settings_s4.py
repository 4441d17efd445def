"""SAP_TRANSPORT=odata: the S/4HANA settings (shared/settings/s4.py) and what the composition root builds from
them (shared/bootstrap/s4.py): the Business Partner gateway, for the function app and for the agent alike."""

from __future__ import annotations

import logging

import pytest

from shared import bootstrap
from shared.bootstrap import EntryPoint
from shared.sap.business_partner import BusinessPartnerGateway
from shared.settings import SettingsError, load_settings
from shared.settings.s4 import ODataAuth

BASIC = {
    "SAP_TRANSPORT": "odata",
    "SAP_ODATA_URL": "https://my000000-api.s4hana.cloud.sap/sap/opu/odata/sap/API_BUSINESS_PARTNER/",
    "SAP_ODATA_USER": "COMM_USER",
    "SAP_ODATA_PASSWORD": "secret-password",
    "SAP_BP_GROUPING": "bp02",
}
OAUTH = {
    **{k: v for k, v in BASIC.items() if k not in ("SAP_ODATA_USER", "SAP_ODATA_PASSWORD")},
    "SAP_ODATA_AUTH": "oauth",
    "SAP_ODATA_CLIENT_ID": "client",
    "SAP_ODATA_CLIENT_SECRET": "client-secret",
    "SAP_ODATA_TOKEN_URL": "https://tenant.authentication.eu10.hana.ondemand.com/oauth/token",
}


def test_basic_logon_settings_are_read_with_the_grouping_upper_cased_and_no_secret_in_the_repr():
    config = load_settings(BASIC)

    odata = config.sap_odata
    assert odata is not None and odata.auth is ODataAuth.BASIC
    assert odata.url.endswith("/API_BUSINESS_PARTNER") and odata.grouping == "BP02"
    assert "secret-password" not in repr(config)


def test_oauth_settings_are_read_and_the_secret_stays_out_of_the_repr():
    odata = load_settings(OAUTH).sap_odata
    assert odata is not None and odata.auth is ODataAuth.OAUTH and odata.client_id == "client"
    assert "client-secret" not in repr(odata)


def test_other_transports_read_no_s4_settings():
    assert load_settings({**BASIC, "SAP_TRANSPORT": "simulator"}).sap_odata is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"SAP_ODATA_URL": None}, "SAP_ODATA_URL"),
        ({"SAP_ODATA_URL": "ftp://example.com/x"}, "SAP_ODATA_URL"),
        ({"SAP_ODATA_URL": "http://s4.example.com/sap/opu/odata/sap/API_BUSINESS_PARTNER"}, "SAP_ODATA_URL"),
        ({"SAP_ODATA_PASSWORD": None}, "SAP_ODATA_PASSWORD"),
        ({"SAP_ODATA_USER": None}, "SAP_ODATA_USER"),
        ({"SAP_BP_GROUPING": None}, "SAP_BP_GROUPING"),
        ({"SAP_BP_GROUPING": "TOOLONG"}, "SAP_BP_GROUPING"),
        ({"SAP_ODATA_AUTH": "kerberos"}, "SAP_ODATA_AUTH"),
    ],
)
def test_a_missing_or_malformed_s4_setting_stops_the_start_naming_it(changes, named):
    environment = {**BASIC, **changes}
    with pytest.raises(SettingsError, match=named):
        load_settings({k: v for k, v in environment.items() if v is not None})


@pytest.mark.parametrize("missing", ["SAP_ODATA_CLIENT_ID", "SAP_ODATA_CLIENT_SECRET", "SAP_ODATA_TOKEN_URL"])
def test_oauth_needs_its_client_and_token_endpoint(missing):
    with pytest.raises(SettingsError, match=missing):
        load_settings({k: v for k, v in OAUTH.items() if k != missing})


def test_plain_http_goes_only_to_a_local_double_and_never_in_azure():
    local = {**BASIC, "SAP_ODATA_URL": "http://127.0.0.1:8044/sap/opu/odata/sap/API_BUSINESS_PARTNER"}
    assert load_settings(local).sap_odata is not None
    with pytest.raises(SettingsError, match="SAP_ODATA_URL"):
        load_settings({**local, "WEBSITE_SITE_NAME": "func-sap-sync"})


def test_the_app_and_the_agent_both_build_the_business_partner_gateway():
    config = load_settings(BASIC)

    app = bootstrap.build_sap_gateway(config, EntryPoint.FUNCTION_APP)
    agent = bootstrap.bootstrap(EntryPoint.AGENT, config, sap_pool_size=4)

    assert isinstance(app, BusinessPartnerGateway) and isinstance(agent, BusinessPartnerGateway)


def test_a_sales_area_without_company_code_is_warned_about_when_the_gateway_is_built(caplog):
    areas = '{"1000/10/00": {"referenceCustomer": "0000001000"}}'
    config = load_settings({**BASIC, "SAP_SALES_AREAS": areas})

    with caplog.at_level(logging.WARNING, logger="shared.bootstrap"):
        bootstrap.build_sap_gateway(config)

    assert any("1000/10/00 without companyCode" in record.getMessage() for record in caplog.records)
