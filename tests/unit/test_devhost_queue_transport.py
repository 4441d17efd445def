"""The local host's queue clients: the environment read once, and the storage SDK's own timeouts kept."""

from __future__ import annotations

import os

import pytest
from azure.storage.queue.aio import QueueClient

from devhost import queue_listener
from devhost.queue_listener import aiohttp_reads_environment, queue_client


@pytest.mark.parametrize(
    ("environ", "proxies", "netrc_files", "expected"),
    [
        ({}, {}, set(), False),
        ({"AzureWebJobsStorage": "UseDevelopmentStorage=true", "RETRY_QUEUE_NAME": "retry"}, {}, set(), False),
        ({}, {"https": "http://proxy.example:3128"}, set(), True),
        ({"NETRC": "/secrets/netrc"}, {}, set(), True),
        ({}, {}, {".netrc"}, True),
        ({}, {}, {"_netrc"}, True),
    ],
    ids=["nothing", "app-settings-only", "proxy", "netrc-variable", "netrc-file", "windows-netrc-file"],
)
def test_aiohttp_trusts_the_environment_only_when_it_would_find_a_proxy_or_netrc(
    environ, proxies, netrc_files, expected
):
    home = os.path.expanduser("~")

    def exists(path: str) -> bool:
        return any(path == os.path.join(home, name) for name in netrc_files)

    assert aiohttp_reads_environment(environ, lambda: proxies, exists) is expected


def _transport(client: QueueClient):
    transport = client._client._client._pipeline._transport
    return getattr(transport, "_transport", transport)


@pytest.mark.parametrize("reads_environment", [False, True])
def test_the_hosts_queue_client_keeps_the_sdks_timeouts_and_the_environment_decision(monkeypatch, reads_environment):
    monkeypatch.setattr(queue_listener, "aiohttp_reads_environment", lambda: reads_environment)
    ours = _transport(queue_client("AzureWebJobsStorage", "q", {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
    sdk_default = _transport(QueueClient.from_connection_string("UseDevelopmentStorage=true", "q"))

    assert (ours.connection_config.timeout, ours.connection_config.read_timeout) == (
        sdk_default.connection_config.timeout,
        sdk_default.connection_config.read_timeout,
    )
    assert ours._use_env_settings is reads_environment
