"""SALESFORCE_CUSTOMER_TYPES: the Account Type values that mean "customer", one setting read by the push
path and the reconcile's query (and by the Salesforce push flow through its custom metadata record), and
the Salesforce login rules the start checks: client credentials only at a My Domain, password deprecated."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from shared import bootstrap
from shared.core.account_fields import DEFAULT_CUSTOMER_TYPES, is_customer_type
from shared.core.ledger import LedgerStatus
from shared.core.outbound_message import parse_outbound_message
from shared.salesforce.simple_salesforce import customers_without_sap_number_soql, soql_string
from shared.settings import PASSWORD_FLOW_DEPRECATED, SalesforceAuth, SettingsError, load_settings
from shared.usecases import Services
from shared.usecases.push import PushOutcome, receive_outbound_message
from tests.support.outbound_messages import ORGANIZATION_ID, outbound_message
from tests.unit.test_push import account, customers_named
from tests.unit.test_service import drain

OLDER_PICKLIST = "Customer - Direct,Customer - Channel"
BASE = {"SAP_TRANSPORT": "simulator", "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID[:15]}


# --- the setting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "types"),
    [
        (None, ("Customer",)),
        ("Customer", ("Customer",)),
        (OLDER_PICKLIST, ("Customer - Direct", "Customer - Channel")),
        (" Customer - Direct , Customer - Channel ,", ("Customer - Direct", "Customer - Channel")),
        ("Customer,Customer", ("Customer",)),
        ("Kunde's", ("Kunde's",)),
    ],
)
def test_the_customer_types_setting_is_a_comma_separated_list_defaulting_to_customer(text, types):
    environment = dict(BASE) if text is None else {**BASE, "SALESFORCE_CUSTOMER_TYPES": text}
    assert load_settings(environment).salesforce.customer_types == types


@pytest.mark.parametrize("text", [",", " , ,"])
def test_a_customer_types_setting_without_a_value_stops_the_start_naming_it(text):
    with pytest.raises(SettingsError, match=r"^SALESFORCE_CUSTOMER_TYPES: no value"):
        load_settings({**BASE, "SALESFORCE_CUSTOMER_TYPES": text})


@pytest.mark.parametrize(
    ("account_type", "types", "customer"),
    [
        ("Customer", DEFAULT_CUSTOMER_TYPES, True),
        ("Customer - Direct", DEFAULT_CUSTOMER_TYPES, False),
        ("Customer - Direct", ("Customer - Direct", "Customer - Channel"), True),
        ("Customer - Channel", ("Customer - Direct", "Customer - Channel"), True),
        ("Prospect", ("Customer - Direct", "Customer - Channel"), False),
        (None, ("Customer",), False),
        ("customer", ("Customer",), False),  # a picklist's API value, compared as the flow compares it
    ],
)
def test_which_account_types_are_customers(account_type, types, customer):
    assert is_customer_type(account_type, types) is customer


# --- the push path ----------------------------------------------------------------------------------------


@pytest.fixture
def older_picklist_push(fake_services: Services) -> Services:
    settings = load_settings({**BASE, "SALESFORCE_CUSTOMER_TYPES": OLDER_PICKLIST})
    # What the composition root does with the setting (shared/bootstrap/ bootstrap).
    services = replace(fake_services, customer_types=settings.salesforce.customer_types)
    bootstrap.override(services, settings)
    return services


def test_with_the_older_picklist_either_customer_value_creates_and_a_prospect_does_not(older_picklist_push, sap_system):
    direct, channel, prospect = (
        account(301, Type="Customer - Direct"),
        account(302, Type="Customer - Channel"),
        account(303, Type="Prospect"),
    )
    message = parse_outbound_message(outbound_message([direct, channel, prospect]))
    results = receive_outbound_message(message, ORGANIZATION_ID, older_picklist_push)
    assert [r.outcome for r in results] == [PushOutcome.QUEUED, PushOutcome.QUEUED, PushOutcome.IGNORED]
    assert results[2].reason == "Type is Prospect, not Customer - Direct or Customer - Channel"
    drain(older_picklist_push)
    for created in (direct, channel):
        assert older_picklist_push.ledger.get(created["Id"]).status is LedgerStatus.CREATED
        assert len(customers_named(sap_system, created["Name"])) == 1
    assert older_picklist_push.ledger.get(prospect["Id"]) is None


def test_with_the_older_picklist_the_plain_customer_value_is_not_a_customer(older_picklist_push):
    message = parse_outbound_message(outbound_message([account(304)]))  # Type Customer
    [result] = receive_outbound_message(message, ORGANIZATION_ID, older_picklist_push)
    assert result.outcome is PushOutcome.IGNORED and older_picklist_push.retry_queue.queued == []


def test_the_composition_root_hands_the_setting_to_the_push_path():
    settings = load_settings({**BASE, "SALESFORCE_CUSTOMER_TYPES": OLDER_PICKLIST})
    services = bootstrap.bootstrap(config=replace(settings, storage_connection="UseDevelopmentStorage=true"))
    assert services.customer_types == ("Customer - Direct", "Customer - Channel")


# --- the reconcile's query ----------------------------------------------------------------------------------


def test_the_reconcile_query_selects_every_customer_type():
    soql = customers_without_sap_number_soql(("Customer - Direct", "Customer - Channel"))
    assert "WHERE Type IN ('Customer - Direct','Customer - Channel') AND SAP_Customer_Number__c = null" in soql


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("Customer", "'Customer'"),
        ("Kunde's", r"'Kunde\'s'"),
        ("a\\b", r"'a\\b'"),
        ('say "x"', r"'say \"x\"'"),
        ("two\nlines", r"'two\nlines'"),
        ("x' OR Name != '", r"'x\' OR Name != \''"),  # a setting can never widen the query
    ],
)
def test_a_customer_type_is_escaped_as_a_soql_string_literal(value, literal):
    assert soql_string(value) == literal


# --- the Salesforce login rules at start ---------------------------------------------------------------------

CLIENT_CREDENTIALS = {
    **BASE,
    "SALESFORCE_WRITEBACK": "function",
    "SALESFORCE_AUTH": "client_credentials",
    "SALESFORCE_CLIENT_ID": "3MVG9-id",
    "SALESFORCE_CLIENT_SECRET": "secret",
}


@pytest.mark.parametrize(
    "login_url", [None, "https://login.salesforce.com", "https://test.salesforce.com/", "https://LOGIN.salesforce.com"]
)
def test_client_credentials_at_a_generic_login_host_stop_the_start_naming_the_setting(login_url):
    environment = dict(CLIENT_CREDENTIALS)
    if login_url is not None:
        environment["SALESFORCE_LOGIN_URL"] = login_url
    with pytest.raises(SettingsError) as raised:
        load_settings(environment)
    message = str(raised.value)
    assert message.startswith("SALESFORCE_LOGIN_URL: ") and "My Domain" in message


@pytest.mark.parametrize("writeback", ["off", "flow"])
def test_the_login_host_is_checked_whatever_the_write_back_mode(writeback):
    # The reconcile logs in with the same settings whatever SALESFORCE_WRITEBACK says.
    with pytest.raises(SettingsError, match=r"^SALESFORCE_LOGIN_URL: "):
        load_settings({**CLIENT_CREDENTIALS, "SALESFORCE_WRITEBACK": writeback})


@pytest.mark.parametrize(
    "login_url", ["https://contoso.my.salesforce.com", "https://contoso--uat.sandbox.my.salesforce.com"]
)
def test_client_credentials_at_a_my_domain_start(login_url):
    settings = load_settings({**CLIENT_CREDENTIALS, "SALESFORCE_LOGIN_URL": login_url})
    assert settings.salesforce.auth is SalesforceAuth.CLIENT_CREDENTIALS and settings.salesforce.login_url == login_url


@pytest.mark.parametrize("auth", ["jwt", "password"])
def test_the_other_flows_may_use_the_generic_login_host(auth):
    settings = load_settings({**BASE, "SALESFORCE_AUTH": auth})
    assert settings.salesforce.login_url == "https://login.salesforce.com"


def test_the_password_flow_logs_a_deprecation_warning_at_start(monkeypatch, caplog):
    environment = {
        **BASE,
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "RETRY_QUEUE_NAME": "retry",
        "SAP_SIMULATOR_FAULTS": "",
        "SALESFORCE_AUTH": "password",
    }
    for name in list(environment):
        monkeypatch.setenv(name, environment[name])
    bootstrap.reset()
    try:
        with caplog.at_level(logging.WARNING, logger="shared.bootstrap"):
            bootstrap.check_start_settings()
    finally:
        bootstrap.reset()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [PASSWORD_FLOW_DEPRECATED]
    assert "retiring" in PASSWORD_FLOW_DEPRECATED and "000886201" in PASSWORD_FLOW_DEPRECATED
