"""Fixtures shared by every test folder: a fresh simulated SAP, services wired to fakes, and Azurite.

Azurite is the test session's own, on free ports, not the developer's on 10000-10002: a `scripts/run`
in another terminal may stop that one (Ctrl-C stops what it started) in the middle of a test run, and
tests must not see a developer's data. One session fixture here, so a session never starts two.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from devtools.azurite import AzuriteEndpoints, ensure_azurite, stop_azurite
from shared import bootstrap
from shared.sap import simulator
from shared.sap.rfc import RfcSapGateway
from shared.settings import RetrySettings, Settings, load_settings
from shared.usecases import Services
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue, RecordingWriteBack

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def sap_system() -> Iterator[simulator.SimulatedSap]:
    """A fresh IDES-like SAP, installed as the process default for the test's duration."""
    system = simulator.SimulatedSap()
    with simulator.use_system(system):
        yield system


def simulated_gateway(**options: object) -> RfcSapGateway:
    """The production rfc adapter over the simulator (the process default system unless `system=`
    is given through a logon parameter), knowing how the simulator's FIND says "nothing found"."""
    return RfcSapGateway({}, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES,
                         **options)  # type: ignore[arg-type]


@pytest.fixture
def sap_gateway(sap_system: simulator.SimulatedSap) -> RfcSapGateway:
    return simulated_gateway()


@pytest.fixture
def fake_services(sap_gateway: RfcSapGateway) -> Iterator[Services]:
    """Services over the simulator and in-memory ledger/queue/write-back; installed in bootstrap so the
    HTTP functions use them too."""
    settings = load_settings({"SAP_TRANSPORT": "simulator"})
    services = Services(
        sap=sap_gateway,
        ledger=InMemoryLedger(),
        retry_queue=InMemoryRetryQueue(),
        organisation=settings.sap_organisation,
        retry=RetrySettings(max_attempts=4, base_delay_seconds=1, max_delay_seconds=8),
        writeback=RecordingWriteBack(),
        stale_claim_after=timedelta(seconds=60),
    )
    bootstrap.override(services, settings)
    yield services
    bootstrap.reset()


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    blob, queue, table = _free_ports(3)
    endpoints = ensure_azurite(endpoints=AzuriteEndpoints(blob_port=blob, queue_port=queue, table_port=table))
    yield endpoints
    stop_azurite()


@pytest.fixture
def storage_settings(azurite: AzuriteEndpoints) -> Settings:
    """Settings pointing at Azurite, with a ledger table and retry queue of this test's own."""
    suffix = uuid.uuid4().hex[:12]
    return Settings(
        storage_connection=azurite.connection_string,
        ledger_table_name=f"ledger{suffix}",
        retry=RetrySettings(queue_name=f"retry-{suffix}"),
    )


@pytest.fixture
def unique_name() -> str:
    """Lower-case letters and digits only: valid as a table and as a queue name."""
    return f"t{uuid.uuid4().hex[:16]}"
