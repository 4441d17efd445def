"""The function app's own proof for the on-premise agent (issue 10, defence in depth): an HMAC-SHA256 with
a shared key over method, operation, timestamp and the body's SHA-256, in a header of its own; and the
settings that decide whether the agent demands it, and how the app sends (managed identity or SAS)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

import sap_simulator as simulator
from agent.__main__ import build_listener
from agent.api import AgentApi
from agent.listener import RelayRequest
from shared import bootstrap
from shared.sap.relay import (
    PROOF_HEADER,
    PROOF_WINDOW_SECONDS,
    RELAY_ENTRA_SCOPE,
    ProofError,
    RelaySapGateway,
    proof_header,
    retry_after_seconds,
    verify_proof,
)
from shared.settings import SettingsError, load_agent_proof_key, load_settings
from tests.support.sap import simulated_gateway

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 40
BODY = b'{"version": 1, "type": "create"}'
NOW = 1_800_000_000.0


def signed(
    body: bytes = BODY, key: bytes = KEY, method: str = "POST", path: str = "/v1/create", now: float = NOW
) -> str:
    return proof_header(key, method, path, body, now=now)


def test_a_signed_request_verifies():
    verify_proof(signed(), KEY, "POST", "/v1/create", BODY, now=NOW)
    verify_proof(signed(), KEY, "post", "/v1/create", BODY, now=NOW + PROOF_WINDOW_SECONDS)


def test_the_header_is_versioned_and_names_its_timestamp():
    assert signed().startswith(f"v1 t={int(NOW)},sig=")


@pytest.mark.parametrize(
    ("value", "method", "path", "body", "key", "now", "reason"),
    [
        (None, "POST", "/v1/create", BODY, KEY, NOW, "no X-Sap-Sync-Proof"),
        ("", "POST", "/v1/create", BODY, KEY, NOW, "no X-Sap-Sync-Proof"),
        (signed(), "POST", "/v1/create", BODY.replace(b"1", b"2"), KEY, NOW, "wrong signature"),  # tampered body
        (signed(), "POST", "/v1/create", BODY, b"x" * 40, NOW, "wrong signature"),  # wrong key
        (signed(), "GET", "/v1/create", BODY, KEY, NOW, "wrong signature"),  # another method
        (signed(), "POST", "/v1/ping", BODY, KEY, NOW, "wrong signature"),  # another operation
        (signed(), "POST", "/v1/create", BODY, KEY, NOW + PROOF_WINDOW_SECONDS + 1, "more than 300 s off"),  # stale
        (signed(), "POST", "/v1/create", BODY, KEY, NOW - PROOF_WINDOW_SECONDS - 1, "more than 300 s off"),  # future
        ("v1 sig=abc", "POST", "/v1/create", BODY, KEY, NOW, "is not"),
        ("v2 t=1,sig=abc", "POST", "/v1/create", BODY, KEY, NOW, "is not"),
        ("v1 t=soon,sig=abc", "POST", "/v1/create", BODY, KEY, NOW, "not a whole number"),
    ],
)
def test_a_missing_tampered_wrongly_keyed_or_stale_proof_is_refused(value, method, path, body, key, now, reason):
    with pytest.raises(ProofError, match=reason):
        verify_proof(value, key, method, path, body, now=now)


def test_a_timestamp_moved_into_the_window_breaks_the_signature():
    stale = signed(now=NOW - 3600)
    moved = stale.replace(f"t={int(NOW - 3600)}", f"t={int(NOW)}")
    with pytest.raises(ProofError, match="wrong signature"):
        verify_proof(moved, KEY, "POST", "/v1/create", BODY, now=NOW)


def test_verification_compares_in_constant_time(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    verify_proof(signed(), KEY, "POST", "/v1/create", BODY, now=NOW)
    assert calls


# ---------------------------------------------------------------------- the agent's API


@pytest.fixture
def system():
    with simulator.use_system(simulator.SimulatedSap()) as fresh:
        yield fresh


def serve(api: AgentApi, request: RelayRequest):
    return asyncio.run(api(request))


def test_the_agent_refuses_without_proof_with_a_configuration_wire_error_and_sap_sees_nothing(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    for headers in ({}, {PROOF_HEADER: proof_header(b"y" * 40, "POST", "/v1/ping", b"")}):
        response = serve(api, RelayRequest("POST", "/v1/ping", headers, b""))
        assert response.status == 401
        answer = json.loads(response.body)
        assert answer["type"] == "error" and answer["error"] == "misconfigured"
    assert system.created_customers() == []


def test_the_agent_serves_a_request_with_proof_whatever_the_header_case_and_prefix():
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    headers = {PROOF_HEADER.lower(): proof_header(KEY, "POST", "/v1/ping", b"")}
    assert serve(api, RelayRequest("POST", "/sap/v1/ping", headers, b"")).status == 204


def test_the_allow_list_and_the_size_limit_still_come_first():
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    assert serve(api, RelayRequest("POST", "/v1/rfc", {}, b"")).status == 404
    assert serve(api, RelayRequest("GET", "/v1/create", {}, b"")).status == 405
    assert serve(api, RelayRequest("POST", "/v1/create", {}, b"x" * (256 * 1024 + 1))).status == 413


# ---------------------------------------------------------------------- settings


AGENT = {"AGENT_RELAY_URL": "https://ns.example/sap", "AGENT_RELAY_KEY_NAME": "listen", "AGENT_RELAY_KEY": "key"}


def test_the_agent_in_front_of_real_sap_refuses_to_start_without_a_proof_key():
    with pytest.raises(SettingsError, match="AGENT_PROOF_KEY"):
        load_agent_proof_key({"SAP_TRANSPORT": "rfc"})
    with pytest.raises(SettingsError, match="AGENT_PROOF_KEY"):
        build_listener({**AGENT, "SAP_TRANSPORT": "rfc"})
    with pytest.raises(SettingsError, match="AGENT_PROOF_KEY"):
        load_agent_proof_key({"SAP_TRANSPORT": "simulator", "AGENT_PROOF": "on"})


def test_the_proof_is_off_only_when_said_so_or_with_the_simulator_without_a_key():
    assert load_agent_proof_key({"SAP_TRANSPORT": "rfc", "AGENT_PROOF": "off", "AGENT_PROOF_KEY": "k" * 40}) is None
    assert load_agent_proof_key({"SAP_TRANSPORT": "simulator"}) is None
    assert load_agent_proof_key({"SAP_TRANSPORT": "simulator", "AGENT_PROOF_KEY": "k" * 40}) == "k" * 40
    assert load_agent_proof_key({"SAP_TRANSPORT": "rfc", "AGENT_PROOF_KEY": "k" * 40}) == "k" * 40
    with pytest.raises(SettingsError, match="AGENT_PROOF: on or off"):
        load_agent_proof_key({"AGENT_PROOF": "maybe"})


def test_a_short_proof_key_is_refused_on_both_sides():
    with pytest.raises(SettingsError, match="AGENT_PROOF_KEY: at least 32"):
        load_agent_proof_key({"SAP_TRANSPORT": "rfc", "AGENT_PROOF_KEY": "short"})
    with pytest.raises(SettingsError, match="SAP_AGENT_PROOF_KEY: at least 32"):
        load_settings(
            {"SAP_TRANSPORT": "relay", "SAP_RELAY_URL": "https://ns.example/sap", "SAP_AGENT_PROOF_KEY": "short"}
        )


def test_the_agent_built_from_settings_checks_the_proof():
    listener = build_listener({**AGENT, "SAP_TRANSPORT": "simulator", "AGENT_PROOF_KEY": "k" * 40})
    assert listener.handler.proof_key == b"k" * 40


def test_the_app_sends_with_the_managed_identity_when_no_sas_key_is_set():
    config = load_settings(
        {
            "SAP_TRANSPORT": "relay",
            "SAP_RELAY_URL": "https://ns.example/sap",
            "AZURE_CLIENT_ID": "0000-user-assigned",
            "SAP_AGENT_PROOF_KEY": "k" * 40,
        }
    )
    gateway = bootstrap.build_sap_gateway(config)
    assert isinstance(gateway, RelaySapGateway) and gateway.uses_managed_identity
    assert isinstance(gateway._credential, bootstrap.ManagedIdentity)
    assert gateway._credential.client_id == "0000-user-assigned"
    assert gateway._proof_key == b"k" * 40


def test_the_sas_key_stays_the_alternative_and_one_half_of_it_is_a_mistake():
    base = {"SAP_TRANSPORT": "relay", "SAP_RELAY_URL": "https://ns.example/sap"}
    gateway = bootstrap.build_sap_gateway(load_settings({**base, "SAP_RELAY_KEY_NAME": "send", "SAP_RELAY_KEY": "k"}))
    assert not gateway.uses_managed_identity
    with pytest.raises(SettingsError, match="SAP_RELAY_KEY:"):
        load_settings({**base, "SAP_RELAY_KEY_NAME": "send"})
    with pytest.raises(SettingsError, match="SAP_RELAY_KEY_NAME:"):
        load_settings({**base, "SAP_RELAY_KEY": "k"})


class FakeCredential:
    def __init__(self, lifetime: float = 3600) -> None:
        self.scopes: list[tuple[str, ...]] = []
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **options: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(f"token-{len(self.scopes)}", int(time.time() + self.lifetime))


def test_the_entra_token_is_for_the_relay_scope_and_cached_until_shortly_before_expiry():
    assert RELAY_ENTRA_SCOPE == "https://relay.azure.net//.default"
    credential = FakeCredential()
    gateway = RelaySapGateway("https://ns.example/sap", credential=credential)
    assert gateway._relay_token() == "token-1"  # bare, as Microsoft's clients send it (no "Bearer ")
    assert gateway._relay_token() == "token-1"
    assert credential.scopes == [("https://relay.azure.net//.default",)]
    soon = FakeCredential(lifetime=120)  # inside the renewal margin: fetched again each time
    gateway = RelaySapGateway("https://ns.example/sap", credential=soon)
    gateway._relay_token()
    assert gateway._relay_token() == "token-2"


def test_importing_the_function_app_with_the_managed_identity_does_not_import_azure_identity():
    code = "import sys, function_app; print('azure.identity' in sys.modules)"
    env = {
        "PATH": "/usr/bin:/bin",
        "SAP_TRANSPORT": "relay",
        "SAP_RELAY_URL": "https://ns.example/sap",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "RETRY_QUEUE_NAME": "retry",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Thu, 01 Jan 1970 00:01:40 GMT", 60.0),  # an HTTP-date 60 s after "now" below
        ("Thu, 01 Jan 1970 00:00:10 GMT", 0.0),  # in the past: no wait, never negative
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_is_delay_seconds_or_an_http_date(value, expected):
    assert retry_after_seconds(value, now=40.0) == expected
