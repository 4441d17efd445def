"""The local Functions host (devhost) serving tests/devhost_sample over real HTTP and real Azurite queues."""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from devhost import LocalHost, RouteTemplate, read_host_config
from devhost.config import HostConfigError, parse_timespan, read_queue_options
from devhost.queue_listener import decode_body

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "devhost_sample"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 20.0


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    """Polls until condition() is truthy; the deadline only bounds a broken run, it is not what we assert."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


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
    ordered = sorted(["api/items/{*rest}", "api/items/{id}", "api/items/{id:int}", "api/items/new"],
                     key=lambda template: RouteTemplate(template).precedence)
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
    return {"SAMPLE_FLAKY_QUEUE": f"flaky-{suffix}", "SAMPLE_POISON_QUEUE": f"doomed-{suffix}"}


@pytest.fixture(scope="module")
def local_host(azurite, queue_names) -> Iterator[LocalHost]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AzureWebJobsStorage", azurite.connection_string)
        for name, value in queue_names.items():
            patch.setenv(name, value)
        host = LocalHost(SAMPLE_DIR, port=0).start()
        try:
            yield host
        finally:
            host.stop()


@pytest.fixture
def send(azurite, queue_names) -> Callable[[str, dict[str, Any]], str]:
    """Sends a base64-encoded JSON message, as QueueClient with TextBase64EncodePolicy and the host expect."""

    def send_message(setting: str, payload: dict[str, Any]) -> str:
        client = QueueClient.from_connection_string(azurite.connection_string, queue_names[setting])
        encoded = base64.b64encode(json.dumps(payload).encode()).decode()
        client.send_message(encoded)
        return encoded

    return send_message


def observations(local_host: LocalHost, key: str) -> list[dict[str, Any]]:
    response = requests.get(f"{local_host.base_url}/sample/observations/{key}", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_route_params_query_headers_and_body_round_trip(local_host):
    response = requests.put(
        f"{local_host.base_url}/sample/customers/001XYZ?status=201&tag=a&tag=b",
        headers={"X-Echo": "hello"}, data=b'{"x": 1}', timeout=10,
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


def test_unhandled_exception_is_a_500_with_the_traceback_in_the_log(local_host, caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    response = requests.post(f"{local_host.base_url}/sample/boom", timeout=10)
    assert response.status_code == 500
    assert response.content == b""
    failure = next(r for r in caplog.records if "Exception while executing function: Functions.Boom" in r.getMessage())
    assert failure.exc_info is not None and "sample failure" in str(failure.exc_info[1])
    assert any("Executed 'Functions.Boom' (Failed" in r.getMessage() and "-> 500" in r.getMessage()
               for r in caplog.records)


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
    seen = wait_for(lambda: [o for o in observations(local_host, key) if o["outcome"] == "succeeded"] and
                    observations(local_host, key), "the flaky message to succeed")
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
        os.environ.get("SAMPLE_FLAKY_QUEUE"), os.environ.get("SAMPLE_POISON_QUEUE")}


# --- the command line ------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_command_line_serves_prints_the_banner_and_exits_cleanly_on_sigint(azurite, queue_names, tmp_path):
    port = _free_port()
    environment = {**os.environ, **queue_names, "AzureWebJobsStorage": azurite.connection_string,
                   "PYTHONPATH": str(PROJECT_ROOT)}
    log_path = tmp_path / "devhost.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--app-dir", str(SAMPLE_DIR), "--port", str(port)],
            cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
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
