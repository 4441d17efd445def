"""Fixtures shared by every test folder: a fresh simulated SAP and services wired to fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shared import bootstrap
from shared.sap import simulator
from shared.sap.rfc import RfcSapGateway
from shared.service import Services
from shared.settings import RetrySettings, load_settings
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


@pytest.fixture
def sap_gateway(sap_system: simulator.SimulatedSap) -> RfcSapGateway:
    return RfcSapGateway({}, rfc_module=simulator)


@pytest.fixture
def fake_services(sap_gateway: RfcSapGateway) -> Iterator[Services]:
    """Services over the simulator and in-memory ledger/queue/write-back; installed in bootstrap so the
    HTTP functions use them too."""
    settings = load_settings({})
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
