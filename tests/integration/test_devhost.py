"""The local Functions host (devhost) serving tests/devhost_sample over real HTTP and real Azurite queues."""

from __future__ import annotations

import base64
import datetime
import importlib.util
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.functions.http import HttpRequest as ConverterHttpRequest
from azure.functions.http import HttpResponseConverter
from azure.functions.queue import QueueMessage as ConverterQueueMessage
from azure.storage.queue import QueueClient

from devhost import LocalHost, RouteTemplate, read_host_config
from devhost.config import HostConfigError, parse_timespan, read_queue_options
from devhost.queue_listener import IN_FLIGHT_VISIBILITY_SECONDS, decode_body

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "devhost_sample"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 20.0
# The tests' in-flight window (the default is IN_FLIGHT_VISIBILITY_SECONDS): short, so renewal and a killed
# host's message coming back are seen in seconds.
TEST_IN_FLIGHT_SECONDS = 2


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    """Polls until condition() is truthy; the deadline only bounds a broken run, it is not what we assert."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def _eventually_logged(caplog: pytest.LogCaptureFixture, matches: Callable[[str], bool], timeout: float = 5) -> bool:
    """The host writes its "Executed" line right after sending the answer, so a client may see the answer
    a moment before the line exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(matches(record.getMessage()) for record in caplog.records):
            return True
        time.sleep(0.01)
    return False


# --- route templates and host.json (no server) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("api/customers/{accountId}", "/api/customers/001ABC", {"accountId": "001ABC"}),
        ("api/customers/{accountId}", "/API/Customers/a%20b/", {"accountId": "a b"}),
        ("api/items/{id?}", "/api/items", {}),
        ("api/items/{id:int}", "/api/items/42", {"id": "42"}),
        ("api/items/{id:int}", "/api/items/forty-two", None),
        ("api/items/{id:int:range(1,10)}", "/api/items/11", None),
        ("api/items/{id:guid}", f"/api/items/{uuid.UUID(int=7)}", {"id": str(uuid.UUID(int=7))}),
        ("api/files/{*rest}", "/api/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("api/files/{*rest}", "/api/files", {}),
        ("api/docs/{name}.{ext}", "/api/docs/report.v2.pdf", {"name": "report.v2", "ext": "pdf"}),
        ("api/pages/{slug=home}", "/api/pages", {"slug": "home"}),
        ("api/customers", "/api/customers/extra", None),
    ],
)
def test_route_templates_match_like_the_host(template, path, expected):
    matched = RouteTemplate(template).match(path)
    assert (matched.route_params if matched else None) == expected


def test_literal_segments_take_precedence_over_parameters():
    ordered = sorted(
        ["api/items/{*rest}", "api/items/{id}", "api/items/{id:int}", "api/items/new"],
        key=lambda template: RouteTemplate(template).precedence,
    )
    assert ordered == ["api/items/new", "api/items/{id:int}", "api/items/{id}", "api/items/{*rest}"]


def test_host_json_queue_settings_and_defaults(tmp_path):
    config = read_host_config(SAMPLE_DIR)
    assert config.route_prefix == "sample"
    assert (config.queues.batch_size, config.queues.new_batch_threshold, config.queues.max_dequeue_count) == (4, 2, 3)
    assert config.queues.visibility_timeout_seconds == 1.0
    assert config.queues.max_polling_interval_seconds == pytest.approx(0.2)

    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    defaults = read_host_config(tmp_path)
    assert defaults.route_prefix == "api"
    assert (defaults.queues.batch_size, defaults.queues.new_batch_threshold) == (16, 8)
    assert defaults.queues.max_polling_interval_seconds == 60.0
    assert (defaults.queues.visibility_timeout_seconds, defaults.queues.max_dequeue_count) == (0.0, 5)
    assert defaults.queues.message_encoding == "base64"


def test_host_json_values_out_of_range_are_refused():
    assert parse_timespan("1.02:03:04.5", "x") == 86400 + 2 * 3600 + 3 * 60 + 4.5
    with pytest.raises(HostConfigError, match="batchSize"):
        read_queue_options({"batchSize": 64})
    with pytest.raises(HostConfigError, match="messageEncoding"):
        read_queue_options({"messageEncoding": "utf-16"})
    with pytest.raises(HostConfigError, match="maxPollingInterval"):
        read_queue_options({"maxPollingInterval": "00:00:00.050"})


