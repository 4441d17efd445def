"""The local host under abuse: gzip bombs, lying Content-Length, stalled and surplus connections.

The host runs as a real process (`python -m devhost`, the defaults a laptop gets) so that its memory can
be read from /proc; the connection tests use an in-process host with small limits so they take a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest
import requests

from devhost import LocalHost
from devhost.http_server import MAX_REQUEST_BODY_BYTES, HttpLimits
from functions import _http
from shared.core.models import InvalidRequest
from tests.support.concurrency import run_together
from tests.support.network import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LIMIT = MAX_REQUEST_BODY_BYTES
START_SECONDS = 30.0

# An app with one echo route: what the host hands the function is what the test sees.
ECHO_APP = """
import hashlib
import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo", methods=["POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body()
    return func.HttpResponse(json.dumps({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}),
                             mimetype="application/json")
"""


@pytest.fixture(scope="module")
def echo_app(tmp_path_factory) -> Path:
    app_dir = tmp_path_factory.mktemp("echo_app")
    (app_dir / "function_app.py").write_text(ECHO_APP, encoding="utf-8")
    (app_dir / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    return app_dir


class HostProcess:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}/api/echo"

    def memory_kib(self, field: str) -> int:
        """VmRSS (now) or VmHWM (peak since start) of the host process, in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")


