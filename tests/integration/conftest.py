"""Fixtures for tests against a real Azurite: one of the test session's own, on free ports.

Its own, not the developer's on 10000-10002: a `scripts/run` in another terminal may stop that one
(Ctrl-C stops what it started) in the middle of a test run, and tests must not see a developer's data.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from devtools.azurite import AzuriteEndpoints, ensure_azurite, stop_azurite
from shared.settings import RetrySettings, Settings


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
