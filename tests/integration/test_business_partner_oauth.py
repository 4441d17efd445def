"""SAP_ODATA_AUTH=oauth: the Business Partner gateway's OAuth 2.0 client credentials (shared/sap/
business_partner_auth.py) over real HTTP. The token endpoint here follows RFC 6749 section 4.4 (grant_type=
client_credentials in a form body, the client authenticated with HTTP basic, section 2.3.1; the answer's
access_token and expires_in, section 5.1); the service answers 401 to a bearer token it no longer accepts,
as a resource server does (RFC 6750 section 3.1). What SAP's own authorisation server adds is not modelled."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from doubles.serving import serving
from shared.sap.business_partner import BusinessPartnerGateway
from shared.sap.business_partner_http import ODataConnection
from shared.sap.errors import SapConfigurationError
from shared.settings import load_settings

CLIENT = ("sap-sync", "client-secret")


class _Endpoints(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # the token endpoint
        form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
        expected = "Basic " + base64.b64encode(":".join(CLIENT).encode()).decode()
        if self.path != "/oauth/token" or form.get("grant_type") != "client_credentials":
            self._answer(400, {"error": "unsupported_grant_type"})
        elif self.headers.get("Authorization") != expected:
            self._answer(401, {"error": "invalid_client"})
        else:
            with self.server.lock:
                self.server.issued += 1
                token = f"token-{self.server.issued}"
                self.server.valid.add(token)
            self._answer(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

    def do_GET(self) -> None:  # the service document
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.server.valid:
            self._answer(401, {"error": {"code": "401", "message": {"value": "Unauthorized"}}})
        else:
            self._answer(200, {"d": {"EntitySets": []}})


class _Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Endpoints)
        self.lock = threading.Lock()
        self.issued = 0
        self.valid: set[str] = set()


@pytest.fixture
def server() -> Iterator[_Server]:
    with serving(_Server(), "oauth-endpoints") as served:
        yield served


def gateway(server: _Server, secret: str = CLIENT[1]) -> BusinessPartnerGateway:
    root = f"http://127.0.0.1:{server.server_address[1]}"
    connection = ODataConnection(
        f"{root}/sap/opu/odata/sap/API_BUSINESS_PARTNER",
        auth="oauth",
        client_id=CLIENT[0],
        client_secret=secret,
        token_url=f"{root}/oauth/token",
        timeout_seconds=5,
    )
    return BusinessPartnerGateway(connection, load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization, "BP02")


def test_one_token_serves_every_request_until_it_is_refused_then_one_new_one_is_fetched(server):
    client = gateway(server)
    client.ping()
    client.ping()
    assert server.issued == 1

    server.valid.clear()  # the authorisation server revoked it (or it expired early)
    client.ping()

    assert server.issued == 2


def test_a_client_the_token_endpoint_refuses_is_a_configuration_error(server):
    with pytest.raises(SapConfigurationError, match="SAP_ODATA_CLIENT_SECRET"):
        gateway(server, secret="wrong").ping()
    assert server.issued == 0
