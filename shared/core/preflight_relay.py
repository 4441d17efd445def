"""The go-live check's decisions about the relay (issue 24): one `GET /v1/about` through the relay to the
on-premise agent, answered as it came (RelayAnswer, made by shared/sap/relay_probe.py), judged here into the
relay area's checks; the table in tests/unit/test_preflight_relay_rules.py holds every case.

Which answer is whose: Microsoft's "Azure Relay Hybrid Connections protocol" guide gives the relay's own 401
(token missing, malformed or invalid), 403 (no Send right), 404 and 502/503 (no listener); the agent answers
401 with its wire error for a missing or wrong proof, and 404 `{"error": "unknown operation"}` for an
operation it does not serve (agent/api.py), which is how an agent older than /v1/about answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.core.preflight import Area, CheckResult, failed, passed, skipped


@dataclass(frozen=True)
class AgentAbout:
    """The agent's `GET /v1/about`: the wire version it speaks, the operations it serves, and whether it checks
    the app's proof (False: AGENT_PROOF=off, which the agent allows in front of the simulator only)."""

    wire_version: int
    operations: tuple[str, ...] = ()
    proof_checked: bool = True


@dataclass(frozen=True)
class RelayAnswer:
    """What one request through the relay to the agent came back with, before anyone judged it.

    `reached`: False when no HTTP answer came at all (`failure` names why: refused, DNS, timeout). `status`: the
    HTTP status. `agent_error`: the body is the agent's wire error (the agent itself answered, e.g. its 401 for
    a missing or wrong proof), `detail` its text. `unknown_operation`: the agent's own 404 for an operation it
    does not serve (an agent older than the operation). `about`: the parsed `GET /v1/about`. `elapsed_ms`: from
    sending to the end of the answer. `token_failure`: no relay token could be had at all (the managed identity
    gave none), so nothing was sent."""

    reached: bool
    status: int = 0
    agent_error: bool = False
    detail: str = ""
    unknown_operation: bool = False
    about: AgentAbout | None = None
    elapsed_ms: int = 0
    failure: str = ""
    token_failure: str = ""


@dataclass(frozen=True)
class AgentExpectation:
    """What this app needs of the agent: its wire version and the operations it calls."""

    wire_version: int
    operations: tuple[str, ...] = field(default=())


_RELAY_TITLES = {
    "relay_token": "the relay accepts the app's token for the hybrid connection (SAP_RELAY_URL)",
    "listener": "an on-premise agent listens on the hybrid connection",
    "agent_proof": "the agent accepts the app's proof (SAP_AGENT_PROOF_KEY)",
    "agent_version": "the agent's wire version and operations fit this app",
    "round_trip": "round trip through the relay to the agent (no SAP call)",
}


def _relay(check: str, verdict: str, found: str, fix: str = "") -> CheckResult:
    title = _RELAY_TITLES[check]
    if verdict == "passed":
        return passed(Area.RELAY, check, title, found)
    if verdict == "failed":
        return failed(Area.RELAY, check, title, found, fix)
    return skipped(Area.RELAY, check, title, found)


def _skip_from(checks: Sequence[str], why: str) -> list[CheckResult]:
    return [_relay(check, "skipped", why) for check in checks]


