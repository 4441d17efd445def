"""SAP behind the relay, as deployed: the relay double and one on-premise agent in this process over an
in-memory simulated SAP, for benchmarks whose workers (`python -m devhost` children, SAP_TRANSPORT=relay)
must hold the app's memory and work only, while this process counts SAP's calls, customers and sessions.

The agent is built as agent/__main__.py builds it (AgentApi over the rfc gateway with a pool of
AGENT_CONCURRENCY connections, ListenerThread with as many SAP units), as bench/relay.py does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

KEY_NAME, KEY = "RootManageSharedAccessKey", "bench-agent-rig-key"
PROOF_KEY = "bench-agent-rig-proof-" + "x" * 40
NAMESPACE = "bench-agent-rig.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"


class SessionPeak:
    """The most sessions the simulated SAP had open at once (each logon checked as it happens)."""

    def __init__(self, system: Any) -> None:
        self.peak = 0
        self._lock = threading.Lock()
        original = system.open_session

        def open_session(parameters: Any) -> int:
            session = original(parameters)
            with self._lock:
                self.peak = max(self.peak, system.open_sessions)
            return session

        system.open_session = open_session


@dataclass
class AgentRig:
    settings: dict[str, str]  # what a worker's app settings need to reach SAP through this agent
    system: Any  # sap_simulator.SimulatedSap: calls, customers, sessions
    sessions: SessionPeak

    @property
    def calls(self) -> int:
        return sum(self.system.calls.values())


@contextlib.contextmanager
def agent_rig(
    latency_ms: int, concurrency: int, *, relay_timeout_seconds: float = 30, numbers: int | None = None
) -> Iterator[AgentRig]:
    """The relay double and an agent with `concurrency` SAP units over a simulator at `latency_ms` per
    connect and call; yields the settings a worker needs (SAP_TRANSPORT=relay and the relay's).
    `numbers`: internal customer numbers the account group needs at least (the simulator's default
    interval, 100000-199999, holds exactly 100,000: an initial load of that size must not run it dry)."""
    import sap_simulator as simulator
    from agent.api import AgentApi
    from agent.listener import RelayListener
    from agent.thread import ListenerThread
    from devtools.relay_double import RelayDoubleThread
    from shared.sap.rfc import RfcSapGateway
    from shared.settings import RelayListenerSettings

    with RelayDoubleThread(
        {KEY_NAME: KEY}, namespace=NAMESPACE, response_timeout_seconds=relay_timeout_seconds
    ) as double:
        customizing = simulator.Customizing()
        if numbers is not None:
            first, last = customizing.number_ranges["0001"]
            customizing.number_ranges["0001"] = (first, max(last, first + 2 * numbers - 1))
        system = simulator.SimulatedSap(customizing=customizing)
        system.configure_faults(f"latency_ms={latency_ms}")
        sessions = SessionPeak(system)
        gateway = RfcSapGateway(
            {"system": system},
            rfc_module=simulator,
            no_match_messages=simulator.NO_MATCH_MESSAGES,
            pool_size=concurrency,
        )
        listen = RelayListenerSettings(URL, KEY_NAME, KEY, base_url=f"ws://{double.host}:{double.port}")
        agent = ListenerThread(
            lambda: RelayListener(listen, AgentApi(gateway, path="sap", concurrency=concurrency, proof_key=PROOF_KEY)),
            sap_units=concurrency,
        )
        settings = {
            "SAP_TRANSPORT": "relay",
            "SAP_RELAY_URL": URL,
            "SAP_RELAY_KEY_NAME": KEY_NAME,
            "SAP_RELAY_KEY": KEY,
            "SAP_RELAY_BASE_URL": double.base_url,
            "SAP_AGENT_PROOF_KEY": PROOF_KEY,
        }
        try:
            with agent:
                yield AgentRig(settings, system, sessions)
        finally:
            gateway.close()
