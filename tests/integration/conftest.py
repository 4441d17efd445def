"""Fixtures for tests against a real Azurite: started once per session when none is running."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devtools.azurite import AzuriteEndpoints, ensure_azurite, stop_azurite
from shared.settings import RetrySettings, Settings


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    endpoints = ensure_azurite()
    yield endpoints
    stop_azurite()  # only stops an Azurite this session started; a developer's own keeps running


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
