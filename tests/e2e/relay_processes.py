"""The production topology as separate processes, for the crash and failover tests: the functions host
(`python -m devhost`, SAP_TRANSPORT=relay) -> the relay double (in the test process) -> one or more
on-premise agents (`python -m agent`, each its own process) -> the SAP simulator's state in one SQLite
file that all agents share, as one SAP's database. Any of them can be stopped, killed with SIGKILL and
started again; storage (Azurite) and the SAP state outlive them.

On S/4HANA (`relay_topology(..., s4=...)`): the agents run SAP_TRANSPORT=odata against one S/4 double in the
test process (S/4HANA on premise behind the relay), which outlives them as the SQLite file does; SAP's faults
are the double's (armed by the topology, since the double is one for every agent), and an account's customers
are the partners carrying its Salesforce Id."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devtools.fake_salesforce import salesforce_id18
from devtools.relay_double import RelayDouble, RelayDoubleThread
from sap_simulator import CustomerRecord
from sap_simulator.store import created_customers_in
from shared.core.mapping import split_name
from tests.support.network import free_port
from tests.support.s4 import S4Customer, S4System
from tests.support.samples import sample

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "relay-failover.servicebus.windows.net"
URL = f"https://{NAMESPACE}/sap"
SEND_RULE, SEND_KEY = "app-send", "relay-failover-send-key"
LISTEN_RULE, LISTEN_KEY = "agent-listen", "relay-failover-listen-key"
PROOF_KEY = "relay-failover-proof-key-" + "p" * 16
START_DEADLINE_SECONDS = 30.0
AGENT_RFC_USER = "SAP_SYNC_RFC"
TERMINAL = ("created", "failed", "needs_review")
# What SAP does wrong during the storms (sap_simulator/faults.py): lines that break before a
# call, after the create BAPI ran and after COMMIT committed (the last two leave the outcome unknown, so
# the next attempt searches KNA1 first); a little latency, so that a kill lands in the middle of units.
STORM_FAULTS = "communication_before=0.1,communication_after_bapi=0.05,communication_after_commit=0.05,latency_ms=25"


def accounts(count: int, seed: int) -> list[dict]:
    """Distinct valid German accounts with real 18-character Ids and a name of their own each."""
    return [
        dict(
            sample("german-account"),
            accountId=salesforce_id18(f"001Dn{seed:03d}{index:07d}"),
            name=f"Relais {seed}-{index} GmbH",
        )
        for index in range(count)
    ]


@dataclass
class Child:
    """One process in a session of its own, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: nothing of the process gets to clean up (no answer, no log-off, no goodbye frame)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as systemd or docker stop would: requests in flight are finished first."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything it left in its group

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


