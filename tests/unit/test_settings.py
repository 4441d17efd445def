"""Settings are validated at start, with a message that names the setting."""

from __future__ import annotations

import json

import pytest

from shared.core.organization import SalesArea
from shared.settings import SalesforceAuth, SapTransport, SettingsError, WriteBackMode, load_settings


def test_sap_transport_has_no_default_and_the_start_check_names_it():
    with pytest.raises(SettingsError) as raised:
        load_settings({})
    assert str(raised.value).startswith("SAP_TRANSPORT: required")


@pytest.mark.parametrize("marker", ["WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID"])
def test_the_simulator_is_refused_inside_an_azure_hosted_app(marker):
    with pytest.raises(SettingsError) as raised:
        load_settings({"SAP_TRANSPORT": "simulator", marker: "func-sap-sync-prod"})
    assert str(raised.value).startswith("SAP_TRANSPORT: simulator is refused")


def test_find_no_match_message_setting_is_parsed_into_class_and_number():
    settings = load_settings({"SAP_TRANSPORT": "simulator", "SAP_FIND_NO_MATCH_MESSAGE": "f2 173, FN/5"})
    assert settings.sap_find_no_match_messages == (("F2", "173"), ("FN", "005"))


def test_defaults_run_the_simulator_with_the_ides_sales_areas():
    settings = load_settings({"SAP_TRANSPORT": "simulator"})
    assert settings.sap_transport is SapTransport.SIMULATOR
    assert settings.writeback is WriteBackMode.OFF
    areas = settings.sap_organization.sales_areas
    assert areas[SalesArea("1000", "10", "00")].company_code == "1000"
    assert areas[SalesArea("3000", "10", "00")].reference_customer == "0000003000"
    assert settings.retry.queue_name == "sap-customer-retry"


@pytest.mark.parametrize(("given", "stored"), [("EN", "en"), ("de", "de"), ("E", "en"), ("D", "de")])
def test_the_default_language_is_an_iso_code_or_saps_one_character_key_kept_as_iso(given, stored):
    environment = {
        "SAP_TRANSPORT": "simulator",
        "SAP_DEFAULT_LANGUAGE": given,
        "SAP_SALES_AREAS": json.dumps({"1000/10/00": {"referenceCustomer": "1000", "language": given}}),
    }
    organization = load_settings(environment).sap_organization
    assert organization.default_language == stored
    assert organization.sales_areas[SalesArea("1000", "10", "00")].language == stored


