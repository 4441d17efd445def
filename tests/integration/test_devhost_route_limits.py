"""Each route of the local host has its own request bound, as each function has in Azure: a route whose
function declares a larger bound (the push endpoint's 1 MiB) takes a real 100-notification outbound
message, while the others keep the host's 64 KiB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost import LocalHost
from devhost.host import LocalHostError
from devhost.http_server import MAX_REQUEST_BODY_BYTES, HttpLimits, RouteDeclarationError, declared_body_limit
from shared.core.outbound_message import MAX_MESSAGE_BYTES, MAX_NOTIFICATIONS, parse_outbound_message
from tests.support.outbound_messages import account_fields_of, outbound_message, soap_headers
from tests.support.samples import sample

APP = """
import hashlib
import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _echo(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body()
    return func.HttpResponse(json.dumps({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}),
                             mimetype="application/json")


@app.function_name("Messages")
@app.route(route="messages", methods=["POST"], trigger_extra_fields={"maxRequestBodyBytes": %(declared)d})
def messages(req: func.HttpRequest) -> func.HttpResponse:
    return _echo(req)


@app.function_name("Customers")
@app.route(route="customers", methods=["POST"])
def customers(req: func.HttpRequest) -> func.HttpResponse:
    return _echo(req)
"""


def _app(directory: Path, declared: int) -> Path:
    (directory / "function_app.py").write_text(APP % {"declared": declared}, encoding="utf-8")
    (directory / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    return directory


@pytest.fixture
def host(tmp_path) -> Iterator[LocalHost]:
    with LocalHost(_app(tmp_path, MAX_MESSAGE_BYTES), port=0) as running:
        yield running


def real_message(count: int = MAX_NOTIFICATIONS) -> bytes:
    """A message as Salesforce sends it: `count` notifications with the 17 fields our outbound message has."""
    from devtools.fake_salesforce import salesforce_id18

    accounts = [
        account_fields_of(
            dict(sample("german-account"), accountId=salesforce_id18(f"001Dn{n:010d}"), name=f"Route Limit {n} GmbH")
        )
        for n in range(count)
    ]
    return outbound_message(accounts)


def test_a_100_notification_message_is_over_the_hosts_default_and_under_the_push_endpoints_bound():
    body = real_message()
    assert len(parse_outbound_message(body).notifications) == MAX_NOTIFICATIONS
    assert MAX_REQUEST_BODY_BYTES < len(body) < MAX_MESSAGE_BYTES


def test_the_route_that_declares_a_larger_bound_takes_a_real_100_notification_message(host):
    body = real_message()
    answer = requests.post(f"{host.base_url}/api/messages", data=body, headers=soap_headers(), timeout=10)
    assert answer.status_code == 200 and answer.json()["length"] == len(body)


def test_the_other_routes_keep_the_hosts_bound_and_its_answer(host):
    body = real_message()
    answer = requests.post(f"{host.base_url}/api/customers", data=body, headers=soap_headers(), timeout=10)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"field": "body", "message": f"is {len(body)} bytes; the limit is {MAX_REQUEST_BODY_BYTES} bytes"}
    ]


def test_the_declared_bound_is_a_bound_too(host):
    body = b"x" * (MAX_MESSAGE_BYTES + 1)
    answer = requests.post(f"{host.base_url}/api/messages", data=body, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == f"is {len(body)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes"


def test_the_host_can_be_told_a_routes_bound_by_function_name(tmp_path):
    limits = HttpLimits(route_body_bytes={"Customers": MAX_MESSAGE_BYTES, "Messages": 1024})
    with LocalHost(_app(tmp_path, MAX_MESSAGE_BYTES), port=0, http_limits=limits) as running:
        body = real_message(10)
        assert requests.post(f"{running.base_url}/api/customers", data=body, timeout=10).status_code == 200
        assert requests.post(f"{running.base_url}/api/messages", data=body, timeout=10).status_code == 400


@pytest.mark.parametrize("declared", [0, 64 * 1024 * 1024])
def test_a_bound_the_local_host_cannot_take_stops_the_start_naming_the_function(tmp_path, declared):
    host = LocalHost(_app(tmp_path, declared), port=0)
    with pytest.raises(LocalHostError, match="failed to start: Messages: maxRequestBodyBytes") as raised:
        host.start()
    assert isinstance(raised.value.__cause__, RouteDeclarationError)


def test_the_products_push_endpoint_declares_the_bound_its_parser_enforces():
    """The push function declares its 1 MiB as a literal (indexing imports no SOAP code); it must stay the
    parser's own MAX_MESSAGE_BYTES, and the create keeps the host's 64 KiB."""
    import azure.functions as func

    from devhost.app_loader import describe_functions
    from functions import customers, push

    app = func.FunctionApp()
    app.register_functions(push.bp)
    app.register_functions(customers.bp)
    bounds = {spec.name: declared_body_limit(spec) for spec in describe_functions(app)}
    assert bounds["ReceiveSalesforceOutboundMessage"] == MAX_MESSAGE_BYTES
    assert bounds["CreateSAPCustomer"] is None
