"""The change path on the wire (shared/sap/wire_change.py) and the agent's POST /v1/change and /v1/read
(agent/api.py) on the simulator: round trips, errors as the same classes, refusals before SAP, the deadline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayRequest, RelayResponse
from shared.core.change_models import CustomerChange, SapCustomerChanged, SapCustomerSnapshot
from shared.sap import wire, wire_change, wire_probe
from shared.sap.errors import SapBusinessRejection, SapNotStarted, SapOutcomeUnknown
from shared.sap.port import SapMessage
from shared.sap.relay import PROOF_HEADER, proof_header
from shared.sap.wire import WireFormatError
from tests.support.sap import (
    GERMAN_ADDRESS,
    GERMAN_PHONE,
    customer_in_sales_area,
    fresh_system_with,
    simulated_gateway,
)

KEY = b"agent-proof-key"
CUSTOMER = "0000100001"
CHANGE = CustomerChange(
    "001Aj00000AbCdEIAV",
    CUSTOMER,
    {"STREET": "Neue Str. 1", "TEL1_NUMBR": ""},
    "1000",
    "10",
    "00",
    "2026-12-07T10:00:00.000Z",
)


@pytest.fixture
def system() -> Iterator[simulator.SimulatedSap]:
    address = {**GERMAN_ADDRESS, "NAME": "Müller GmbH", "TEL1_NUMBR": GERMAN_PHONE}
    with fresh_system_with(customer_in_sales_area(CUSTOMER, address)) as fresh:
        yield fresh


def serve(api: AgentApi, method: str, path: str, body: bytes = b"", received_at: float | None = None) -> RelayResponse:
    headers = {PROOF_HEADER: proof_header(KEY, method, path, body)}
    request = RelayRequest(method, path, headers, body)
    if received_at is not None:
        request = RelayRequest(method, path, headers, body, received_at=received_at)
    return asyncio.run(api(request))


def test_a_change_and_its_answer_cross_the_wire_unchanged_but_for_the_warnings():
    assert wire_change.decode_change(wire_change.encode_change(CHANGE)) == CHANGE
    changed = SapCustomerChanged(CUSTOMER, (SapMessage("S", "F2", "056", "Customer changed"),))
    assert wire_change.decode_changed(wire_change.encode_changed(changed)) == changed
    assert wire_change.decode_read(wire_change.encode_read(CUSTOMER)) == CUSTOMER
    snapshot = SapCustomerSnapshot(CUSTOMER, {"NAME": "Müller GmbH", "STREET": "Hauptstr. 5"})
    assert wire_change.decode_customer(wire_change.encode_customer(snapshot)) == snapshot


def test_an_error_answer_raises_the_same_class_with_sap_messages():
    rejection = SapBusinessRejection((SapMessage("E", "F2", "163", "Customer 0000999999 does not exist"),))
    with pytest.raises(SapBusinessRejection) as raised:
        wire_change.decode_changed(wire.encode_error(rejection))
    assert raised.value.message == rejection.message
    with pytest.raises(SapOutcomeUnknown):
        wire_change.decode_customer(wire.encode_error(SapOutcomeUnknown("cut")))


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"version": 2, "type": "changed", "customerNumber": CUSTOMER}),
        json.dumps({"version": 1, "type": "created", "customerNumber": CUSTOMER}),
        json.dumps({"version": 1, "type": "changed", "customerNumber": 100001}),
        json.dumps({"version": 1, "type": "customer", "customerNumber": CUSTOMER, "companyData": {"NAME": 1}}),
    ],
)
def test_anything_else_is_refused_never_read_as_applied(text):
    with pytest.raises(WireFormatError):
        wire_change.decode_changed(text) if 'customer"' not in text else wire_change.decode_customer(text)


def test_the_agent_changes_and_reads_on_sap_and_lists_both_operations(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    changed = serve(api, "POST", "/v1/change", wire_change.encode_change(CHANGE).encode())
    assert changed.status == 200 and wire_change.decode_changed(changed.body).customer_number == CUSTOMER
    read = wire_change.decode_customer(serve(api, "POST", "/v1/read", wire_change.encode_read("100001").encode()).body)
    assert read.company_data["STREET"] == "Neue Str. 1" and read.company_data["TEL1_NUMBR"] == ""
    about = wire_probe.decode_about(serve(api, "GET", "/v1/about").body)
    assert {"/v1/change", "/v1/read"} <= set(about.operations)


def test_the_agent_answers_sap_rejection_as_a_wire_error(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    unknown = CustomerChange(**{**CHANGE.__dict__, "customer_number": "0000999999"})
    answer = serve(api, "POST", "/v1/change", wire_change.encode_change(unknown).encode())
    with pytest.raises(SapBusinessRejection) as raised:
        wire_change.decode_changed(answer.body)
    assert (raised.value.message.id, raised.value.message.number) == ("F2", "502")


def test_the_agent_refuses_a_change_without_the_apps_proof_and_a_bad_body_before_sap(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    body = wire_change.encode_change(CHANGE).encode()
    assert asyncio.run(api(RelayRequest("POST", "/v1/change", {}, body))).status == 401
    assert serve(api, "POST", "/v1/change", b'{"version": 1, "type": "create"}').status == 400
    assert serve(api, "POST", "/v1/read", b"[]").status == 400
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == 0


def test_a_change_that_can_no_longer_be_answered_in_time_is_not_started(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY, unit_budget_seconds=10, answer_deadline_seconds=20)
    answer = serve(
        api, "POST", "/v1/change", wire_change.encode_change(CHANGE).encode(), received_at=time.monotonic() - 15
    )
    with pytest.raises(SapNotStarted):
        wire_change.decode_changed(answer.body)
    assert system.calls["BAPI_CUSTOMER_CHANGEFROMDATA1"] == 0
