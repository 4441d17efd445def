"""The HTTP sessions read the environment once: they stop trusting it only when requests would find nothing there."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from shared import http_sessions
from shared.http_sessions import environment_configures_http


@pytest.mark.parametrize(
    ("environ", "proxies", "netrc_files", "expected"),
    [
        ({}, {}, set(), False),
        ({"PATH": "/usr/bin", "AzureWebJobsStorage": "x", "SAP_TRANSPORT": "relay"}, {}, set(), False),
        ({}, {"https": "http://proxy.example:3128"}, set(), True),  # HTTPS_PROXY, or the system's proxy
        ({}, {"no": "localhost"}, set(), True),  # NO_PROXY alone: requests' own handling decides
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"}, {}, set(), True),
        ({"CURL_CA_BUNDLE": "/etc/ssl/corp.pem"}, {}, set(), True),
        ({"REQUESTS_CA_BUNDLE": ""}, {}, set(), False),  # empty: requests ignores it too (`or`)
        ({"NETRC": "/secrets/netrc"}, {}, set(), True),
        ({}, {}, {".netrc"}, True),
        ({}, {}, {"_netrc"}, True),
    ],
    ids=[
        "nothing",
        "app-settings-only",
        "proxy",
        "no-proxy-only",
        "requests-ca-bundle",
        "curl-ca-bundle",
        "empty-ca-bundle",
        "netrc-variable",
        "netrc-file",
        "underscore-netrc-file",
    ],
)
def test_the_environment_is_trusted_only_when_it_configures_what_requests_reads(
    environ: dict[str, str], proxies: dict[str, str], netrc_files: set[str], expected: bool
) -> None:
    home = os.path.expanduser("~")

    def exists(path: str) -> bool:
        return any(path == os.path.join(home, name) for name in netrc_files)

    assert environment_configures_http(environ, proxies=lambda: proxies, file_exists=exists) is expected


def test_the_proxy_check_is_urllibs_own_reading_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert environment_configures_http({}, file_exists=lambda _: False) is True
    monkeypatch.delenv("https_proxy")
    assert environment_configures_http({}, file_exists=lambda _: False) is False


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A plain HTTP server recording the request line each request arrives with (a proxy sees the full URL)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.requestline)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_session_made_under_a_proxy_setting_still_goes_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch, recording_server: tuple[str, list[str]]
) -> None:
    proxy_url, seen = recording_server
    monkeypatch.setattr(http_sessions, "environment_configures_http", lambda: True)
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("http_proxy", proxy_url)
    session = http_sessions.new_session()
    assert session.trust_env is True
    assert session.get("http://storage.invalid/devstoreaccount1/ledger", timeout=5).status_code == 204
    assert seen == ["GET http://storage.invalid/devstoreaccount1/ledger HTTP/1.1"]


def test_a_session_made_without_any_setting_sends_directly_and_skips_the_lookups(
    monkeypatch: pytest.MonkeyPatch, recording_server: tuple[str, list[str]]
) -> None:
    url, seen = recording_server
    monkeypatch.setattr(http_sessions, "environment_configures_http", lambda: False)
    session = http_sessions.new_session()
    assert session.trust_env is False
    looked_up: list[str] = []
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", lambda *args, **kwargs: looked_up.append("netrc"))
    monkeypatch.setattr(
        requests.sessions, "get_environ_proxies", lambda *args, **kwargs: looked_up.append("proxies") or {}
    )
    assert session.get(f"{url}/ledger", timeout=5).status_code == 204
    assert seen == ["GET /ledger HTTP/1.1"]
    assert looked_up == []


@pytest.mark.parametrize("trusted", [False, True])
def test_the_storage_salesforce_and_relay_clients_use_such_sessions(
    monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    from shared.salesforce.simple_salesforce import SalesforceConnection
    from shared.sap.relay import RelaySapGateway
    from shared.settings import SalesforceAuth, SalesforceSettings
    from shared.storage.clients import _pooled_transport

    monkeypatch.setattr(http_sessions, "environment_configures_http", lambda: trusted)
    assert _pooled_transport(5, 20).session.trust_env is trusted
    relay = RelaySapGateway(
        "https://example.servicebus.windows.net/sap", key_name="send", key="k" * 44, proof_key="p" * 32
    )
    assert relay._session.trust_env is trusted
    salesforce = SalesforceConnection(
        SalesforceSettings(
            auth=SalesforceAuth.CLIENT_CREDENTIALS,
            instance_url="https://example.my.salesforce.com",
            client_id="id",
            client_secret="secret",
        )
    )
    assert salesforce._http.trust_env is trusted
