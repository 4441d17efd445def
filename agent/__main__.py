"""python -m agent: listen on the hybrid connection until SIGTERM or Ctrl-C, then finish the requests in
flight and stop.

Settings (environment):
    AGENT_RELAY_URL        https://{namespace}/{hybrid connection}
    AGENT_RELAY_KEY_NAME   a rule with the Listen right, and AGENT_RELAY_KEY its key
    AGENT_RELAY_BASE_URL   ws://127.0.0.1:PORT of a local relay double instead of wss://{namespace}
    SAP_TRANSPORT          rfc (pyrfc with the SAP_* logon settings), odata (S/4HANA on premise: the Business
                           Partner gateway with the SAP_ODATA_* logon and SAP_BP_GROUPING, docs/sap.md) or
                           simulator; SAP_FIND_NO_MATCH_MESSAGE, SAP_SIMULATOR_FAULTS as for the function app
    SAP_TIMEOUT_SECONDS    one RFC call's timeout; here default 8 and less than 10: a unit of work (four
                           timeouts of calls plus the logon) must end within the 50 s the agent has to
                           answer a relayed request (the relay's limit is 60 s), see agent/api.py
    SAP_SIMULATOR_STATE_FILE  with the simulator: its SAP database in this SQLite file, shared by every
                           agent (and host) that names it and kept across restarts (local tests only)
    AGENT_PROOF_KEY        the key of the function app's proof on each request (its SAP_AGENT_PROOF_KEY):
                           required with SAP_TRANSPORT=rfc; AGENT_PROOF=off (local tests only) checks none
    AGENT_CONCURRENCY      SAP units of work at a time (default 4), and as many pooled RFC connections:
                           reused across requests, pinged after idle, replaced after a failure
    AGENT_ANSWER_DEADLINE_SECONDS  local tests only: a shorter deadline than the default 50 s from a
                           relayed request's arrival to its answer (never longer: the relay's limit is 60 s)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import use_sap_unit_threads
from shared import bootstrap
from shared.bootstrap import EntryPoint
from shared.sap.relay import AGENT_ANSWER_DEADLINE_SECONDS
from shared.settings import (
    SettingsError,
    agent_environment,
    load_agent_concurrency,
    load_agent_proof_key,
    load_answer_deadline,
    load_relay_listener_settings,
    load_settings,
)

logger = logging.getLogger("agent")


def agent_concurrency(environ: dict[str, str] | None = None) -> int:
    """AGENT_CONCURRENCY: SAP units of work at a time (declared in shared/settings/declarations.py)."""
    return load_agent_concurrency(environ)


# The agent's RFC timeout when SAP_TIMEOUT_SECONDS is not set: its unit of work (5 x 8 = 40 s) leaves
# 10 s of the answer deadline for waiting on a free slot. The function app's default (30 s) would make a
# unit of 150 s, which no relayed request can wait for.
AGENT_DEFAULT_SAP_TIMEOUT_SECONDS = 8.0


def unit_budget_seconds(sap_timeout_seconds: float) -> float:
    """The longest one unit of work of the agent's gateway may take (the rfc adapter's own bound)."""
    from shared.sap.rfc import RfcSapGateway

    return RfcSapGateway.longest_unit_seconds(sap_timeout_seconds)


def check_unit_budget(
    sap_timeout_seconds: float, answer_deadline_seconds: float = AGENT_ANSWER_DEADLINE_SECONDS
) -> float:
    """The start check: a unit must fit in the answer deadline, else no relayed request could ever be
    answered in time (every one would be `not_started`, or a 504 and an unknown outcome). Returns the
    unit's budget."""
    budget = unit_budget_seconds(sap_timeout_seconds)
    if budget >= answer_deadline_seconds:
        bound = answer_deadline_seconds / unit_budget_seconds(1.0)  # the budget grows with the timeout
        raise SettingsError(
            f"SAP_TIMEOUT_SECONDS={sap_timeout_seconds:g}: one SAP unit of work may then take "
            f"{budget:g} s (four RFC timeouts plus the logon), but the agent must answer a "
            f"relayed request within {answer_deadline_seconds:g} s (the relay's limit is 60 s): "
            f"less than {bound:g}; default {AGENT_DEFAULT_SAP_TIMEOUT_SECONDS:g}"
        )
    return budget


def answer_deadline(environ: dict[str, str] | None = None) -> float:
    """AGENT_ANSWER_DEADLINE_SECONDS: shorter than the default for tests that cannot wait 50 s; longer is
    refused, since the relay answers 504 after 60 s whatever the agent does."""
    return load_answer_deadline(AGENT_ANSWER_DEADLINE_SECONDS, environ)


def build_listener(environ: dict[str, str] | None = None) -> RelayListener:
    env = agent_environment(AGENT_DEFAULT_SAP_TIMEOUT_SECONDS, environ)
    relay = load_relay_listener_settings(env)
    proof_key = load_agent_proof_key(env)
    if proof_key is None:
        logger.warning(
            "the agent checks no proof of the function app (AGENT_PROOF=off, or the simulator "
            "without AGENT_PROOF_KEY): anyone with Send rights on the hybrid connection is served"
        )
    concurrency = agent_concurrency(env)
    config = load_settings(env)
    deadline = answer_deadline(env)
    budget = check_unit_budget(config.sap_timeout_seconds, deadline)
    # The composition root's SAP gateway for the agent: the rfc adapter on pyrfc or on the simulator, never the
    # relay; one pooled RFC connection per unit of work that may run at a time: no unit waits for a connection.
    gateway = bootstrap.bootstrap(EntryPoint.AGENT, config, sap_pool_size=concurrency)
    return RelayListener(
        relay,
        AgentApi(
            gateway,
            path=relay.path,
            concurrency=concurrency,
            proof_key=proof_key,
            unit_budget_seconds=budget,
            answer_deadline_seconds=deadline,
        ),
    )


async def _run(listener: RelayListener, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    use_sap_unit_threads(loop, concurrency)
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, listener.stop)
    try:
        await listener.run()
    finally:
        close = getattr(getattr(listener.handler, "gateway", None), "close", None)
        if callable(close):
            close()  # the pooled RFC connections: log off from SAP


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        bootstrap.start_telemetry("agent")  # Application Insights with AGENT_APPLICATIONINSIGHTS_CONNECTION_STRING only
        listener = build_listener()
    except SettingsError as error:
        print(f"agent: {error}", file=sys.stderr)
        return 2
    asyncio.run(_run(listener, agent_concurrency()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
