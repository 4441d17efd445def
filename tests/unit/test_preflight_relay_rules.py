"""The go-live check's relay decisions as a table (shared/core/preflight_relay.py): from what one GET /v1/about
through the relay came back with, which relay check fails, with which fix, and which later ones are skipped."""

from __future__ import annotations

import pytest

from shared.core.preflight import Area
from shared.core.preflight_relay import AgentAbout, AgentExpectation, RelayAnswer, relay_checks

EXPECTED = AgentExpectation(1, ("/v1/create", "/v1/interface", "/v1/ping", "/v1/about", "/v1/probe"))
CURRENT = AgentAbout(1, EXPECTED.operations)
P, F, S = "passed", "failed", "skipped"


@pytest.mark.parametrize(
    ("answer", "managed_identity", "verdicts", "failed_fix_has"),
    [
        (RelayAnswer(True, 200, about=CURRENT, elapsed_ms=42), False, [P, P, P, P, P], None),
        (RelayAnswer(False, failure="ConnectionError"), False, [F, S, S, S, S], "SAP_RELAY_URL"),
        (
            RelayAnswer(False, token_failure="no Entra token (CredentialUnavailableError)"),
            True,
            [F, S, S, S, S],
            "AZURE_CLIENT_ID",
        ),
        (RelayAnswer(True, 401), False, [F, S, S, S, S], "SAP_RELAY_KEY_NAME and SAP_RELAY_KEY"),
        (RelayAnswer(True, 401), True, [F, S, S, S, S], "Azure Relay Sender"),
        (RelayAnswer(True, 403), True, [F, S, S, S, S], "AZURE_CLIENT_ID"),
        (RelayAnswer(True, 404), False, [F, S, S, S, S], "SAP_RELAY_URL"),
        (RelayAnswer(True, 502), False, [P, F, S, S, S], "python -m agent"),
        (RelayAnswer(True, 503), False, [P, F, S, S, S], "AGENT_RELAY_KEY_NAME"),
        (RelayAnswer(True, 504), False, [P, F, S, S, S], "agent's log"),
        (
            RelayAnswer(True, 401, agent_error=True, detail="X-Sap-Sync-Proof: wrong signature"),
            False,
            [P, P, F, S, S],
            "SAP_AGENT_PROOF_KEY must equal the agent's AGENT_PROOF_KEY",
        ),
        (RelayAnswer(True, 404, unknown_operation=True), False, [P, P, S, F, S], "upgrade the on-premise agent"),
        (RelayAnswer(True, 200, about=AgentAbout(2, CURRENT.operations)), False, [P, P, P, F, P], "same release"),
        (
            RelayAnswer(True, 200, about=AgentAbout(1, ("/v1/create", "/v1/about"))),
            False,
            [P, P, P, F, P],
            "same release",
        ),
    ],
    ids=[
        "all good",
        "relay unreachable",
        "no token from the managed identity",
        "SAS token refused",
        "managed identity refused",
        "managed identity without Send",
        "no such hybrid connection",
        "no listener (502)",
        "no listener (503)",
        "the agent did not answer",
        "the agent refused the proof",
        "an agent too old for /v1/about",
        "another wire version",
        "an agent without /v1/probe",
    ],
)
def test_one_about_request_tells_token_listener_proof_and_version_apart(
    answer, managed_identity, verdicts, failed_fix_has
):
    results = relay_checks(answer, EXPECTED, managed_identity)
    assert [r.check for r in results] == ["relay_token", "listener", "agent_proof", "agent_version", "round_trip"]
    assert all(r.area is Area.RELAY for r in results)
    assert [r.verdict.value for r in results] == verdicts
    failing = [r for r in results if r.failed]
    if failed_fix_has is None:
        assert failing == [] and results[-1].found == "42 ms"
    else:
        assert len(failing) == 1 and failed_fix_has in failing[0].fix


def test_the_token_check_says_whose_token_was_refused():
    sas = relay_checks(RelayAnswer(True, 401), EXPECTED, uses_managed_identity=False)[0]
    entra = relay_checks(RelayAnswer(True, 403), EXPECTED, uses_managed_identity=True)[0]
    assert "SAS token" in sas.found and "missing, malformed or invalid" in sas.found
    assert "managed identity's Entra token" in entra.found and "no Send right" in entra.found


def test_a_managed_identity_without_a_token_fails_the_token_check_and_sends_nothing():
    """The relay probe on the real relay gateway whose credential gives no token (azure-identity's
    CredentialUnavailableError, named as the gateway reads it): the token check fails, no request is made."""
    from shared.sap.relay import RelaySapGateway
    from shared.sap.relay_probe import RelayAboutProbe

    class CredentialUnavailableError(Exception):
        pass

    class NoIdentity:
        def get_token(self, *scopes: str) -> object:
            raise CredentialUnavailableError("no managed identity endpoint")

    class NoNetwork:
        def request(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("nothing may be sent without a relay token")

    gateway = RelaySapGateway("https://ns.servicebus.windows.net/sap", credential=NoIdentity(), session=NoNetwork())  # type: ignore[arg-type]
    probe = RelayAboutProbe(gateway)
    results = relay_checks(probe.about(), EXPECTED, probe.uses_managed_identity)
    assert [r.verdict.value for r in results] == [F, S, S, S, S]
    assert "CredentialUnavailableError" in results[0].found and "Azure Relay Sender" in results[0].fix


def test_an_agent_that_checks_no_proof_passes_but_says_so():
    unchecked = AgentAbout(1, EXPECTED.operations, proof_checked=False)
    proof = relay_checks(RelayAnswer(True, 200, about=unchecked), EXPECTED, False)[2]
    assert proof.check == "agent_proof" and proof.verdict.value == P and "AGENT_PROOF=off" in proof.found
