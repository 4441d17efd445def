"""Through the relay double: the agent serves only requests carrying the function app's proof (issue 10,
defence in depth), and the transport sends with an Entra token (the managed identity) in
`ServiceBusAuthorization` when no SAS key is configured."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.core.credentials import AccessToken

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import ListenerThread
from devtools.relay_double import RelayDoubleThread, unsigned_jwt
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request
from shared.sap import SapConfigurationError, SapTransientError
from shared.sap.relay import RelaySapGateway
from shared.settings import RelayListenerSettings, load_settings
from tests.support.samples import sample
from tests.support.sap import simulated_gateway

KEY_NAME, KEY = "RootManageSharedAccessKey", "relay-proof-test-key"
NAMESPACE = "relay-double.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
PROOF_KEY = "proof-key-" + "p" * 32
ENTRA_TOKEN = unsigned_jwt({"oid": "function-app-identity"})


@pytest.fixture
def system() -> Iterator[simulator.SimulatedSap]:
    with simulator.use_system(simulator.SimulatedSap()) as fresh:
        yield fresh


@pytest.fixture
def relay() -> Iterator[RelayDoubleThread]:
    runner = RelayDoubleThread(
        {KEY_NAME: KEY}, namespace=NAMESPACE, response_timeout_seconds=5.0, entra_tokens=ENTRA_TOKEN
    )
    with runner:
        yield runner


@pytest.fixture
def agent(relay: RelayDoubleThread, system: simulator.SimulatedSap) -> Iterator[RelayListener]:
    settings = RelayListenerSettings(URL, KEY_NAME, KEY, base_url=f"ws://{relay.double.host}:{relay.double.port}")
    thread = ListenerThread(
        lambda: RelayListener(settings, AgentApi(simulated_gateway(), path="sap", proof_key=PROOF_KEY))
    )
    with thread as listener:
        yield listener


def creation():
    request = parse_customer_request(sample("german-account"))
    lengths = simulated_gateway().check_interface().company_data_lengths
    return map_customer_request(request, load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization, lengths)


class FakeCredential:
    """azure-core's credential protocol: get_token(*scopes) -> AccessToken."""

    def __init__(self, token: str = ENTRA_TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **options: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time() + 3600))


def test_a_request_without_proof_is_refused_and_nothing_reaches_sap(relay, agent, system):
    gateway = RelaySapGateway(URL, KEY_NAME, KEY, base_url=relay.double.base_url, read_timeout_seconds=10)
    with pytest.raises(SapConfigurationError, match=r"SAP agent refused the request \(401\).*X-Sap-Sync-Proof"):
        gateway.create_customer(creation())
    with pytest.raises(SapConfigurationError, match="401"):
        gateway.ping()
    assert system.created_customers() == []


def test_a_request_signed_with_another_key_is_refused_and_nothing_reaches_sap(relay, agent, system):
    gateway = RelaySapGateway(
        URL, KEY_NAME, KEY, proof_key="another-" + "x" * 32, base_url=relay.double.base_url, read_timeout_seconds=10
    )
    with pytest.raises(SapConfigurationError, match="wrong signature"):
        gateway.create_customer(creation())
    assert system.created_customers() == []


def test_with_proof_the_customer_is_created(relay, agent, system):
    gateway = RelaySapGateway(
        URL, KEY_NAME, KEY, proof_key=PROOF_KEY, base_url=relay.double.base_url, read_timeout_seconds=10
    )
    gateway.ping()
    assert gateway.check_interface().company_data_lengths["NAME"] >= 35
    created = gateway.create_customer(creation())
    assert created.customer_number.isdigit()
    assert [c.number for c in system.created_customers()] == [created.customer_number]


def test_the_transport_sends_the_managed_identitys_entra_token_for_the_relay_scope(relay, agent, system):
    credential = FakeCredential()
    gateway = RelaySapGateway(
        URL, credential=credential, proof_key=PROOF_KEY, base_url=relay.double.base_url, read_timeout_seconds=10
    )
    created = gateway.create_customer(creation())
    gateway.ping()
    assert [c.number for c in system.created_customers()] == [created.customer_number]
    assert relay.double.entra_seen == [ENTRA_TOKEN, ENTRA_TOKEN]  # ServiceBusAuthorization: <token>, bare
    assert credential.scopes == [("https://relay.azure.net//.default",)]  # exactly, once: cached


def test_an_entra_token_the_relay_refuses_is_a_configuration_error(relay, agent, system):
    gateway = RelaySapGateway(
        URL,
        credential=FakeCredential(unsigned_jwt()),
        proof_key=PROOF_KEY,
        base_url=relay.double.base_url,
        read_timeout_seconds=10,
    )
    with pytest.raises(SapConfigurationError, match="managed identity's token"):
        gateway.create_customer(creation())
    assert system.created_customers() == []


def test_the_double_judges_entra_tokens_with_a_callable_and_refuses_them_unless_configured(system):
    seen: list[str] = []
    good, bad = unsigned_jwt({"oid": "ok-1"}), unsigned_jwt({"oid": "bad"})
    with RelayDoubleThread(
        {KEY_NAME: KEY}, namespace=NAMESPACE, entra_tokens=lambda token: seen.append(token) or token == good
    ) as double:
        ok = RelaySapGateway(URL, credential=FakeCredential(good), base_url=double.base_url)
        with pytest.raises(SapTransientError, match="no SAP agent listening"):  # past the token check: no listener
            ok.ping()
        refused = RelaySapGateway(URL, credential=FakeCredential(bad), base_url=double.base_url)
        with pytest.raises(SapConfigurationError):
            refused.ping()
        assert seen == [good, bad]
    with RelayDoubleThread({KEY_NAME: KEY}, namespace=NAMESPACE) as double, pytest.raises(SapConfigurationError):
        RelaySapGateway(URL, credential=FakeCredential(), base_url=double.base_url).ping()


def test_a_credential_without_an_identity_is_a_configuration_error_and_a_hiccup_transient(relay):
    class CredentialUnavailableError(Exception):  # azure-identity's name for "no managed identity here"
        pass

    class Broken:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def get_token(self, *scopes: str, **options: object) -> AccessToken:
            raise self.error

    missing = RelaySapGateway(
        URL, credential=Broken(CredentialUnavailableError("no identity")), base_url=relay.double.base_url
    )
    with pytest.raises(SapConfigurationError, match="no Entra token"):
        missing.ping()
    hiccup = RelaySapGateway(URL, credential=Broken(ConnectionError("IMDS timed out")), base_url=relay.double.base_url)
    with pytest.raises(SapTransientError, match="no Entra token"):
        hiccup.create_customer(creation())
    assert relay.double.stats.requests == 0
