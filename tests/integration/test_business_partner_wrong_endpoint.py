"""SAP_ODATA_URL pointing at something that is not the service (a logon page, a proxy that redirects): the
Business Partner gateway stops with a configuration error and creates nothing, instead of reading an HTML page
as "no partner has this Salesforce Id" (which would let a duplicate through)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from doubles.serving import serving
from s4_simulator.metadata import metadata_document
from shared.core.mapping import map_customer_request
from shared.core.validation import parse_customer_request
from shared.sap.business_partner import BusinessPartnerGateway
from shared.sap.business_partner_http import ODataConnection
from shared.sap.errors import SapConfigurationError
from shared.settings import load_settings
from tests.support.samples import sample

ORGANIZATION = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organization
LOGON_PAGE = b"<html><body><form action='/saml2/idp/sso'>Log on</form></body></html>"


class _LogonPage(BaseHTTPRequestHandler):
    """The service's metadata (so the gateway gets as far as its guard), and for anything else a logon page
    (200, HTML) or, under /redirect, a redirect to one."""

    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _answer(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        if self.path.split("?")[0].endswith("/$metadata"):
            self._send(200, metadata_document(), "application/xml")
        elif self.path.startswith("/redirect"):
            self._send(302, b"", "text/plain", Location="https://idp.example/saml2/idp/sso")
        else:
            self._send(200, LOGON_PAGE, "text/html")

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()


class _Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LogonPage)
        self.requests: list[str] = []


@pytest.fixture
def server() -> Iterator[_Server]:
    with serving(_Server(), "logon-page") as served:
        yield served


def gateway(server: _Server, prefix: str = "") -> BusinessPartnerGateway:
    url = f"http://127.0.0.1:{server.server_address[1]}{prefix}/sap/opu/odata/sap/API_BUSINESS_PARTNER"
    return BusinessPartnerGateway(ODataConnection(url, user="U", password="P", timeout_seconds=5), ORGANIZATION, "BP02")


def test_a_logon_page_instead_of_the_guards_answer_stops_the_create_before_anything_is_posted(server):
    client = gateway(server)
    creation = map_customer_request(parse_customer_request(sample("german-account")), ORGANIZATION)

    with pytest.raises(SapConfigurationError, match="without OData JSON"):
        client.create_customer(creation)
    assert not [request for request in server.requests if request.startswith("POST")]


def test_a_redirect_is_refused_as_configuration_not_followed(server):
    with pytest.raises(SapConfigurationError, match="redirected"):
        gateway(server, "/redirect").ping()
    assert all(request.startswith("GET /redirect") for request in server.requests)
