"""Fixtures shared by every test folder: a fresh simulated SAP, services wired to fakes, and Azurite.
Helpers and fakes are in tests/support/ and tests/fakes/, never imported from here.

Azurite is the test session's own, on free ports, not the developer's on 10000-10002: a `scripts/run`
in another terminal may stop that one (Ctrl-C stops what it started) in the middle of a test run, and
tests must not see a developer's data. One session fixture here, so a session never starts two.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

import sap_simulator as simulator
from devtools.azurite import AzuriteEndpoints, ensure_azurite, stop_azurite
from shared import bootstrap
from shared.sap.rfc import RfcSapGateway
from shared.settings import RetrySettings, Settings, load_settings
from shared.usecases import Services
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue, RecordingWriteBack
from tests.support.network import free_ports
from tests.support.sap import simulated_gateway


@pytest.fixture
def sap_system() -> Iterator[simulator.SimulatedSap]:
    """A fresh IDES-like SAP, installed as the process default for the test's duration."""
    system = simulator.SimulatedSap()
    with simulator.use_system(system):
        yield system


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
        organization=settings.sap_organization,
        retry=RetrySettings(max_attempts=4, base_delay_seconds=1, max_delay_seconds=8),
        writeback=RecordingWriteBack(),
        stale_claim_after=timedelta(seconds=60),
    )
    bootstrap.override(services, settings)
    yield services
    bootstrap.reset()


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    blob, queue, table = free_ports(3)
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