def test_message_encoding_none_passes_the_text_through():
    assert decode_body('{"a": 1}', "none") == b'{"a": 1}'
    assert decode_body(base64.b64encode(b"hi").decode(), "base64") == b"hi"


# --- the running host ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def queue_names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {
        "SAMPLE_FLAKY_QUEUE": f"flaky-{suffix}",
        "SAMPLE_POISON_QUEUE": f"doomed-{suffix}",
        "SAMPLE_SLOW_QUEUE": f"slow-{suffix}",
    }


@pytest.fixture(scope="module")
def local_host(azurite, queue_names) -> Iterator[LocalHost]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AzureWebJobsStorage", azurite.connection_string)
        for name, value in queue_names.items():
            patch.setenv(name, value)
        host = LocalHost(SAMPLE_DIR, port=0, in_flight_visibility_seconds=TEST_IN_FLIGHT_SECONDS).start()
        try:
            yield host
        finally:
            host.stop()


@pytest.fixture
def send(azurite, queue_names) -> Callable[[str, dict[str, Any]], str]:
    """Sends a base64-encoded JSON message, as QueueClient with TextBase64EncodePolicy and the host expect."""

    def send_message(setting: str, payload: dict[str, Any]) -> str:
        return send_encoded(azurite.connection_string, queue_names[setting], payload)[0]

    return send_message