def relay_checks(answer: RelayAnswer, expected: AgentExpectation, uses_managed_identity: bool) -> list[CheckResult]:
    """The relay's checks from one `GET /v1/about` through it, in order; after the first failure the later ones
    are SKIPPED (they could not be seen). The relay's own refusal (401/403 without the agent's wire error) is
    the token; 502/503 no listener; the agent's 401 with its wire error the proof; the agent's 404 "unknown
    operation" an agent older than /v1/about."""
    order = list(_RELAY_TITLES)
    if answer.token_failure:
        return [
            _relay(
                "relay_token",
                "failed",
                f"no relay token to send: {answer.token_failure}",
                "give the function app a managed identity (with a user-assigned one, AZURE_CLIENT_ID its client id) "
                "holding Azure Relay Sender on the hybrid connection; or set SAP_RELAY_KEY_NAME/SAP_RELAY_KEY",
            ),
            *_skip_from(order[1:], "nothing was sent without a relay token"),
        ]
    if not answer.reached:
        return [
            _relay(
                "relay_token",
                "failed",
                f"no answer from the relay ({answer.failure})",
                "check SAP_RELAY_URL (https://{namespace}.servicebus.windows.net/{hybrid connection}) and that "
                "the app reaches the namespace on port 443 (DNS, firewall, proxy)",
            ),
            *_skip_from(order[1:], "the relay was not reached"),
        ]
    status = answer.status
    if status in (401, 403) and not answer.agent_error:
        if uses_managed_identity:
            fix = (
                "give the function app's managed identity the role Azure Relay Sender on the hybrid connection "
                "(not the namespace); with a user-assigned identity set AZURE_CLIENT_ID to its client id; or "
                "set SAP_RELAY_KEY_NAME/SAP_RELAY_KEY to a rule with the Send right"
            )
            sent = "the managed identity's Entra token"
        else:
            fix = (
                "check SAP_RELAY_KEY_NAME and SAP_RELAY_KEY: a shared access rule of this hybrid connection "
                "(or its namespace) with the Send right, and its current key"
            )
            sent = "the SAS token of SAP_RELAY_KEY_NAME"
        meaning = "gives no Send right" if status == 403 else "is missing, malformed or invalid"
        return [
            _relay("relay_token", "failed", f"the relay refused {sent} ({status}: the token {meaning})", fix),
            *_skip_from(order[1:], "the relay refused the app's token"),
        ]
    if status == 404 and not answer.agent_error and not answer.unknown_operation:
        return [
            _relay(
                "relay_token",
                "failed",
                "the relay knows no such hybrid connection (404)",
                "SAP_RELAY_URL: https://{namespace}.servicebus.windows.net/{hybrid connection}, the name as "
                "created (infra/ makes it)",
            ),
            *_skip_from(order[1:], "no such hybrid connection"),
        ]
    results = [_relay("relay_token", "passed", f"the relay accepted the app's token (answer {status})")]
    if status in (502, 503):
        return [
            *results,
            _relay(
                "listener",
                "failed",
                f"the relay answered {status}: no agent is listening",
                "start the on-premise agent (`python -m agent`, or its service sap-sync-agent) with "
                "AGENT_RELAY_URL naming this hybrid connection and a rule with the Listen right "
                "(AGENT_RELAY_KEY_NAME/AGENT_RELAY_KEY); its log says when it listens",
            ),
            *_skip_from(order[2:], "no agent listening"),
        ]
    if status in (429, 504) or status >= 500:
        return [
            *results,
            _relay(
                "listener",
                "failed",
                f"the relay answered {status} (throttled or the agent did not answer)",
                "run the check again in a minute; if it stays, read the agent's log",
            ),
            *_skip_from(order[2:], "the agent did not answer"),
        ]
    results.append(_relay("listener", "passed", "an agent listens and answered"))
    if status == 401 and answer.agent_error:
        return [
            *results,
            _relay(
                "agent_proof",
                "failed",
                f"the agent refused the app's proof (401): {answer.detail}",
                "SAP_AGENT_PROOF_KEY must equal the agent's AGENT_PROOF_KEY (set both from the same secret); "
                "a timestamp 'more than 300 s off' means the clocks differ: sync the agent host's clock (NTP)",
            ),
            *_skip_from(order[3:], "the agent refused the app's proof"),
        ]
    if answer.unknown_operation:
        return [
            *results,
            _relay("agent_proof", "skipped", "the agent does not serve /v1/about, so it checked no proof there"),
            _relay(
                "agent_version",
                "failed",
                "agent too old: it answers 404 'unknown operation' to GET /v1/about",
                "upgrade the on-premise agent to this release (agent/README.md: same version as the app) and "
                "restart it; the go-live probes of SAP need its /v1/probe",
            ),
            _relay("round_trip", "skipped", "the agent is too old to answer /v1/about"),
        ]
    if status != 200 or answer.about is None:
        return [
            *results,
            _relay(
                "agent_proof",
                "failed" if status == 401 else "skipped",
                f"the agent answered GET /v1/about with {status}",
                "read the agent's log",
            ),
            *_skip_from(order[3:], f"the agent answered {status}"),
        ]
    if answer.about is not None and not answer.about.proof_checked:
        results.append(
            _relay("agent_proof", "passed", "the agent checks no proof (AGENT_PROOF=off: the simulator, local tests)")
        )
    else:
        results.append(_relay("agent_proof", "passed", "the agent accepted the app's proof"))
    about = answer.about
    missing = [op for op in expected.operations if op not in about.operations]
    if about.wire_version != expected.wire_version or missing:
        found = (
            f"the agent speaks wire version {about.wire_version}, this app {expected.wire_version}"
            if about.wire_version != expected.wire_version
            else f"the agent lacks {', '.join(missing)}"
        )
        results.append(
            _relay(
                "agent_version",
                "failed",
                found,
                "run the agent of the same release as the app (agent/README.md) and restart it",
            )
        )
    else:
        results.append(
            _relay(
                "agent_version", "passed", f"wire version {about.wire_version}; serves {', '.join(about.operations)}"
            )
        )
    results.append(_relay("round_trip", "passed", f"{answer.elapsed_ms} ms"))
    return results