def test_without_the_setting_there_is_no_default_language():
    assert load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization.default_language is None


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"SAP_TRANSPORT": "carrier-pigeon"}, "SAP_TRANSPORT"),
        ({"RETRY_MAX_ATTEMPTS": "many"}, "RETRY_MAX_ATTEMPTS"),
        ({"RETRY_MAX_ATTEMPTS": "0"}, "RETRY_MAX_ATTEMPTS"),
        ({"RETRY_MAX_DELAY_SECONDS": str(7 * 24 * 3600)}, "RETRY_MAX_DELAY_SECONDS"),
        ({"RETRY_BASE_DELAY_SECONDS": "0"}, "RETRY_BASE_DELAY_SECONDS"),
        ({"RETRY_BASE_DELAY_SECONDS": "60", "RETRY_MAX_DELAY_SECONDS": "30"}, "RETRY_MAX_DELAY_SECONDS"),
        ({"SAP_TIMEOUT_SECONDS": "-1"}, "SAP_TIMEOUT_SECONDS"),
        ({"SAP_SALES_AREAS": "{not json"}, "SAP_SALES_AREAS"),
        ({"SAP_SALES_AREAS": '{"1000-10": {"companyCode": "1000"}}'}, "SAP_SALES_AREAS"),
        ({"SAP_SALES_AREAS": '{"1000/10/00": {"plant": "1000"}}'}, "SAP_SALES_AREAS"),
        ({"SAP_DEFAULT_SALES_AREA": "1000"}, "SAP_DEFAULT_SALES_AREA"),
        ({"SAP_DEFAULT_LANGUAGE": "english"}, "SAP_DEFAULT_LANGUAGE"),
        ({"SAP_DEFAULT_LANGUAGE": "sw"}, "SAP_DEFAULT_LANGUAGE"),  # ISO 639-1, but no key in SAP's T002 data
        ({"SAP_DEFAULT_LANGUAGE": "e"}, "SAP_DEFAULT_LANGUAGE"),  # SAP's keys are case-sensitive: 'E' is English
        ({"SAP_SALES_AREAS": '{"1000/10/00": {"language": "xx"}}'}, "SAP_SALES_AREAS"),
        ({"SAP_FIND_NO_MATCH_MESSAGE": "F2"}, "SAP_FIND_NO_MATCH_MESSAGE"),
        ({"SAP_TRANSPORT": "rfc"}, "SAP_ASHOST"),
        ({"SAP_TRANSPORT": "rfc", "SAP_ASHOST": "sap", "SAP_SYSNR": "00", "SAP_CLIENT": "800"}, "SAP_USER"),
        (
            {"SAP_TRANSPORT": "rfc", "SAP_ASHOST": "sap", "SAP_SYSNR": "00", "SAP_CLIENT": "800", "SAP_USER": "RFC_SF"},
            "SAP_PASSWORD",
        ),
        ({"SAP_TRANSPORT": "relay"}, "SAP_RELAY_URL"),
        ({"SALESFORCE_WRITEBACK": "function"}, "SALESFORCE_AUTH"),
        (
            {
                "SALESFORCE_WRITEBACK": "function",
                "SALESFORCE_AUTH": "jwt",
                "SALESFORCE_CLIENT_ID": "id",
                "SALESFORCE_USERNAME": "u",
            },
            "SALESFORCE_PRIVATE_KEY",
        ),
        (
            {
                "SALESFORCE_WRITEBACK": "function",
                "SALESFORCE_AUTH": "password",
                "SALESFORCE_USERNAME": "u",
                "SALESFORCE_PASSWORD": "p",
            },
            "SALESFORCE_CLIENT_ID",
        ),
        ({"SALESFORCE_AUTH": "kerberos"}, "SALESFORCE_AUTH"),
        ({"AzureWebJobsStorage": "garbage"}, "AzureWebJobsStorage: not a storage connection string"),
        ({"AzureWebJobsStorage": "AccountName=st;AccountKey"}, "AzureWebJobsStorage: not a storage connection"),
        ({"AzureWebJobsStorage": "AccountName=st;AccountKey=k;accountkey=k"}, "AzureWebJobsStorage: a key appears"),
        ({"AzureWebJobsStorage": "AccountName=st"}, "AzureWebJobsStorage: the connection string has no credential"),
        (
            {"AzureWebJobsStorage": "SharedAccessSignature=sv=1&sig=x;QueueEndpoint=https://st.queue.core.windows.net"},
            "AzureWebJobsStorage: the connection string names no TableEndpoint",
        ),
        (
            {"AzureWebJobsStorage": "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://proxy"},
            "AzureWebJobsStorage: UseDevelopmentStorage=true stands alone",
        ),
        ({"RETRY_QUEUE_NAME": "q"}, "RETRY_QUEUE_NAME"),  # shorter than 3
        ({"RETRY_QUEUE_NAME": "Sap_Customer_Retry"}, "RETRY_QUEUE_NAME"),  # upper case and underscores
        ({"RETRY_QUEUE_NAME": "sap--retry"}, "RETRY_QUEUE_NAME"),  # consecutive dashes
        ({"RETRY_QUEUE_NAME": "retry-"}, "RETRY_QUEUE_NAME"),
        ({"RETRY_QUEUE_NAME": "r" * 57}, "RETRY_QUEUE_NAME"),  # its "-poison" queue would exceed 63
    ],
)
def test_a_wrong_setting_is_named(environment, named):
    with pytest.raises(SettingsError) as raised:
        load_settings({"SAP_TRANSPORT": "simulator", **environment})
    assert str(raised.value).startswith(named)


@pytest.mark.parametrize(
    "connection",
    [
        "UseDevelopmentStorage=true",
        "usedevelopmentstorage = true;",
        "DefaultEndpointsProtocol=https;AccountName=stsapsync;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
        "SharedAccessSignature=sv=2022-11-02&sig=c2ln;TableEndpoint=https://st.table.core.windows.net;"
        "QueueEndpoint=https://st.queue.core.windows.net",
    ],
    ids=["azurite-shortcut", "shortcut-spaced", "account-key", "explicit-endpoints", "sas"],
)
def test_the_storage_connection_forms_the_sdks_read_are_accepted(connection):
    assert load_settings({"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": connection}).storage_connection


def test_a_malformed_storage_connection_is_refused_without_showing_its_key():
    with pytest.raises(SettingsError) as raised:
        load_settings({"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": "AccountName=st;AccountKey=s3cr3tKey;x"})
    assert "s3cr3tKey" not in str(raised.value)


