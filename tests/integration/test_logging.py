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
    request = func.HttpRequest(
        "POST",
        "http://localhost/api/customers",
        headers={"Content-Type": "application/json"},
        body=json.dumps(payload).encode(),
    )
    return create_sap_customer(request).status_code


@pytest.fixture
def captured_logs():
    """Everything logged, at DEBUG, by every logger, formatted with the correlation fields."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s account=%(account_id)s tracking=%(tracking_id)s %(message)s")
    )
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
            salesforce.salesforce_settings(SalesforceAuth.CLIENT_CREDENTIALS), session=salesforce.session()
        )
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
    personal = [
        german["street"],
        "Industriestraße",
        german["phone"],
        "1234567",
        us["street"],
        "555-0100",
        german["name"],
        us["name"],
        "+4989",
    ]
    for value in personal + secrets:
        assert value not in output, f"{value!r} leaked into the logs"
    # every record the application logged during a sync names its account
    ours = [r for r in records if r.name.startswith(("shared.usecases", "shared.sap"))]
    assert ours and all(r.account_id for r in ours)
    assert any(r.tracking_id for r in ours)


# --- issue 20 item 6: the Functions worker's own records pass the app's logging set-up untouched ---

# What Microsoft's Python workers log under their own loggers, with the message forms of their source:
# azure_functions_worker/dispatcher.py (Azure/azure-functions-python-worker: "Function Name: {}, Function
# Binding: {}" when indexing, "function name: ..." per invocation), azure_functions_runtime/handle_event.py
# (azure-functions-runtime 1.3.0: "Function name: %s, Function Type: %s", and the indexing summary as JSON),
# proxy_worker (Python 3.13+).
WORKER_RECORDS = [
    (
        "azure_functions_worker",
        "Function Name: %s, Function Binding: %s",
        ("CreateSAPCustomer", "[('httpTrigger', 'req'), ('http', '$return')]"),
    ),
    (
        "azure_functions_worker",
        "Received FunctionInvocationRequest, request ID: %s, function ID: %s, function name: %s, invocation ID: %s",
        ("r-1", "f-1", "CreateSAPCustomer", "i-1"),
    ),
    ("azure_functions_worker_errors", "Function Name: %s failed to load", ("CreateSAPCustomer",)),
    ("azure.functions", "Function name: %s, Function Type: %s", ("RetryCreateSAPCustomer", "sync")),
    (
        "azure.functions",
        '{"message": "Successfully indexed function app.", "functions": "Function Name: %s, Function Binding: []"}',
        ("Health",),
    ),
    ("proxy_worker", "Function Name: %s, token: %s", ("CreateSAPCustomer", "none")),
]


@pytest.fixture
def worker_handler():
    """A handler on the root logger as the worker has it (dispatcher.py adds its AsyncLoggingHandler to the
    root logger, which sends every record to the host), then the app's own set-up, as function_app.py runs
    it: configure_logging() puts the app's filters on that handler."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    log.configure_logging()
    yield records
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_the_workers_own_records_pass_the_apps_redaction_untouched(worker_handler):
    for logger_name, message, arguments in WORKER_RECORDS:
        logging.getLogger(logger_name).info(message, *arguments)

    assert [record.getMessage() for record in worker_handler] == [
        message % arguments for _, message, arguments in WORKER_RECORDS
    ]
    assert "***" not in "".join(record.getMessage() for record in worker_handler)


def test_the_apps_records_are_still_redacted_on_the_same_handler(worker_handler):
    logging.getLogger("shared.usecases.create").info("payload name: %s, phone: %s", "Acme", "+498912345")
    logging.getLogger("functions.customers").warning("token=%s", "s3cr3t")
    # A library's record in the app's process: redacted too (only the worker's own are exempt).
    logging.getLogger("urllib3.connectionpool").warning("Authorization: Bearer %s", "eyJhbGciOi.abc")

    messages = [record.getMessage() for record in worker_handler]
    assert messages[:2] == ["payload name: ***, phone: ***", "token=***"]
    assert messages[2].startswith("Authorization: ") and "eyJhbGciOi" not in messages[2]


def test_a_parsers_position_is_not_taken_for_a_secret(worker_handler):
    # expat's message form (xml.parsers.expat ErrorString: "unclosed token"), with its position.
    logging.getLogger("shared.usecases.push").info("not an outbound message: unclosed token: line 1, column 1083")

    [record] = worker_handler
    assert record.getMessage() == "not an outbound message: unclosed token: line 1, column 1083"
    assert log.redact("token: line1") == "token: ***"