@dataclass
class RelayTopology:
    double: RelayDouble
    state_file: Path
    workdir: Path
    host_settings: dict[str, str]
    children: list[Child] = field(default_factory=list)
    base_url: str = ""
    agent_settings: dict[str, str] = field(default_factory=dict)  # more for every agent started after
    s4: S4System | None = None  # the S/4 double the agents talk to (SAP_TRANSPORT=odata), else the simulator
    s4_settings: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ SAP's faults, by back end

    def storm_faults(self, seed: int) -> str:
        """The storm's faults: for the simulator agents' SAP_SIMULATOR_FAULTS (returned); on S/4 armed once on the
        one double, whichever agent asks (lines cut before requests and after committed POSTs, each costing
        an account one claim window; a little latency so that a kill lands in the middle of units), "" returned."""
        if self.s4 is None:
            return f"{STORM_FAULTS},seed={seed}"
        plan = self.s4.faults.plan
        if plan.latency_ms == 0:
            plan.latency_ms = 25
            plan.arm("cut_before", 3)
            plan.arm("cut_after_commit", 3)
        return ""

    def commits_lose_answers(self) -> str:
        """Every commit commits and loses its answer (the app cannot know the outcome) until sap_heals()."""
        if self.s4 is None:
            return "communication_after_commit=1"
        self.s4.faults.plan.probabilities["cut_after_commit"] = 1.0
        return ""

    def sap_heals(self) -> None:
        """The S/4 double's faults end (the simulator's belong to the agent that was killed)."""
        if self.s4 is not None:
            self.s4.double.heal()

    def made_by_the_agents(self, customer: CustomerRecord | S4Customer, payload: dict) -> bool:
        """The customer is the product's own for this account: created by the agents' RFC user (the simulator),
        carrying the account's Salesforce Id (S/4)."""
        if isinstance(customer, S4Customer):
            return customer.external_id == payload["accountId"].upper()
        return customer.general["ENTERED_BY"] == AGENT_RFC_USER

    # ------------------------------------------------------------------ processes

    def _spawn(self, name: str, command: list[str], environment: dict[str, str]) -> Child:
        log_path = self.workdir / f"{name}-{len(self.children)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def _environment(self, settings: dict[str, str]) -> dict[str, str]:
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("SAP_", "AGENT_", "SALESFORCE_", "WEBSITE_"))
        }
        return {**inherited, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost", **settings}

    def start(self, *agent_faults: str) -> tuple[Child, list[Child]]:
        """The functions host and one agent per fault setting, started side by side (Python's start-up
        is most of the wait); returns once the host answers and every agent listens."""
        before = self.double.listener_count()
        agents = [self._spawn_agent(faults) for faults in agent_faults]
        host = self._spawn_host()
        self._wait(lambda: _answers(f"{self.base_url}/api/health"), host, "the functions host to answer")
        for agent in agents:
            self._wait(lambda: self.double.listener_count() >= before + len(agents), agent, "the agents to listen")
        return host, agents

    def start_agent(self, faults: str = "") -> Child:
        """An agent on the shared state file; returns once the relay double counts one more listener."""
        before = self.double.listener_count()
        agent = self._spawn_agent(faults)
        self._wait(lambda: self.double.listener_count() > before, agent, "the agent to listen")
        return agent

    def _spawn_agent(self, faults: str) -> Child:
        """Every agent logs on as the same RFC user, as agent/README.md requires of agents that share a
        hybrid connection: the duplicate guard adopts only customers its own RFC user created."""
        sap = (
            self.s4_settings
            if self.s4 is not None
            else {
                "SAP_TRANSPORT": "simulator",
                "SAP_SIMULATOR_STATE_FILE": str(self.state_file),
                "SAP_SIMULATOR_FAULTS": faults,
                "SAP_USER": AGENT_RFC_USER,
            }
        )
        return self._spawn(
            "agent",
            [sys.executable, "-m", "agent"],
            self._environment(
                {
                    "AGENT_RELAY_URL": URL,
                    "AGENT_RELAY_KEY_NAME": LISTEN_RULE,
                    "AGENT_RELAY_KEY": LISTEN_KEY,
                    "AGENT_RELAY_BASE_URL": f"ws://{self.double.host}:{self.double.port}",
                    "AGENT_PROOF_KEY": PROOF_KEY,
                    "AGENT_CONCURRENCY": "8",
                    "SAP_TIMEOUT_SECONDS": "1",
                    **sap,
                    **self.agent_settings,
                }
            ),
        )

    def start_host(self) -> Child:
        """The functions host on a new port; returns once GET /api/health answers 200."""
        host = self._spawn_host()
        self._wait(lambda: _answers(f"{self.base_url}/api/health"), host, "the functions host to answer")
        return host

    def _spawn_host(self) -> Child:
        port = free_port()
        # A message the host was working on when it died is visible again after --in-flight-visibility.
        host = self._spawn(
            "host",
            [
                sys.executable,
                "-m",
                "devhost",
                "--app-dir",
                ".",
                "--port",
                str(port),
                "--max-polling-interval",
                "0.5",
                "--in-flight-visibility",
                "4",
            ],
            self._environment(self.host_settings),
        )
        self.base_url = f"http://127.0.0.1:{port}"
        return host

    def wait_for_listeners(self, count: int) -> None:
        self._wait(lambda: self.double.listener_count() == count, None, f"{count} listener(s) on the relay")

    def _wait(self, condition: Callable[[], bool], child: Child | None, what: str) -> None:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not condition():
            if child is not None and not child.alive():
                raise AssertionError(f"{child.name} exited ({child.process.returncode}) before {what}:\n{child.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    # ------------------------------------------------------------------ the app and SAP

    def post(self, payload: dict, session: requests.Session | None = None) -> int | None:
        """The HTTP status, or None when no answer came (the host died with the request in flight)."""
        try:
            return (session or requests).post(f"{self.base_url}/api/customers", json=payload, timeout=30).status_code
        except requests.ConnectionError:
            return None

    def status(self, account_id: str) -> dict:
        answer = requests.get(f"{self.base_url}/api/customers/{account_id}", timeout=10)
        return answer.json() if answer.status_code == 200 else {}

    def wait_until_settled(self, payloads: Iterable[dict], timeout: float = 60) -> dict[str, dict]:
        """Every account's ledger entry once all are created, failed or needs_review (no more retries)."""
        wanted = [p["accountId"] for p in payloads]
        deadline = time.monotonic() + timeout
        statuses: dict[str, dict] = {}
        while time.monotonic() < deadline:
            statuses = {account: self.status(account) for account in wanted}
            if all(s.get("status") in TERMINAL for s in statuses.values()):
                return statuses
            time.sleep(0.3)
        unsettled = {a: s.get("status") for a, s in statuses.items() if s.get("status") not in TERMINAL}
        raise AssertionError(f"not settled within {timeout} s: {unsettled}\n" + self.logs())

    def sap_customers_of(self, payload: dict) -> list[CustomerRecord] | list[S4Customer]:
        """From the agents' SAP state file (SAP holds no Salesforce Id: each account has a name of its own), or
        on S/4 the double's partners carrying the account's Salesforce Id."""
        if self.s4 is not None:
            return self.s4.customers_of_account(payload["accountId"])
        name = split_name(payload["name"])[0]
        return [c for c in created_customers_in(self.state_file) if c.address.get("NAME") == name]

    def logs(self) -> str:
        return "\n".join(f"--- {child.name} ({child.log_path.name})\n{child.log()[-3000:]}" for child in self.children)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def relay_topology(
    connection_string: str, unique_name: str, workdir: Path, s4: tuple[S4System, dict[str, str]] | None = None
) -> Iterator[RelayTopology]:
    # The app's rule can only send and the agent's only listen, as in Azure (infra/): the double enforces it.
    with RelayDoubleThread(
        {SEND_RULE: SEND_KEY, LISTEN_RULE: LISTEN_KEY},
        namespace=NAMESPACE,
        rights={SEND_RULE: {"Send"}, LISTEN_RULE: {"Listen"}},
        response_timeout_seconds=20,
    ) as double:
        topology = RelayTopology(
            double,
            workdir / "sap.sqlite3",
            workdir,
            {
                "AzureWebJobsStorage": connection_string,
                "FUNCTIONS_WORKER_RUNTIME": "python",
                "SAP_TRANSPORT": "relay",
                "SAP_RELAY_URL": URL,
                "SAP_RELAY_KEY_NAME": SEND_RULE,
                "SAP_RELAY_KEY": SEND_KEY,
                "SAP_RELAY_BASE_URL": double.base_url,
                "SAP_AGENT_PROOF_KEY": PROOF_KEY,
                # Claims count as abandoned after the gateway's bound on one unit (5 x this) + 5 s, 10 s at least.
                "SAP_TIMEOUT_SECONDS": "1",
                "RETRY_QUEUE_NAME": f"retry{unique_name}",
                "LEDGER_TABLE_NAME": f"ledger{unique_name}",
                "RETRY_MAX_ATTEMPTS": "20",
                "RETRY_BASE_DELAY_SECONDS": "1",
                "RETRY_MAX_DELAY_SECONDS": "2",
                "RETRY_AFTER_SECONDS": "2",
                "SALESFORCE_WRITEBACK": "off",
                "PYTHON_THREADPOOL_THREAD_COUNT": "32",
            },
            s4=s4[0] if s4 else None,
            s4_settings=dict(s4[1]) if s4 else {},
        )
        try:
            yield topology
        finally:
            for child in reversed(topology.children):
                child.stop()


def storm_of(payloads: list[dict], times: int, seed: int) -> list[dict]:
    """Each payload `times` over, shuffled: the duplicates a flow's resends and double triggers make."""
    sends = [payload for payload in payloads for _ in range(times)]
    random.Random(seed).shuffle(sends)
    return sends


def assert_exactly_one_customer_each(topology: RelayTopology, payloads: list[dict], statuses: dict[str, dict]) -> None:
    for payload in payloads:
        customers = topology.sap_customers_of(payload)
        status = statuses[payload["accountId"]]
        assert len(customers) == 1, f"{payload['accountId']}: {len(customers)} SAP customers, ledger {status}"
        if status["status"] == "created":
            assert status["customerNumber"] == customers[0].number
    numbers = [c.number for p in payloads for c in topology.sap_customers_of(p)]
    assert len(set(numbers)) == len(numbers)


@dataclass
class Storm:
    """Several concurrent sends of the same accounts, in the background; `answered` counts the answers."""

    topology: RelayTopology
    sends: list[dict]
    workers: int = 12
    results: list[tuple[str, int | None]] = field(default_factory=list)
    answered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Storm:
        pending = list(self.sends)

        def work() -> None:
            with requests.Session() as session:
                while True:
                    with self._lock:
                        if not pending:
                            return
                        payload = pending.pop()
                    status = self.topology.post(payload, session)
                    with self._lock:
                        self.results.append((payload["accountId"], status))
                        self.answered += status is not None

        self._threads = [threading.Thread(target=work, daemon=True) for _ in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def wait_for_answers(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.answered < count:
            assert time.monotonic() < deadline, f"only {self.answered} answers\n{self.topology.logs()}"
            time.sleep(0.01)

    def finish(self) -> list[tuple[str, int | None]]:
        for thread in self._threads:
            thread.join(timeout=60)
        return self.results

    def accepted(self) -> set[str]:
        # 409: held for review, an accepted request an operator finishes (it was 202 before issue 21).
        return {account for account, status in self.results if status in (200, 201, 202, 409)}
