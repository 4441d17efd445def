"""The relay double held to Microsoft's listener: npm hyco-https (pinned in devtools/hyco.py) listens on
the double, and requests sent to the double come back through it: small bodies on the control
channel, bodies over 64 kB through the rendezvous socket both ways, token renewal, round robin over
two listeners. Plus what the double answers on its own (no token, no listener, a slow listener)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import requests

from devtools.hyco import HycoError, install_hyco_https, write_listener_script
from devtools.relay_double import RelayDouble, RelayDoubleThread, sas_token

KEYS = {"RootManageSharedAccessKey": "double-key-for-tests"}


@pytest.fixture(scope="module")
def hyco_package() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the hyco-https listener needs Node.js 20")
    try:
        return install_hyco_https()
    except HycoError as error:
        pytest.skip(f"npm could not install hyco-https: {error}")


@pytest.fixture
def relay() -> Iterator[RelayDoubleThread]:
    runner = RelayDoubleThread(KEYS, response_timeout_seconds=5.0)
    with runner:
        yield runner


def token(double: RelayDouble, key: str = KEYS["RootManageSharedAccessKey"]) -> str:
    return sas_token(f"https://{double.namespace}/sap", "RootManageSharedAccessKey", key)


@pytest.fixture
def start_hyco(
    relay: RelayDoubleThread, hyco_package: Path, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen]]:
    script = write_listener_script(tmp_path)
    processes: list[subprocess.Popen] = []

    def start(name: str = "one", renew_ms: int | None = None) -> subprocess.Popen:
        double = relay.double
        env = {**os.environ, "HYCO": str(hyco_package)}
        if renew_ms:
            env["RENEW_MS"] = str(renew_ms)
        before = double.listener_count()
        process = subprocess.Popen(
            [
                "node",
                str(script),
                double.listen_url(),
                f"https://{double.namespace}/sap",
                "RootManageSharedAccessKey",
                KEYS["RootManageSharedAccessKey"],
                name,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        relay.call(double.wait_for_listeners(before + 1, timeout=15))
        return process

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def send(double: RelayDouble, path: str, **kwargs) -> requests.Response:
    headers = {"ServiceBusAuthorization": token(double), **kwargs.pop("headers", {})}
    return requests.request(
        kwargs.pop("method", "POST"), f"{double.base_url}/sap{path}", headers=headers, timeout=15, **kwargs
    )


def test_a_small_body_travels_on_the_control_channel(relay, start_hyco):
    start_hyco()
    body = b'{"hello": "relay"}'
    answer = send(
        relay.double, "/v1/echo?x=1", data=body, headers={"X-Test": "yes", "Authorization": "Bearer end-to-end"}
    )
    assert answer.status_code == 201 and answer.reason == "Made"
    echoed = answer.json()
    assert echoed["method"] == "POST" and echoed["url"] == "/v1/echo?x=1"
    assert echoed["length"] == len(body) and echoed["sha256"] == hashlib.sha256(body).hexdigest()
    # the relay's own token is not passed on; the end-to-end Authorization is
    assert echoed["test"] == "yes" and echoed["authorization"] == "Bearer end-to-end"
    assert relay.double.stats.rendezvous_requests == 0 and relay.double.stats.violations == []


def test_bodies_over_64_kb_go_through_the_rendezvous_both_ways(relay, start_hyco):
    start_hyco()
    big = os.urandom(200_000)
    answer = send(relay.double, "/v1/echo", data=big)
    assert answer.status_code == 201 and answer.json()["sha256"] == hashlib.sha256(big).hexdigest()
    assert relay.double.stats.rendezvous_requests == 1

    answer = send(relay.double, "/v1/big?size=150000", method="GET")
    assert answer.status_code == 200 and len(answer.content) == 150_000
    assert hashlib.sha256(answer.content).hexdigest() == answer.headers["x-sha256"]
    # one answer on the big request's rendezvous, one on the rendezvous the listener opened for its big answer
    assert relay.double.stats.rendezvous_responses == 2 and relay.double.stats.violations == []


def test_the_listener_renews_its_token_on_the_control_channel(relay, start_hyco):
    start_hyco(renew_ms=200)
    deadline = time.monotonic() + 10
    while len(relay.double.stats.renewals) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(relay.double.stats.renewals) >= 2 and relay.double.stats.violations == []
    assert relay.double.listener_count() == 1
    assert send(relay.double, "/v1/echo", data=b"after renewal").status_code == 201


def test_requests_are_spread_over_the_listeners(relay, start_hyco):
    start_hyco("one")
    start_hyco("two")
    seen = {send(relay.double, "/v1/echo", data=b"x").json()["listener"] for _ in range(4)}
    assert seen == {"one", "two"}


def test_without_a_valid_token_the_sender_gets_401(relay, start_hyco):
    start_hyco()
    double = relay.double
    assert requests.post(f"{double.base_url}/sap/v1/echo", data=b"x", timeout=5).status_code == 401
    wrong = sas_token(f"https://{double.namespace}/sap", "RootManageSharedAccessKey", "another key")
    assert (
        requests.post(
            f"{double.base_url}/sap/v1/echo", headers={"ServiceBusAuthorization": wrong}, timeout=5
        ).status_code
        == 401
    )
    expired = sas_token(
        f"https://{double.namespace}/sap",
        "RootManageSharedAccessKey",
        KEYS["RootManageSharedAccessKey"],
        expires_in_seconds=-10,
    )
    assert (
        requests.post(
            f"{double.base_url}/sap/v1/echo", headers={"ServiceBusAuthorization": expired}, timeout=5
        ).status_code
        == 401
    )


def test_without_a_listener_the_sender_gets_502_and_when_unavailable_503(relay):
    assert send(relay.double, "/v1/echo", data=b"x").status_code == 502
    relay.double.unavailable = True
    assert send(relay.double, "/v1/echo", data=b"x").status_code == 503


def test_a_listener_with_a_wrong_key_is_refused_at_the_handshake(relay):
    async def listen() -> int:
        bad = sas_token(f"https://{relay.double.namespace}/sap", "RootManageSharedAccessKey", "wrong")
        async with aiohttp.ClientSession() as session:
            try:
                await session.ws_connect(relay.double.listen_url(), headers={"ServiceBusAuthorization": bad})
            except aiohttp.WSServerHandshakeError as error:
                return error.status
        return 101

    assert asyncio.run(listen()) == 401


def test_a_listener_too_slow_is_a_504_and_one_that_vanishes_too(relay):
    double = relay.double
    received = threading.Event()

    async def silent_listener(close_after_request: bool) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(double.listen_url(), headers={"ServiceBusAuthorization": token(double)}) as ws,
        ):
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT and "request" in json.loads(message.data):
                    received.set()
                    if close_after_request:
                        await ws.close()
                        return

    double.response_timeout_seconds = 0.5
    task = asyncio.run_coroutine_threadsafe(silent_listener(False), relay.loop)
    relay.call(double.wait_for_listeners(1))
    started = time.monotonic()
    assert send(double, "/v1/echo").status_code == 504 and received.is_set()
    assert time.monotonic() - started < 3
    task.cancel()

    double.response_timeout_seconds = 5
    relay.call(double.drop_listeners())
    received.clear()
    asyncio.run_coroutine_threadsafe(silent_listener(True), relay.loop)
    deadline = time.monotonic() + 5
    while double.listener_count() != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert send(double, "/v1/echo").status_code == 504 and received.is_set()


def test_the_constants_we_share_with_hyco_https_are_the_ones_in_its_source(hyco_package):
    import re

    from agent.listener import MAX_CONTROL_CHANNEL_BODY as AGENT_LIMIT
    from agent.listener import RECONNECT_DELAYS_SECONDS
    from devtools.relay_double import MAX_CONTROL_CHANNEL_BODY as DOUBLE_LIMIT

    server = (hyco_package / "lib" / "HybridConnectionHttpsServer.js").read_text()
    outgoing = (hyco_package / "lib" / "_hyco_outgoing.js").read_text()
    delays = re.search(r"reconnectDelays = \[([\d, ]+)\]", server)
    assert delays and tuple(float(d) for d in delays.group(1).split(",")) == RECONNECT_DELAYS_SECONDS
    assert "new moment.duration(1, 'hours')" in server  # renewal interval of a token function
    assert "'ServiceBusAuthorization': token" in server  # the listener's token header
    assert "maxControlChannelMessageSize = 64 * 1024" in outgoing
    assert AGENT_LIMIT == DOUBLE_LIMIT == 64 * 1024
