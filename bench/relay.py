"""The relay path: function app (SAP_TRANSPORT=relay) -> relay double -> on-premise agent -> rfc adapter
over the simulator, all in this process, as tests/e2e/test_relay_e2e.py wires them.

Added latency, per create and in the same request: the relay gateway's create_customer (in the
function) minus the agent's rfc gateway create_customer (what SAP_TRANSPORT=simulator would have
spent in process). It is set against the relay's own floor measured in the same run, one sample
before each create: a request of the same size through the same double to a listener that answers at
once (the hop itself, no agent work). Throughput with 8 agent workers at 200 ms per SAP call is set
against the same limit as sap_throughput: 8 / (calls per create x 0.2 s).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from bench.common import Measurement, percentile, spread
from bench.harness import Creator, app_settings, azurite, running_app

NAME = "relay"
KEY_NAME, KEY = "RootManageSharedAccessKey", "bench-relay-key"
PROOF_KEY = "bench-proof-key-" + "x" * 40
NAMESPACE = "bench-relay.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
AGENT_WORKERS = 8
LATENCIES_MS = (0, 200)
SEQUENTIAL = {0: 150, 200: 25}
QUICK_SEQUENTIAL = 4
THROUGHPUT_SECONDS = 6.0
TARGET_SHARE = 0.90


class Timed:
    """Wraps one gateway's create_customer: the duration of every call, in order."""

    def __init__(self, gateway: Any) -> None:
        self.durations_ms: list[float] = []
        original: Callable[..., Any] = gateway.create_customer
        lock = threading.Lock()

        def timed(creation: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(creation)
            finally:
                with lock:
                    self.durations_ms.append((time.perf_counter() - started) * 1000)

        gateway.create_customer = timed

    def since(self, index: int) -> list[float]:
        return self.durations_ms[index:]


class RelayFloor:
    """The hop alone: POST a wire-create-sized body through the double to a listener answering at once,
    with the product's HTTP client (requests) and the same relay token and headers."""

    def __init__(self, double: Any) -> None:
        from shared.sap.relay import sas_token

        self._url = f"{double.base_url}/echo/v1/create"
        self._headers = {
            "ServiceBusAuthorization": sas_token(f"https://{NAMESPACE}/echo", KEY_NAME, KEY),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._session = requests.Session()
        self._body = b""

    def use_body(self, body: bytes) -> None:
        self._body = body

    def sample(self) -> float:
        started = time.perf_counter()
        response = self._session.post(self._url, data=self._body, headers=self._headers, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return elapsed


@contextlib.contextmanager
def relay_product(sap_latency_ms: int, workers: int) -> Iterator[dict[str, Any]]:
    import sap_simulator as simulator
    from agent.api import AgentApi
    from agent.listener import RelayListener, RelayResponse
    from agent.thread import ListenerThread
    from devtools.relay_double import RelayDoubleThread
    from shared.sap.rfc import RfcSapGateway
    from shared.settings import RelayListenerSettings

    with RelayDoubleThread(
        {KEY_NAME: KEY}, namespace=NAMESPACE, paths=("sap", "echo"), response_timeout_seconds=30
    ) as double:
        settings = app_settings(
            azurite().connection_string,
            SAP_TRANSPORT="relay",
            SAP_RELAY_URL=URL,
            SAP_RELAY_KEY_NAME=KEY_NAME,
            SAP_RELAY_KEY=KEY,
            SAP_RELAY_BASE_URL=double.base_url,
            SAP_AGENT_PROOF_KEY=PROOF_KEY,
            PYTHON_THREADPOOL_THREAD_COUNT=str(2 * workers + 4),
        )
        settings.pop("SAP_SIMULATOR_FAULTS")
        with running_app(settings) as app:
            # The agent's side: its own simulated SAP, its rfc adapter with one pooled connection per
            # worker (as agent/__main__.py builds it), its API with as many workers.
            system = simulator.SimulatedSap()
            system.configure_faults(f"latency_ms={sap_latency_ms}")
            gateway = RfcSapGateway(
                {"system": system},
                rfc_module=simulator,
                no_match_messages=simulator.NO_MATCH_MESSAGES,
                pool_size=workers,
            )
            agent_calls = Timed(gateway)
            base = f"ws://{double.host}:{double.port}"
            listen = RelayListenerSettings(URL, KEY_NAME, KEY, base_url=base)
            echo_settings = RelayListenerSettings(f"https://{NAMESPACE}/echo", KEY_NAME, KEY, base_url=base)

            async def echo(_request: Any) -> Any:
                return RelayResponse(
                    200,
                    b'{"version": 1, "type": "created", "customerNumber": "0000100000"}',
                    {"Content-Type": "application/json"},
                )

            # sap_units: as `python -m agent` gives its loop (agent.thread.use_sap_unit_threads).
            agent = ListenerThread(
                lambda: RelayListener(listen, AgentApi(gateway, path="sap", concurrency=workers, proof_key=PROOF_KEY)),
                sap_units=workers,
            )
            echo_listener = ListenerThread(lambda: RelayListener(echo_settings, echo))
            with agent, echo_listener:
                try:
                    yield {"app": app, "agent_calls": agent_calls, "double": double, "system": system}
                finally:
                    gateway.close()


def _function_gateway() -> Any:
    from shared import bootstrap

    return bootstrap.services().sap


def latency(sap_latency_ms: int, creates: int) -> dict[str, list[float]]:
    with relay_product(sap_latency_ms, AGENT_WORKERS) as product:
        app, agent_calls = product["app"], product["agent_calls"]
        client = Creator(app.base_url)
        client.create("Rw", 0)  # the interface (once per process), connections on every hop
        function_calls = Timed(_function_gateway())
        floor = RelayFloor(product["double"])
        from shared.sap import wire

        floor.use_body(_sample_wire_create(wire))
        floors: list[float] = []
        start_agent = len(agent_calls.durations_ms)
        for number in range(creates):
            floors.append(floor.sample())
            client.create(f"L{sap_latency_ms % 10}", number + 1)
        if client.unexpected:
            raise RuntimeError(f"relay: answers other than 201: {client.describe_unexpected()}")
        relayed, in_process = function_calls.since(0), agent_calls.since(start_agent)
        if len(relayed) != creates or len(in_process) != creates:
            raise RuntimeError(f"relay: {len(relayed)} relayed and {len(in_process)} agent calls for {creates} creates")
        added = [outer - inner for outer, inner in zip(relayed, in_process, strict=True)]
        return {"added": added, "floor": floors, "relayed": relayed}


def _sample_wire_create(wire: Any) -> bytes:
    from bench.common import load_samples
    from bench.harness import account_id
    from shared.core.mapping import map_customer_request
    from shared.core.validation import parse_customer_request
    from shared.settings import load_settings

    request = parse_customer_request(dict(load_samples()[0], accountId=account_id("Fl", 0)))
    creation = map_customer_request(request, load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization)
    return wire.encode_create(creation).encode()


def throughput(sap_latency_ms: int, seconds: float) -> dict[str, float]:
    with relay_product(sap_latency_ms, AGENT_WORKERS) as product:
        app, system = product["app"], product["system"]
        client = Creator(app.base_url)
        clients = 2 * AGENT_WORKERS
        client.concurrently("Rv", 2 * AGENT_WORKERS, AGENT_WORKERS)  # the agent's pool, every connection
        calls_before, logons_before = sum(system.calls.values()), system.counters["logons"]
        guess = AGENT_WORKERS / (2 * sap_latency_ms / 1000)
        creates = max(2 * clients, round(guess * seconds / AGENT_WORKERS) * AGENT_WORKERS)
        _, wall_s = client.concurrently("Rt", creates, clients)
        if client.unexpected:
            raise RuntimeError(f"relay throughput: answers other than 201: {client.describe_unexpected()}")
        calls_per_create = (sum(system.calls.values()) - calls_before) / creates
        return {
            "rate": creates / wall_s,
            "limit": AGENT_WORKERS / (calls_per_create * sap_latency_ms / 1000),
            "creates": creates,
            "calls_per_create": calls_per_create,
            "logons": system.counters["logons"] - logons_before,
        }


def run(quick: bool = False) -> list[Measurement]:
    measurements: list[Measurement] = []
    for sap_latency_ms in LATENCIES_MS:
        creates = QUICK_SEQUENTIAL if quick else SEQUENTIAL[sap_latency_ms]
        result = latency(sap_latency_ms if not quick else min(sap_latency_ms, 20), creates)
        added, floor = result["added"], result["floor"]
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            measurements.append(
                Measurement(
                    f"relay.added_{label}_at_{sap_latency_ms}ms_vs_relay_hop",
                    percentile(added, fraction) / percentile(floor, fraction),
                    "x",
                    note=f"added {percentile(added, fraction):.1f} ms over a bare hop of "
                    f"{percentile(floor, fraction):.1f} ms ({creates} sequential creates)",
                )
            )
        measurements.append(
            Measurement(
                f"relay.added_at_{sap_latency_ms}ms",
                percentile(added, 0.5),
                "ms",
                note=f"relay call minus the agent's rfc call: {spread(added)}",
            )
        )
    latency_ms = 20 if quick else 200
    result_t = throughput(latency_ms, 0.5 if quick else THROUGHPUT_SECONDS)
    share = result_t["rate"] / result_t["limit"]
    measurements.append(
        Measurement(
            f"relay.throughput_{AGENT_WORKERS}_workers_vs_limit",
            share * 100,
            "%",
            TARGET_SHARE * 100,
            at_least=True,
            note=f"{result_t['rate']:.2f} creates/s of {result_t['limit']:.2f} = {AGENT_WORKERS} / "
            f"({result_t['calls_per_create']:.2f} calls x {latency_ms / 1000:g} s); {result_t['creates']:.0f} creates "
            f"from {2 * AGENT_WORKERS} clients",
        )
    )
    measurements.append(
        Measurement(
            "relay.agent_logons_during_throughput",
            result_t["logons"],
            "count",
            0.0,
            note="the agent's pooled RFC connections are reused",
        )
    )
    return measurements
