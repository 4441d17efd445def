"""The go-live check's relay area, and its SAP area through the relay: the app's settings (SAP_TRANSPORT=relay)
-> shared.bootstrap.sap_preflight_parts -> real HTTP to the relay double -> the on-premise agent (agent/api.py on
the real listener, in a thread) -> the SAP simulator. A correct setup passes every relay and SAP check; each test
below breaks one thing (the relay refusing the app's token, no listener, the agent refusing the app's proof, an
agent too old for /v1/about) and sees exactly that relay check fail with its fix and the later ones skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import ListenerThread
from devtools.relay_double import RelayDouble, RelayDoubleThread
from shared.bootstrap.sap import sap_preflight_parts
from shared.core.preflight import Area, CheckResult, Verdict
from shared.sap.rfc import RfcSapGateway
from shared.settings import RelayListenerSettings, load_settings
from shared.usecases.preflight.relay import check_relay
from shared.usecases.preflight.sap import check_sap
from tests.support.sap import simulated_gateway

NAMESPACE = "preflight.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
SEND_RULE, SEND_KEY = "app-send", "preflight-send-key"
LISTEN_RULE, LISTEN_KEY = "agent-listen", "preflight-listen-key"
PROOF_KEY = "preflight-proof-key-" + "p" * 16
RELAY_CHECKS = ["relay_token", "listener", "agent_proof", "agent_version", "round_trip"]


@pytest.fixture
def relay() -> Iterator[RelayDouble]:
    # The app's rule can only send and the agent's only listen, as in Azure (infra/).
    with RelayDoubleThread(
        {SEND_RULE: SEND_KEY, LISTEN_RULE: LISTEN_KEY},
        namespace=NAMESPACE,
        rights={SEND_RULE: {"Send"}, LISTEN_RULE: {"Listen"}},
        response_timeout_seconds=10,
    ) as double:
        yield double


def app_settings(double: RelayDouble, **changes: str) -> dict[str, str]:
    return {
        "SAP_TRANSPORT": "relay",
        "SAP_RELAY_URL": URL,
        "SAP_RELAY_KEY_NAME": SEND_RULE,
        "SAP_RELAY_KEY": SEND_KEY,
        "SAP_RELAY_BASE_URL": double.base_url,
        "SAP_AGENT_PROOF_KEY": PROOF_KEY,
        "SAP_FIND_NO_MATCH_MESSAGE": "F2 173",
        "SAP_TIMEOUT_SECONDS": "2",
        **changes,
    }


def agent(
    double: RelayDouble,
    proof_key: str = PROOF_KEY,
    without: tuple[str, ...] = (),
    no_match_messages: tuple[tuple[str, str], ...] | None = None,
) -> ListenerThread:
    """The agent on the simulator; `without` leaves operations out, as an agent of an older release has none of
    them (agent/api.py answers 404 "unknown operation" to an operation it does not serve)."""
    settings = RelayListenerSettings(URL, LISTEN_RULE, LISTEN_KEY, base_url=f"ws://{double.host}:{double.port}")

    def make() -> RelayListener:
        gateway = (
            simulated_gateway()
            if no_match_messages is None
            else RfcSapGateway({}, rfc_module=simulator, no_match_messages=no_match_messages)
        )
        api = AgentApi(gateway, path="sap", proof_key=proof_key)
        for operation in without:
            del api._operations[operation]  # the older agent: the same API without these
        return RelayListener(settings, api)

    return ListenerThread(make)


def run_checks(settings: dict[str, str]) -> tuple[dict[str, CheckResult], dict[str, CheckResult]]:
    parts = sap_preflight_parts(load_settings(settings))
    return ({r.check: r for r in check_relay(parts)}, {r.check: r for r in check_sap(parts)})


def verdicts(results: dict[str, CheckResult]) -> dict[str, str]:
    return {check: result.verdict.value for check, result in results.items()}


def test_through_the_relay_double_and_the_agent_every_relay_and_sap_check_passes(relay, sap_system):
    with agent(relay):
        relay_results, sap_results = run_checks(app_settings(relay))
    assert list(relay_results) == RELAY_CHECKS
    assert all(r.area is Area.RELAY and r.verdict is Verdict.PASSED for r in relay_results.values()), relay_results
    assert "wire version 1" in relay_results["agent_version"].found
    assert relay_results["round_trip"].found.endswith(" ms")  # measured, not asserted
    assert [c for c, r in sap_results.items() if r.failed] == []
    assert "system SIM" in sap_results["logon"].found and "ANDed" in sap_results["find_rows"].found
    assert relay.stats.violations == []
    assert sap_system.calls["BAPI_CUSTOMER_CREATEFROMDATA1"] == 0


def test_a_relay_refusing_the_apps_token_fails_the_token_check_naming_the_sas_settings(relay, sap_system):
    with agent(relay):
        relay_results, _ = run_checks(app_settings(relay, SAP_RELAY_KEY="not-the-rule's-key"))
    assert verdicts(relay_results) == {
        "relay_token": "failed",
        "listener": "skipped",
        "agent_proof": "skipped",
        "agent_version": "skipped",
        "round_trip": "skipped",
    }
    refused = relay_results["relay_token"]
    assert "refused the SAS token" in refused.found and "(401" in refused.found
    assert "SAP_RELAY_KEY_NAME and SAP_RELAY_KEY" in refused.fix and "Send right" in refused.fix


def test_a_listen_only_rule_on_the_apps_side_fails_the_token_check_as_no_send_right(relay, sap_system):
    with agent(relay):
        relay_results, _ = run_checks(app_settings(relay, SAP_RELAY_KEY_NAME=LISTEN_RULE, SAP_RELAY_KEY=LISTEN_KEY))
    assert relay_results["relay_token"].failed and "(403" in relay_results["relay_token"].found
    assert [c for c, r in relay_results.items() if r.failed] == ["relay_token"]


def test_no_agent_listening_fails_the_listener_check_telling_to_start_the_agent(relay, sap_system):
    relay_results, _ = run_checks(app_settings(relay))
    assert verdicts(relay_results) == {
        "relay_token": "passed",
        "listener": "failed",
        "agent_proof": "skipped",
        "agent_version": "skipped",
        "round_trip": "skipped",
    }
    assert "no agent is listening" in relay_results["listener"].found
    assert "python -m agent" in relay_results["listener"].fix and "AGENT_RELAY_URL" in relay_results["listener"].fix


def test_an_agent_refusing_the_apps_proof_fails_the_proof_check_naming_both_keys(relay, sap_system):
    with agent(relay, proof_key="the-agent-has-another-key-" + "q" * 16):
        relay_results, _ = run_checks(app_settings(relay))
    assert verdicts(relay_results) == {
        "relay_token": "passed",
        "listener": "passed",
        "agent_proof": "failed",
        "agent_version": "skipped",
        "round_trip": "skipped",
    }
    refused = relay_results["agent_proof"]
    assert "wrong signature" in refused.found
    assert "SAP_AGENT_PROOF_KEY" in refused.fix and "AGENT_PROOF_KEY" in refused.fix


def test_an_agent_older_than_the_probes_fails_the_version_check_as_too_old_and_the_sap_logon_says_upgrade(
    relay, sap_system
):
    with agent(relay, without=("/v1/about", "/v1/probe")):
        relay_results, sap_results = run_checks(app_settings(relay))
    assert verdicts(relay_results) == {
        "relay_token": "passed",
        "listener": "passed",
        "agent_proof": "skipped",
        "agent_version": "failed",
        "round_trip": "skipped",
    }
    assert "agent too old" in relay_results["agent_version"].found
    assert "upgrade the on-premise agent" in relay_results["agent_version"].fix
    # The runner reports SAP as not reached after a failed relay check; run anyway, the logon says why.
    assert sap_results["logon"].failed and "agent too old" in sap_results["logon"].found


def test_a_wrong_hybrid_connection_name_fails_the_token_check_naming_the_url(relay, sap_system):
    with agent(relay):
        relay_results, _ = run_checks(app_settings(relay, SAP_RELAY_URL=f"https://{NAMESPACE}/no-such-connection"))
    assert relay_results["relay_token"].failed and "SAP_RELAY_URL" in relay_results["relay_token"].fix


def test_through_the_relay_the_no_match_check_judges_the_agents_setting_not_the_apps(relay, sap_system):
    # The duplicate guard runs in the agent: the app's own SAP_FIND_NO_MATCH_MESSAGE is not what counts.
    with agent(relay):
        _, sap_results = run_checks(app_settings(relay, SAP_FIND_NO_MATCH_MESSAGE="ZZ 001"))
    assert sap_results["find_no_match"].verdict is Verdict.PASSED
    assert "the agent's SAP_FIND_NO_MATCH_MESSAGE is 'F2 173'" in sap_results["find_no_match"].found
    with agent(relay, no_match_messages=()):
        _, sap_results = run_checks(app_settings(relay))
    assert [c for c, r in sap_results.items() if r.failed] == ["find_no_match"]
    assert "the agent's SAP_FIND_NO_MATCH_MESSAGE is not set" in sap_results["find_no_match"].found
    assert "in the agent's settings" in sap_results["find_no_match"].fix


def test_sap_down_behind_a_healthy_relay_fails_only_the_sap_logon_naming_the_agents_settings(relay, sap_system):
    sap_system.configure_faults("down")
    with agent(relay):
        relay_results, sap_results = run_checks(app_settings(relay))
    assert all(r.verdict is Verdict.PASSED for r in relay_results.values())
    assert [c for c, r in sap_results.items() if r.failed] == ["logon"]
    assert "SAP unavailable" in sap_results["logon"].found
    assert "the agent's SAP_* settings" in sap_results["logon"].fix and "SAP_ASHOST" in sap_results["logon"].fix
    assert all(r.verdict is Verdict.SKIPPED for c, r in sap_results.items() if c != "logon")
