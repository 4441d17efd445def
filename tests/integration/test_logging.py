"""Logs carry correlation ids and never personal data or secrets, over a full create with write-back
to the fake Salesforce (real HTTPS), a retry through the queue use case, and a rejection."""

from __future__ import annotations

import io
import json
import logging

import azure.functions as func
import pytest

from devtools.fake_salesforce import FakeSalesforce
from functions.customers import create_sap_customer
from shared import log
from shared.core.retry_message import RetryMessage
from shared.salesforce.simple_salesforce import SimpleSalesforceWriteBack
from shared.settings import SalesforceAuth
from shared.usecases import retry_create_customer
from tests.support.samples import sample


def post(payload: dict) -> int:
    request = func.HttpRequest("POST", "http://localhost/api/customers", headers={"Content-Type": "application/json"},
                               body=json.dumps(payload).encode())
    return create_sap_customer(request).status_code


@pytest.fixture
def captured_logs():
    """Everything logged, at DEBUG, by every logger, formatted with the correlation fields."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s account=%(account_id)s "
                                           "tracking=%(tracking_id)s %(message)s"))
    handler.addFilter(log.CorrelationFilter())
    handler.addFilter(log.RedactingFilter())
    records: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = records.append  # type: ignore[method-assign]
    collector.addFilter(log.CorrelationFilter())
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    root.addHandler(collector)
    yield stream, records
    root.removeHandler(handler)
    root.removeHandler(collector)
    root.setLevel(old_level)


def test_no_personal_data_or_secret_reaches_a_log_record(fake_services, sap_system, captured_logs):
    stream, records = captured_logs
    with FakeSalesforce() as salesforce:
        german, us = sample("german-account"), sample("us-account")
        salesforce.add_account(german["accountId"], Name=german["name"])
        salesforce.add_account(us["accountId"], Name=us["name"])
        fake_services.writeback = SimpleSalesforceWriteBack(
            salesforce.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS), session=salesforce.session())
        sap_system.faults.arm("communication_before")

        assert post(german) == 202  # queued
        for message in fake_services.retry_queue.take_all():
            retry_create_customer(RetryMessage.from_json(message.to_json()), fake_services)
        assert post(us) == 201
        rejected = dict(us, accountId="001Dn00000RejctIAA"[:15], referenceCustomer="0000001000")
        salesforce.add_account(rejected["accountId"], Name="Rejected Corp")
        assert post(rejected) == 422
        secrets = [salesforce.credentials.client_secret, *salesforce.issued_tokens()]

    output = stream.getvalue() + "\n".join(r.getMessage() for r in records)
    assert german["accountId"] in output  # the capture works: ids are logged
    personal = [german["street"], "Industriestraße", german["phone"], "1234567", us["street"], "555-0100",
                german["name"], us["name"], "+4989"]
    for value in personal + secrets:
        assert value not in output, f"{value!r} leaked into the logs"
    # every record the application logged during a sync names its account
    ours = [r for r in records if r.name.startswith(("shared.usecases", "shared.sap"))]
    assert ours and all(r.account_id for r in ours)
    assert any(r.tracking_id for r in ours)