def test_message_server_logon_with_snc_is_accepted():
    settings = load_settings(
        {
            "SAP_TRANSPORT": "rfc",
            "SAP_MSHOST": "sapms",
            "SAP_SYSID": "ECC",
            "SAP_GROUP": "PUBLIC",
            "SAP_CLIENT": "800",
            "SAP_USER": "RFC_SF",
            "SAP_SNC_PARTNERNAME": "p:CN=ECC",
            "SAP_SNC_QOP": "9",
        }
    )
    assert settings.sap_connection.parameters == {
        "mshost": "sapms",
        "sysid": "ECC",
        "group": "PUBLIC",
        "client": "800",
        "user": "RFC_SF",
        "snc_partnername": "p:CN=ECC",
        "snc_qop": "9",
    }


def test_secrets_never_show_in_a_repr():
    settings = load_settings(
        {
            "SAP_TRANSPORT": "rfc",
            "SAP_ASHOST": "sap",
            "SAP_SYSNR": "00",
            "SAP_CLIENT": "800",
            "SAP_USER": "RFC_SF",
            "SAP_PASSWORD": "Sup3rSecret!",
            "AzureWebJobsStorage": "AccountName=st;AccountKey=abc123==",
            "SALESFORCE_WRITEBACK": "function",
            "SALESFORCE_AUTH": "client_credentials",
            "SALESFORCE_CLIENT_ID": "3MVG9",
            "SALESFORCE_CLIENT_SECRET": "clientSecret42",
            "SALESFORCE_LOGIN_URL": "https://contoso.my.salesforce.com",  # client credentials need the My Domain
        }
    )
    assert settings.salesforce.auth is SalesforceAuth.CLIENT_CREDENTIALS
    text = repr(settings)
    for secret in ("Sup3rSecret!", "abc123", "clientSecret42"):
        assert secret not in text


def test_sales_areas_setting_and_company_code_lookup():
    settings = load_settings(
        {
            "SAP_TRANSPORT": "simulator",
            "SAP_SALES_AREAS": '{"2000/12/00": {"companyCode": "2000", "referenceCustomer": "0000002000"},'
            ' "2000/10/00": {"companyCode": "2000"}}',
            "SAP_DEFAULT_SALES_AREA": "2000/12/00",
        }
    )
    organization = settings.sap_organization
    assert organization.default_sales_area == SalesArea("2000", "12", "00")
    assert set(organization.sales_areas_of_company_code("2000")) == {
        SalesArea("2000", "12", "00"),
        SalesArea("2000", "10", "00"),
    }
    assert organization.sales_areas[SalesArea("2000", "10", "00")].reference_customer is None


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"AzureWebJobsStorage": "UseDevelopmentStorage=true", "RETRY_QUEUE_NAME": "retry"}, "SAP_TRANSPORT"),
        ({"SAP_TRANSPORT": "simulator", "RETRY_QUEUE_NAME": "retry"}, "AzureWebJobsStorage"),
        (
            {"SAP_TRANSPORT": "simulator", "RETRY_QUEUE_NAME": "retry", "AzureWebJobsStorage": "garbage"},
            "AzureWebJobsStorage",
        ),
        ({"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}, "RETRY_QUEUE_NAME"),
        (
            {
                "SAP_TRANSPORT": "simulator",
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "RETRY_QUEUE_NAME": "retry",
                "SAP_SIMULATOR_FAULTS": "bogus=1",
            },
            "SAP_SIMULATOR_FAULTS",
        ),
        (
            {
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "RETRY_QUEUE_NAME": "retry",
                "SAP_TRANSPORT": "relay",
                "SAP_RELAY_URL": "http://x.servicebus.windows.net/sap",
                "SAP_RELAY_KEY_NAME": "send",
                "SAP_RELAY_KEY": "k",
            },
            "SAP_RELAY_URL",
        ),
    ],
)
def test_the_start_check_names_what_the_first_request_would_trip_over(monkeypatch, environment, named):
    from shared import bootstrap

    for name in ("AzureWebJobsStorage", "RETRY_QUEUE_NAME", "SAP_SIMULATOR_FAULTS", "SAP_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    try:
        with pytest.raises(SettingsError) as raised:
            bootstrap.check_start_settings()
    finally:
        bootstrap.reset()
    assert named in str(raised.value)


def test_identity_based_storage_passes_the_start_check(monkeypatch):
    from shared import bootstrap

    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "stsapsync")
    monkeypatch.setenv("RETRY_QUEUE_NAME", "sap-customer-retry")
    monkeypatch.setenv("SAP_TRANSPORT", "simulator")
    bootstrap.reset()
    try:
        assert bootstrap.check_start_settings().sap_transport is SapTransport.SIMULATOR
    finally:
        bootstrap.reset()
