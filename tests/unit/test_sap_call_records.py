"""The SAP adapter's one record per create: INFO where it is the record of the create (the agent), DEBUG in
the function app, whose outcome record says the same."""

from __future__ import annotations

import logging

import pytest

from shared import bootstrap
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request
from shared.settings import load_settings
from tests.support.samples import sample
from tests.support.sap import simulated_gateway


def _create(gateway) -> None:
    request = parse_customer_request(sample("german-account"))
    organization = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization
    gateway.create_customer(map_customer_request(request, organization, gateway.check_interface().company_data_lengths))


@pytest.mark.parametrize(
    ("options", "level"),
    [({}, logging.INFO), ({"call_log_level": logging.DEBUG}, logging.DEBUG)],
    ids=["agent-default", "function-app"],
)
def test_the_sap_create_record_has_the_level_its_owner_gives(sap_system, caplog, options, level):
    caplog.set_level(logging.DEBUG, logger="shared.sap.rfc")
    _create(simulated_gateway(**options))
    [record] = [r for r in caplog.records if r.getMessage().startswith("SAP create created in")]
    assert record.levelno == level


def test_the_function_apps_gateway_logs_its_calls_at_debug(monkeypatch, sap_system):
    config = load_settings({"SAP_TRANSPORT": "simulator"})
    monkeypatch.setenv("SAP_SIMULATOR_FAULTS", "")
    assert bootstrap.build_sap_gateway(config)._call_log_level == logging.DEBUG