def send_encoded(connection_string: str, queue_name: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """Sends `payload` as base64 JSON to an existing queue; the encoded text and the sent message (id, times)."""
    client = QueueClient.from_connection_string(connection_string, queue_name)
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    return encoded, client.send_message(encoded)


def observations(local_host: LocalHost, key: str) -> list[dict[str, Any]]:
    response = requests.get(f"{local_host.base_url}/sample/observations/{key}", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_route_params_query_headers_and_body_round_trip(local_host):
    response = requests.put(
        f"{local_host.base_url}/sample/customers/001XYZ?status=201&tag=a&tag=b",
        headers={"X-Echo": "hello"},
        data=b'{"x": 1}',
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["X-Sample"] == "customer"
    assert response.headers["Content-Type"] == "application/json"
    echoed = response.json()
    assert echoed["method"] == "PUT"
    assert echoed["accountId"] == "001XYZ"
    assert echoed["query"] == {"status": "201", "tag": "a,b"}
    assert echoed["echoHeader"] == "hello"
    assert echoed["body"] == '{"x": 1}'
    assert echoed["url"].endswith("/sample/customers/001XYZ?status=201&tag=a&tag=b")


def test_route_prefix_from_host_json_is_honoured(local_host):
    assert requests.get(f"{local_host.base_url}/sample/items/7", timeout=10).text == "item 7"
    assert requests.get(f"{local_host.base_url}/api/items/7", timeout=10).status_code == 404


def test_unknown_route_and_wrong_method_are_404_as_on_the_functions_host(local_host):
    assert requests.get(f"{local_host.base_url}/sample/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{local_host.base_url}/sample/items/not-a-number", timeout=10).status_code == 404
    assert requests.delete(f"{local_host.base_url}/sample/customers/001XYZ", timeout=10).status_code == 404
    assert requests.get(f"{local_host.base_url}/sample/customers/001XYZ", timeout=10).status_code == 200


def test_literal_route_wins_and_optional_and_catch_all_parameters(local_host):
    base = local_host.base_url
    assert requests.get(f"{base}/sample/items/new", timeout=10).text == "new item form"
    assert requests.get(f"{base}/sample/pages", timeout=10).text == "page index"
    assert requests.post(f"{base}/sample/pages/about", timeout=10).text == "page about"  # no methods: all
    catch_all = requests.get(f"{base}/sample/files/reports/2024/q1%20final.txt", timeout=10)
    assert catch_all.text == "reports/2024/q1 final.txt"
    assert catch_all.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_default_route_is_the_function_name_and_async_functions_are_awaited(local_host):
    response = requests.get(f"{local_host.base_url}/sample/slow_async", timeout=10)
    assert response.status_code == 204


def test_an_invocation_whose_caller_went_away_still_gets_its_executed_line(local_host, caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    host, port = local_host.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host.replace("localhost", "127.0.0.1"), int(port)), timeout=10) as caller:
        caller.sendall(b"GET /sample/slow_async HTTP/1.1\r\nHost: x\r\n\r\n")
        # Reset at once (no FIN handshake): the answer is written to a connection that is gone.
        caller.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert _eventually_logged(caplog, lambda message: "Executed 'Functions.slow_async'" in message)


def test_unhandled_exception_is_a_500_with_the_traceback_in_the_log(local_host, caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    response = requests.post(f"{local_host.base_url}/sample/boom", timeout=10)
    assert response.status_code == 500
    assert response.content == b""
    failure = next(r for r in caplog.records if "Exception while executing function: Functions.Boom" in r.getMessage())
    assert failure.exc_info is not None and "sample failure" in str(failure.exc_info[1])
    assert _eventually_logged(
        caplog, lambda message: "Executed 'Functions.Boom' (Failed" in message and "-> 500" in message
    )


def test_concurrent_requests_are_all_served(local_host):
    def fetch(number: int) -> tuple[int, str]:
        response = requests.get(f"{local_host.base_url}/sample/items/{number}", timeout=30)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(fetch, range(1, 201)))
    assert results == [(200, f"item {number}") for number in range(1, 201)]


def test_queue_message_failing_once_is_retried_with_a_higher_dequeue_count(local_host, send):
    key = uuid.uuid4().hex
    send("SAMPLE_FLAKY_QUEUE", {"key": key})
    seen = wait_for(
        lambda: (
            [o for o in observations(local_host, key) if o["outcome"] == "succeeded"] and observations(local_host, key)
        ),
        "the flaky message to succeed",
    )
    assert [(o["dequeueCount"], o["outcome"]) for o in seen] == [(1, "failed"), (2, "succeeded")]
    assert seen[0]["messageId"] == seen[1]["messageId"]
    assert all(o["hasPopReceipt"] and o["insertedAt"] for o in seen)
    # host.json visibilityTimeout is 1 s: the message stays hidden at least that long after the failure.
    assert seen[1]["monotonic"] - seen[0]["monotonic"] >= 0.9


def test_message_always_failing_lands_in_the_poison_queue(local_host, send, azurite, queue_names):
    key = uuid.uuid4().hex
    encoded = send("SAMPLE_POISON_QUEUE", {"key": key})
    queue_name = queue_names["SAMPLE_POISON_QUEUE"]
    poison = QueueClient.from_connection_string(azurite.connection_string, f"{queue_name}-poison")

    def poisoned_copies() -> list[Any]:
        try:
            return [m for m in poison.peek_messages(max_messages=32) if m.content == encoded]
        except ResourceNotFoundError:  # the host creates the poison queue with the first poison message
            return []

    poisoned = wait_for(poisoned_copies, "the message in the poison queue")
    assert len(poisoned) == 1
    # maxDequeueCount is 3 in the sample host.json: three attempts, then no more.
    assert [o["dequeueCount"] for o in observations(local_host, key)] == [1, 2, 3]
    source = QueueClient.from_connection_string(azurite.connection_string, queue_name)
    assert source.get_queue_properties().approximate_message_count == 0


def test_other_triggers_are_listed_but_not_served(local_host):
    assert [spec.name for spec in local_host.unserved] == ["housekeeping"]
    assert {listener.target.queue_name for listener in local_host.queue_listeners} == {
        os.environ.get("SAMPLE_FLAKY_QUEUE"),
        os.environ.get("SAMPLE_POISON_QUEUE"),
        os.environ.get("SAMPLE_SLOW_QUEUE"),
    }


# --- azure.functions' converters: what a function receives and how its result is answered ----------------------


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _sample_module() -> ModuleType:
    """The sample app imported under a name of its own, for the values its functions return."""
    spec = importlib.util.spec_from_file_location("devhost_sample_values", SAMPLE_DIR / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_http_request_is_built_by_azure_functions_http_request_converter(local_host):
    response = requests.post(f"{local_host.base_url}/sample/inspect/abc?x=1&x=2", json={"a": [1, "ü"]}, timeout=10)
    assert response.status_code == 200
    seen = response.json()
    # HttpRequestConverter.decode builds azure.functions.http.HttpRequest (the worker's class), not the
    # azure.functions._http.HttpRequest a function gets when code constructs func.HttpRequest itself.
    assert seen["requestType"] == _type_name(ConverterHttpRequest) == "azure.functions.http.HttpRequest"
    assert seen["headersType"] == "azure.functions._http.HttpRequestHeaders"
    assert (seen["method"], seen["routeParams"], seen["params"]) == ("POST", {"name": "abc"}, {"x": "1,2"})
    assert seen["contentType"] == "application/json"
    assert seen["json"] == {"a": [1, "ü"]}


@pytest.mark.parametrize("kind", ["html", "cookies", "repeated"])
def test_returned_http_response_is_answered_as_http_response_converter_encodes_it(local_host, kind):
    encoded = HttpResponseConverter.encode(_sample_module().sample_answer(kind), expected_type=None)
    assert encoded.type == "http"
    response = requests.get(f"{local_host.base_url}/sample/answers/{kind}", timeout=10)

    assert response.status_code == int(encoded.value["status_code"].value)
    assert response.content == encoded.value["body"].value
    for name, header in encoded.value["headers"].items():
        # One value per name, as the converter passes them on (a repeated X-Repeated keeps its last value).
        assert response.headers[name] == header.value, name
    cookies_sent = [morsel.OutputString() for cookie in encoded.value["cookies"] or () for morsel in cookie.values()]
    cookies_received = response.raw.headers.getlist("Set-Cookie")
    assert [SimpleCookie(text).output() for text in cookies_received] == [
        SimpleCookie(text).output() for text in cookies_sent
    ]
    if kind == "html":
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"  # the converter adds the charset
    if kind == "repeated":
        assert response.headers["X-Repeated"] == "second"
        assert len(cookies_received) == 2


def test_returned_str_none_and_unencodable_values_are_answered_200_204_and_500(local_host, caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    encoded = HttpResponseConverter.encode(_sample_module().sample_answer("text"), expected_type=None)
    assert (encoded.type, encoded.value) == ("string", "plain text result")
    text = requests.get(f"{local_host.base_url}/sample/answers/text", timeout=10)
    assert (text.status_code, text.text) == (200, encoded.value)
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"

    nothing = requests.get(f"{local_host.base_url}/sample/answers/none", timeout=10)
    assert (nothing.status_code, nothing.content) == (204, b"")

    # HttpResponseConverter cannot encode a dict: the invocation fails, as in the worker, and is a bare 500.
    with pytest.raises(NotImplementedError):
        HttpResponseConverter.encode({"not": "an HttpResponse"}, expected_type=None)
    unencodable = requests.get(f"{local_host.base_url}/sample/answers/dict", timeout=10)
    assert (unencodable.status_code, unencodable.content) == (500, b"")
    failure = next(
        r for r in caplog.records if "Exception while executing function: Functions.answers" in r.getMessage()
    )
    assert failure.exc_info is not None and "HttpResponseConverter cannot encode it" in str(failure.exc_info[1])
    assert _eventually_logged(
        caplog, lambda message: "Executed 'Functions.answers' (Failed" in message and "/answers/dict -> 500" in message
    )


def test_queue_message_is_built_by_azure_functions_queue_message_in_converter(local_host, azurite, queue_names):
    key = uuid.uuid4().hex
    _, sent = send_encoded(azurite.connection_string, queue_names["SAMPLE_SLOW_QUEUE"], {"key": key, "seconds": 0})
    seen = wait_for(
        lambda: (
            [o for o in observations(local_host, key) if o["outcome"] == "finished"] and observations(local_host, key)
        ),
        "the slow worker to run",
    )[0]
    assert seen["messageType"] == _type_name(ConverterQueueMessage) == "azure.functions.queue.QueueMessage"
    assert seen["bodyType"] == "builtins.bytes"
    assert seen["json"] == {"key": key, "seconds": 0}
    assert seen["messageId"] == sent.id
    assert seen["dequeueCount"] == 1
    assert seen["popReceipt"]
    # The converter parses the times into aware UTC datetimes.
    inserted = datetime.datetime.fromisoformat(seen["insertedAt"])
    expires = datetime.datetime.fromisoformat(seen["expiresAt"])
    next_visible = datetime.datetime.fromisoformat(seen["nextVisibleAt"])
    assert inserted.utcoffset() == expires.utcoffset() == next_visible.utcoffset() == datetime.timedelta(0)
    assert inserted == sent.inserted_on and expires == sent.expires_on
    # Received hidden for the in-flight window, counted from about the time it was received.
    assert inserted < next_visible <= inserted + datetime.timedelta(seconds=TEST_IN_FLIGHT_SECONDS + 5)


def test_message_being_processed_stays_invisible_past_its_window_because_it_is_renewed(
    local_host, azurite, queue_names, caplog
):
    caplog.set_level(logging.DEBUG, logger="devhost.queue")
    queue_name = queue_names["SAMPLE_SLOW_QUEUE"]
    client = QueueClient.from_connection_string(azurite.connection_string, queue_name)
    key = uuid.uuid4().hex
    run_seconds = 3 * TEST_IN_FLIGHT_SECONDS
    send_encoded(azurite.connection_string, queue_name, {"key": key, "seconds": run_seconds})
    wait_for(lambda: observations(local_host, key), "the slow worker to start")
    peeks = 0
    while not [o for o in observations(local_host, key) if o["outcome"] == "finished"]:
        # Visible again would mean a second delivery; it stays hidden three windows long.
        assert [m for m in client.peek_messages(max_messages=32)] == []
        peeks += 1
        time.sleep(0.2)
    assert peeks >= 10
    assert [o["outcome"] for o in observations(local_host, key)] == ["started", "finished"]
    renewals = [
        r.getMessage()
        for r in caplog.records
        if "invisible for" in r.getMessage() and f"queue {queue_name} " in r.getMessage()
    ]
    assert len(renewals) >= 2, renewals
    wait_for(lambda: client.get_queue_properties().approximate_message_count == 0, "the message to be deleted")


def test_queues_exist_and_take_a_message_as_soon_as_start_returns(azurite, monkeypatch):
    suffix = uuid.uuid4().hex[:10]
    names = {
        "SAMPLE_FLAKY_QUEUE": f"fresh-flaky-{suffix}",
        "SAMPLE_POISON_QUEUE": f"fresh-doomed-{suffix}",
        "SAMPLE_SLOW_QUEUE": f"fresh-slow-{suffix}",
    }
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    with LocalHost(SAMPLE_DIR, port=0) as host:
        # No create_queue here: a send right after start() must find the queues the host serves.
        key = uuid.uuid4().hex
        send_encoded(azurite.connection_string, names["SAMPLE_SLOW_QUEUE"], {"key": key, "seconds": 0})
        for queue_name in names.values():
            QueueClient.from_connection_string(azurite.connection_string, queue_name).get_queue_properties()
        wait_for(lambda: [o for o in observations(host, key) if o["outcome"] == "finished"], "the message to run")


def test_functions_disabled_by_their_app_setting_are_neither_routed_nor_polled(azurite, monkeypatch):
    # AzureWebJobs.<FUNCTION_NAME>.Disabled=true, as the Functions host reads it (devhost/config.py is_disabled):
    # how the push benchmark runs the HTTP functions and the queue trigger in processes of their own.
    suffix = uuid.uuid4().hex[:10]
    names = {
        "SAMPLE_FLAKY_QUEUE": f"off-flaky-{suffix}",
        "SAMPLE_POISON_QUEUE": f"off-doomed-{suffix}",
        "SAMPLE_SLOW_QUEUE": f"off-slow-{suffix}",
    }
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AzureWebJobs.Boom.Disabled", "True")
    monkeypatch.setenv("AzureWebJobs.slow_worker.Disabled", "true")
    monkeypatch.setenv("AzureWebJobs.flaky_worker.Disabled", "false")
    with LocalHost(SAMPLE_DIR, port=0) as host:
        assert {spec.name for spec in host.disabled} == {"Boom", "slow_worker"}
        assert requests.post(f"{host.base_url}/sample/boom", timeout=10).status_code == 404
        assert requests.get(f"{host.base_url}/sample/items/7", timeout=10).text == "item 7"
        assert {listener.target.queue_name for listener in host.queue_listeners} == {
            names["SAMPLE_FLAKY_QUEUE"],
            names["SAMPLE_POISON_QUEUE"],
        }
        key = uuid.uuid4().hex
        send_encoded(azurite.connection_string, names["SAMPLE_FLAKY_QUEUE"], {"key": key})
        wait_for(lambda: [o for o in observations(host, key) if o["outcome"] == "succeeded"], "the enabled trigger")


def test_in_flight_window_defaults_to_half_a_minute_not_the_hosts_ten_minutes():
    assert IN_FLIGHT_VISIBILITY_SECONDS == 30
    assert LocalHost(SAMPLE_DIR).in_flight_visibility_seconds == IN_FLIGHT_VISIBILITY_SECONDS


# --- the command line ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_command_line_serves_prints_the_banner_and_exits_cleanly_on_sigint(azurite, queue_names, tmp_path):
    port = _free_port()
    environment = {
        **os.environ,
        **queue_names,
        "AzureWebJobsStorage": azurite.connection_string,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    log_path = tmp_path / "devhost.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--app-dir", str(SAMPLE_DIR), "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: "listening on" in log_path.read_text() or process.poll() is not None, "the banner")
            response = requests.get(f"http://127.0.0.1:{port}/sample/items/3", timeout=10)
            assert response.text == "item 3"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=WAIT_SECONDS) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert f"customer: [GET,PUT] http://localhost:{port}/sample/customers/{{accountId}}" in output
    assert "housekeeping: timerTrigger (not served by the local host)" in output
    assert "Executed 'Functions.item_by_id' (Succeeded" in output
    assert "Local host stopped" in output


def test_message_of_a_killed_host_is_visible_again_within_the_in_flight_window(azurite, tmp_path):
    window = 3
    suffix = uuid.uuid4().hex[:10]
    names = {
        "SAMPLE_FLAKY_QUEUE": f"kill-flaky-{suffix}",
        "SAMPLE_POISON_QUEUE": f"kill-doomed-{suffix}",
        "SAMPLE_SLOW_QUEUE": f"kill-slow-{suffix}",
    }
    port = _free_port()
    environment = {
        **os.environ,
        **names,
        "AzureWebJobsStorage": azurite.connection_string,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    log_path = tmp_path / "devhost.log"
    client = QueueClient.from_connection_string(azurite.connection_string, names["SAMPLE_SLOW_QUEUE"])
    key = uuid.uuid4().hex
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--app-dir",
                str(SAMPLE_DIR),
                "--port",
                str(port),
                "--in-flight-visibility",
                str(window),
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: "listening on" in log_path.read_text() or process.poll() is not None, "the banner")
            assert process.poll() is None, log_path.read_text()
            _, sent = send_encoded(azurite.connection_string, names["SAMPLE_SLOW_QUEUE"], {"key": key, "seconds": 600})
            base_url = f"http://127.0.0.1:{port}"
            wait_for(
                lambda: requests.get(f"{base_url}/sample/observations/{key}", timeout=10).json(),
                "the slow worker to start",
            )
            # Twice the window: still hidden, because the running host renews it.
            time.sleep(2 * window)
            assert client.peek_messages(max_messages=32) == []
        finally:
            process.kill()  # SIGKILL: no shutdown, no settling; the host is gone mid-run
            killed_at = time.monotonic()
            process.wait()

    def received_again() -> Any:
        return next(iter(client.receive_messages(max_messages=1, visibility_timeout=60)), None)

    message = wait_for(received_again, "the killed host's message to be visible again")
    back_after = time.monotonic() - killed_at
    assert message.id == sent.id
    assert message.dequeue_count == 2  # taken once by the killed host, now by this test
    # Visible again at most one window after the last renewal (half a window before the kill at most);
    # one more second for the storage clock's whole seconds and this poll.
    assert back_after <= window + 1.5, back_after
    assert "in flight hidden 3 s and renewed" in log_path.read_text()
    client.delete_message(message)
