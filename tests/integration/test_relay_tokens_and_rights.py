"""The relay double takes the tokens Azure Relay takes and refuses the rest (issue 20, item 2): a SAS token
and a bare Entra token, never `Bearer <token>`; a rule or role gives Listen or Send, and the other action
is a 403. Microsoft's Node listener (hyco-https) listens with a bare Entra token as Microsoft's role-based
access sample hands it over; the function app's transport sends the bare token and reads 403 as a
configuration error and 429 as a throttle."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from azure.core.credentials import AccessToken

from devtools.hyco import HycoError, install_hyco_https, write_listener_script
from devtools.relay_double import RelayDouble, RelayDoubleThread, sas_token, unsigned_jwt
from shared.core.models import CustomerCreation
from shared.sap import SapConfigurationError, SapTransientError
from shared.sap.relay import RelaySapGateway

NAMESPACE = "relay-double.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
KEYS = {"RootManageSharedAccessKey": "root-key", "listen-only": "listen-key", "send-only": "send-key"}
RIGHTS = {"listen-only": {"Listen"}, "send-only": {"Send"}}
SENDER, LISTENER, OWNER = (unsigned_jwt({"oid": role}) for role in ("sender", "listener", "owner"))
ROLES = {SENDER: "Azure Relay Sender", LISTENER: "Azure Relay Listener", OWNER: "Azure Relay Owner"}


@pytest.fixture
def runner() -> Iterator[RelayDoubleThread]:
    runner = RelayDoubleThread(
        KEYS, namespace=NAMESPACE, rights=RIGHTS, entra_tokens=ROLES, response_timeout_seconds=5.0
    )
    with runner:
        yield runner


@pytest.fixture
def relay(runner: RelayDoubleThread) -> RelayDouble:
    return runner.double


@pytest.fixture(scope="module")
def hyco_package() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the hyco-https listener needs Node.js 20")
    try:
        return install_hyco_https()
    except HycoError as error:
        pytest.skip(f"npm could not install hyco-https: {error}")


def sas(key_name: str) -> str:
    return sas_token(URL.replace("https://", "http://"), key_name, KEYS[key_name])


def send(double: RelayDouble, token: str) -> requests.Response:
    return requests.post(
        f"{double.base_url}/sap/v1/ping", headers={"ServiceBusAuthorization": token}, data=b"", timeout=10
    )


def handshake_status(double: RelayDouble, token: str) -> int:
    """The status of a listener's control channel handshake with `token` (101 when it is accepted)."""

    async def listen() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(double.listen_url(), headers={"ServiceBusAuthorization": token}):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    return asyncio.run(listen())


def test_a_bearer_token_is_refused_with_401_and_the_same_token_bare_is_accepted(relay):
    # No listener: a token the relay accepts gets as far as "nobody listening" (502), one it refuses 401.
    assert send(relay, f"Bearer {SENDER}").status_code == 401
    assert send(relay, SENDER).status_code == 502
    assert send(relay, f"bearer {OWNER}").status_code == 401
    assert handshake_status(relay, f"Bearer {LISTENER}") == 401
    assert send(relay, unsigned_jwt()).status_code == 401  # a JWT the double was not told about
    assert send(relay, "not-a-token").status_code == 401


def test_a_sas_token_of_a_rule_with_the_right_is_accepted(relay):
    assert send(relay, sas("RootManageSharedAccessKey")).status_code == 502
    assert send(relay, sas("send-only")).status_code == 502
    assert handshake_status(relay, sas("listen-only")) == 101
    assert handshake_status(relay, sas("RootManageSharedAccessKey")) == 101


def test_a_listen_only_key_cannot_send_and_a_send_only_key_cannot_listen(relay):
    assert send(relay, sas("listen-only")).status_code == 403
    assert handshake_status(relay, sas("send-only")) == 403
    assert relay.stats.requests == 0 and relay.listener_count() == 0


def test_the_sender_role_cannot_listen_and_the_listener_role_cannot_send(relay):
    assert send(relay, LISTENER).status_code == 403
    assert handshake_status(relay, SENDER) == 403
    assert handshake_status(relay, LISTENER) == 101 and handshake_status(relay, OWNER) == 101


def test_microsofts_listener_with_a_bare_entra_token_serves_a_bare_entra_sender(runner, hyco_package, tmp_path):
    double = runner.double
    process = subprocess.Popen(
        ["node", str(write_listener_script(tmp_path)), double.listen_url(), URL, "unused", "unused", "entra"],
        env={**os.environ, "HYCO": str(hyco_package), "TOKEN": LISTENER},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        runner.call(double.wait_for_listeners(1, timeout=15))
        answer = requests.post(
            f"{double.base_url}/sap/v1/echo", data=b"hello", timeout=10, headers={"ServiceBusAuthorization": SENDER}
        )
        assert answer.status_code == 201 and answer.json()["listener"] == "entra"
        assert LISTENER in double.entra_seen and SENDER in double.entra_seen
        # The protocol guide: without ServiceBusAuthorization or sb-hc-token, `Authorization` is the relay's
        # token (as Microsoft's dotnet role-based sample sends it), evaluated and stripped.
        via_authorization = requests.post(
            f"{double.base_url}/sap/v1/echo", data=b"hello", timeout=10, headers={"Authorization": SENDER}
        )
        assert via_authorization.status_code == 201 and via_authorization.json()["authorization"] is None
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_transport_reads_403_as_the_rules_missing_right_and_sends_the_entra_token_bare(relay):
    listen_only = RelaySapGateway(URL, "listen-only", KEYS["listen-only"], base_url=relay.base_url)
    with pytest.raises(SapConfigurationError, match=r"Send right \(403\)"):
        listen_only.ping()

    class Credential:
        def __init__(self, token: str) -> None:
            self.token = token

        def get_token(self, *scopes: str, **options: object) -> AccessToken:
            return AccessToken(self.token, 2_000_000_000)

    with pytest.raises(SapConfigurationError, match=r"Azure Relay Sender role \(403\)"):
        RelaySapGateway(URL, credential=Credential(LISTENER), base_url=relay.base_url).ping()
    with pytest.raises(SapTransientError, match="no SAP agent listening"):  # accepted: nobody listens
        RelaySapGateway(URL, credential=Credential(SENDER), base_url=relay.base_url).ping()
    assert relay.entra_seen[-1] == SENDER  # bare: the double saw no "Bearer " in front


def test_a_429_is_a_throttle_with_its_retry_after_and_nothing_delivered(relay):
    relay.throttled = True
    relay.throttle_retry_after = "12"
    gateway = RelaySapGateway(URL, "send-only", KEYS["send-only"], base_url=relay.base_url)
    with pytest.raises(SapTransientError, match="429") as raised:
        gateway.ping()
    assert raised.value.retry_after_seconds == 12 and not raised.value.outcome_unknown
    with pytest.raises(SapTransientError) as create_raised:
        gateway.create_customer(CustomerCreation(account_id="001Dn00000AbCdEIAV", parameters={}))
    # a create the relay throttled was never delivered: transient, not "outcome unknown"
    assert not create_raised.value.outcome_unknown and not isinstance(create_raised.value, SapConfigurationError)
    assert relay.stats.requests == 0
