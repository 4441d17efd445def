"""The local host's Invoker returns what an invocation produced (value, encoded HTTP output, or the exception);
the HTTP server and the queue listener act on that result. No server, no storage."""

from __future__ import annotations

import asyncio
import datetime
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func
import pytest
from azure.functions.http import HttpRequest as ConverterHttpRequest
from azure.functions.queue import QueueMessage as ConverterQueueMessage

from devhost.app_loader import FunctionSpec, describe_functions
from devhost.bindings import BindingError, TriggerData, http_trigger_data, queue_trigger_data
from devhost.http_server import response_for
from devhost.invocation import InvocationResult, Invoker


def _only_function(app: func.FunctionApp) -> FunctionSpec:
    (spec,) = describe_functions(app)
    return spec


def _invoke(spec: FunctionSpec, trigger: TriggerData) -> InvocationResult:
    with ThreadPoolExecutor(max_workers=2) as executor:
        return asyncio.run(Invoker(executor, "/app").invoke(spec, trigger))


def _http(body: bytes = b"", **query: str) -> TriggerData:
    return http_trigger_data(
        method="post",
        url="http://localhost/api/x",
        headers={"Content-Type": "text/plain"},
        query=query,
        route_params={"id": "7"},
        body=body,
    )


def _http_function(result: Any) -> tuple[FunctionSpec, list[Any]]:
    received: list[Any] = []
    app = func.FunctionApp()

    @app.route(route="x/{id}")
    def handler(req: func.HttpRequest) -> Any:
        received.append(req)
        if isinstance(result, Exception):
            raise result
        return result

    return _only_function(app), received


def test_invoke_returns_the_return_value_and_the_http_output_as_the_converter_encodes_it(caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    answer = func.HttpResponse("created", status_code=201, headers={"X-A": "1"})
    spec, received = _http_function(answer)

    result = _invoke(spec, _http(b"hello", q="1"))

    assert result.succeeded and result.error is None
    assert result.value is answer
    assert result.http_output is not None and result.http_output.type == "http"
    assert result.http_output.value["status_code"].value == "201"
    assert result.http_output.value["headers"]["X-A"].value == "1"
    assert result.http_output.value["headers"]["content-type"].value == "text/plain; charset=utf-8"
    assert result.http_output.value["body"].value == b"created"
    assert result.function_name == "handler" and result.invocation_id and result.duration_ms >= 0
    # The request the function got is the one azure.functions' HttpRequestConverter decodes.
    (request,) = received
    assert type(request) is ConverterHttpRequest
    assert (request.method, request.get_body(), dict(request.params), dict(request.route_params)) == (
        "POST",
        b"hello",
        {"q": "1"},
        {"id": "7"},
    )
    # The invocation itself answers nothing and logs no Executed line: its caller does both.
    assert not [r for r in caplog.records if "Executed" in r.getMessage()]
    response = response_for(result)
    assert (response.status, response.body, response.headers["X-A"]) == (201, b"created", "1")


def test_invoke_returns_the_exception_instead_of_raising_it():
    failure = RuntimeError("boom")
    spec, _ = _http_function(failure)

    result = _invoke(spec, _http())

    assert not result.succeeded
    assert result.error is failure
    assert result.http_output is None
    assert response_for(result).status == 500


def test_invoke_of_a_result_the_converter_cannot_encode_returns_a_binding_error():
    spec, _ = _http_function({"a": 1})

    result = _invoke(spec, _http())

    assert isinstance(result.error, BindingError)
    assert result.value == {"a": 1}
    assert response_for(result).status == 500


@pytest.mark.parametrize(("value", "status", "body"), [("text", 200, b"text"), (None, 204, b"")])
def test_invoke_of_str_and_none_results(value, status, body):
    spec, _ = _http_function(value)

    result = _invoke(spec, _http())

    assert result.succeeded
    if value is None:
        assert result.http_output is None  # not passed to the converter, which cannot encode None
    else:
        assert (result.http_output.type, result.http_output.value) == ("string", "text")
    response = response_for(result)
    assert (response.status, response.body or b"") == (status, body)


def test_invoke_of_a_queue_trigger_passes_the_converters_queue_message_and_returns_no_http_output():
    received: list[func.QueueMessage] = []
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="message", queue_name="work", connection="AzureWebJobsStorage")
    def worker(message: func.QueueMessage) -> None:
        received.append(message)

    inserted = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    trigger = queue_trigger_data(
        message_id="m-1",
        body=b'{"k": 1}',
        dequeue_count=2,
        insertion_time=inserted,
        expiration_time=inserted + datetime.timedelta(days=7),
        next_visible_time=inserted + datetime.timedelta(30),
        pop_receipt="receipt",
    )

    result = _invoke(_only_function(app), trigger)

    assert result.succeeded and result.value is None and result.http_output is None
    (message,) = received
    assert type(message) is ConverterQueueMessage
    assert (message.id, message.get_body(), message.get_json(), message.dequeue_count, message.pop_receipt) == (
        "m-1",
        b'{"k": 1}',
        {"k": 1},
        2,
        "receipt",
    )
    assert message.insertion_time == inserted and message.insertion_time.tzinfo is not None
    assert message.expiration_time == inserted + datetime.timedelta(days=7)
    assert message.time_next_visible == inserted + datetime.timedelta(30)


def test_a_queue_body_that_is_not_utf8_reaches_the_function_unchanged():
    trigger = queue_trigger_data(
        message_id="m",
        body=b"\xff\xfe",
        dequeue_count=1,
        insertion_time=None,
        expiration_time=None,
        next_visible_time=None,
        pop_receipt=None,
    )
    assert trigger.datum.type == "bytes"
    received: list[func.QueueMessage] = []
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="message", queue_name="work", connection="AzureWebJobsStorage")
    def worker(message: func.QueueMessage) -> None:
        received.append(message)

    assert _invoke(_only_function(app), trigger).succeeded
    assert received[0].get_body() == b"\xff\xfe"
    assert received[0].insertion_time is None