@pytest.fixture(scope="module")
def host_process(echo_app, tmp_path_factory) -> Iterator[HostProcess]:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the host's memory")
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "devhost.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "--app-dir", str(echo_app), "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    host = HostProcess(process, port)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, "the host exited while starting"
            try:
                if requests.post(host.url, data=b"{}", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the host did not answer"
            time.sleep(0.2)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def gzip_of_zeros(size: int) -> bytes:
    """`size` zero bytes gzip-compressed, made in 1 MB steps (the test never holds the expanded body)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


def _assert_body_error(response: requests.Response, status: int, error: str, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"accountId", "error", "message", "errors"}
    assert body["error"] == error and body["accountId"] is None
    [problem] = body["errors"]
    assert problem["field"] == "body"
    for fragment in fragments:
        assert fragment in problem["message"]
    return body


def _raw_exchange(port: int, request: bytes, read_timeout: float) -> tuple[bytes, float]:
    """Sends raw bytes, reads until the host closes; (what came back, seconds until the first byte)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as connection:
        started = time.monotonic()
        connection.sendall(request)
        first = connection.recv(65536)
        first_at = time.monotonic() - started
        received = first
        while True:
            try:
                chunk = connection.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
        return received, first_at


# --- body size --------------------------------------------------------------------------------------------------


def test_four_gzip_bombs_at_once_get_the_json_400_and_the_host_memory_stays_bounded(host_process):
    bomb = gzip_of_zeros(50 * 1024 * 1024)  # 50 MB of zeros in ~50 KB: under the limit on the wire
    assert len(bomb) < LIMIT
    peak_before = host_process.memory_kib("VmHWM")

    def send() -> requests.Response:
        return requests.post(
            host_process.url,
            data=bomb,
            timeout=30,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    started = time.monotonic()
    responses = run_together(*[send] * 4)
    assert time.monotonic() - started < 10
    for response in responses:
        _assert_body_error(response, 400, "invalid_request", f"is more than {LIMIT} bytes once decompressed (gzip)")

    grown_mib = (host_process.memory_kib("VmHWM") - peak_before) / 1024
    assert grown_mib < 20, f"the host's peak memory grew by {grown_mib:.0f} MiB"
    assert host_process.process.poll() is None


def test_a_gzip_body_without_content_length_is_capped_while_it_is_decompressed(host_process):
    bomb = gzip_of_zeros(20 * 1024 * 1024)

    def chunks() -> Iterator[bytes]:  # requests sends a generator with Transfer-Encoding: chunked
        for start in range(0, len(bomb), 4096):
            yield bomb[start : start + 4096]

    response = requests.post(
        host_process.url,
        data=chunks(),
        timeout=30,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    _assert_body_error(response, 400, "invalid_request", "once decompressed")


def test_a_gzip_body_within_the_limit_reaches_the_function_decompressed(host_process):
    payload = json.dumps({"accountId": "001Dn00000AbCdEIAV", "name": "x" * 20000}).encode()
    response = requests.post(
        host_process.url,
        data=zlib.compress(payload, wbits=16 + zlib.MAX_WBITS),
        timeout=10,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["length"] == len(payload)

    broken = requests.post(
        host_process.url,
        data=b"\x1f\x8b not gzip at all",
        timeout=10,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "body"


def test_a_body_arriving_in_pieces_reaches_the_function_whole(host_process):
    """What has arrived is taken at once and the rest waited for: pieces of a body sent apart (each
    within the read timeout) all reach the function, in order."""
    body = json.dumps({"accountId": "001Dn00000AbCdEIAV", "name": "y" * 3000}).encode()
    head = (
        b"POST /api/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", host_process.port), timeout=10) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(head + body[:10])
        for start in range(10, len(body), 1000):
            time.sleep(0.05)
            connection.sendall(body[start : start + 1000])
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer
    echoed = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert echoed == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read(host_process):
    head = (
        f"POST /api/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
    ).encode()
    answer, first_byte_after = _raw_exchange(host_process.port, head + b'{"name": "', read_timeout=10)
    assert first_byte_after < 2
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["errors"] == [{"field": "body", "message": f"is {200 * 1024 * 1024} bytes; the limit is {LIMIT} bytes"}]


def test_the_hosts_body_limit_is_the_apps_and_its_answer_is_the_functions_own_400(host_process):
    assert MAX_REQUEST_BODY_BYTES == _http.MAX_BODY_BYTES
    body = b'{"name": "' + b"a" * LIMIT + b'"}'
    from_host = requests.post(host_process.url, data=body, headers={"Content-Type": "application/json"}, timeout=10)

    request = func.HttpRequest(
        "POST", "http://localhost/api/customers", headers={"Content-Type": "application/json"}, body=body
    )
    with pytest.raises(InvalidRequest) as raised:
        _http.read_json_object(request)
    from_function = _http.bad_request(raised.value)

    assert from_host.status_code == from_function.status_code == 400
    assert from_host.json() == json.loads(from_function.get_body())


# --- slow and stalled clients -----------------------------------------------------------------------------------


def test_a_content_length_larger_than_the_body_gets_a_timeout_answer_within_seconds(host_process):
    head = (
        b"POST /api/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    answer, first_byte_after = _raw_exchange(host_process.port, head + b'{"accountId": ', read_timeout=20)
    closed_after = time.monotonic() - started
    assert first_byte_after < 8, "the default read timeout is 5 s"
    assert closed_after < 12, "the host closes the connection instead of waiting for the rest"
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"] == "request_timeout"
    assert body["errors"][0]["field"] == "body" and "stalled" in body["errors"][0]["message"]


def test_hundreds_of_stalled_connections_cost_the_default_host_its_bound_and_no_more(host_process):
    bound = HttpLimits().max_connections
    address = ("127.0.0.1", host_process.port)
    connections = [socket.create_connection(address) for _ in range(bound + 50)]
    try:
        time.sleep(0.5)
        # The ones over the bound are answered 503 and closed within about a second; the others wait.
        answered: dict[socket.socket, bytes] = {}
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            readable, _, _ = select.select([c for c in connections if c not in answered], [], [], 0.2)
            for connection in readable:
                answered[connection] = connection.recv(4096)
        refused = sum(answer.startswith(b"HTTP/1.1 503") for answer in answered.values())
        # The others are still open, waiting for their request (a connection of an earlier test may still
        # be closing and count against the bound).
        assert refused == len(answered)
        assert 50 <= refused <= 55
    finally:
        for connection in connections:
            connection.close()
    time.sleep(0.3)
    assert requests.post(host_process.url, data=b"{}", timeout=5).status_code == 200


@pytest.fixture
def strict_host(echo_app) -> Iterator[LocalHost]:
    limits = HttpLimits(
        max_connections=10, idle_timeout_seconds=1.0, body_read_timeout_seconds=0.5, body_total_timeout_seconds=1.5
    )
    with LocalHost(echo_app, port=0, http_limits=limits) as host:
        yield host


def _is_closed_by_host(connection: socket.socket, within: float) -> bool:
    connection.settimeout(within)
    try:
        return connection.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connections_over_the_bound_get_503_and_stalled_ones_are_closed(strict_host):
    address = ("127.0.0.1", strict_host.port)
    stalled = [socket.create_connection(address) for _ in range(10)]
    try:
        time.sleep(0.2)  # accepted and counted
        with socket.create_connection(address, timeout=5) as surplus:
            surplus.sendall(b"GET /api/echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = surplus.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable")
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"] == "unavailable"

        # Connections that never send a request are closed after the idle timeout, freeing the places.
        assert all(_is_closed_by_host(connection, within=3.0) for connection in stalled)
    finally:
        for connection in stalled:
            connection.close()
    time.sleep(0.2)
    response = requests.post(f"{strict_host.base_url}/api/echo", data=b"{}", timeout=5)
    assert response.status_code == 200


def test_a_request_head_sent_one_byte_at_a_time_is_cut_off_at_the_idle_timeout(strict_host):
    head = b"POST /api/echo HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", strict_host.port), timeout=5) as connection:
        started = time.monotonic()
        cut_off = False
        for byte in head:
            try:
                connection.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
                break
            time.sleep(0.02)
            if time.monotonic() - started > 4:
                break
        assert cut_off or _is_closed_by_host(connection, within=1.0)
        assert time.monotonic() - started < 4


def test_a_body_trickled_slower_than_the_total_bound_gets_the_timeout_answer(strict_host):
    head = (
        b"POST /api/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", strict_host.port), timeout=5) as connection:
        connection.sendall(head)
        started = time.monotonic()
        answer = b""
        connection.settimeout(0.3)
        while time.monotonic() - started < 4 and not answer:
            try:
                connection.sendall(b" ")  # each read brings data, so only the total bound can stop it
                answer = connection.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer
        assert "did not arrive within 1.5 s" in json.loads(answer.partition(b"\r\n\r\n")[2])["errors"][0]["message"]
