"""The go-live probes on the wire (shared/sap/wire_probe.py) and at the agent (agent/api.py /v1/about,
/v1/probe): every answer survives the round trip, and the agent serves only the narrow probes it checked,
behind the same proof as the creates, never as a generic RFC proxy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayRequest, RelayResponse
from shared.core.organization import SalesArea
from shared.core.preflight_relay import AgentAbout
from shared.sap import wire, wire_probe
from shared.sap.errors import SapConfigurationError
from shared.sap.inspector import CustomerProbe, FindAnswer, FindCriterion, FindResultRow, SapSystemInfo
from shared.sap.port import SapMessage
from shared.sap.relay import PROOF_HEADER, proof_header
from shared.sap.wire import WireFormatError
from tests.support.sap import simulated_gateway

KEY = b"k" * 40
NOT_FOUND = SapMessage("E", "F2", "173", "No customer found for the selection criteria")


@pytest.fixture
def system() -> Iterator[simulator.SimulatedSap]:
    with simulator.use_system(simulator.SimulatedSap()) as fresh:
        yield fresh


def test_every_probe_answer_survives_the_wire():
    info = SapSystemInfo("PRD", "750", "HDB", "", (("F2", "173"),))
    customer = CustomerProbe(
        "0000001000",
        True,
        "Becker Berlin",
        "DE",
        (SalesArea("1000", "10", "00"),),
        (),
        (SapMessage("S", "F2", "", "ok"),),
    )
    missing = CustomerProbe("0000009999", False, messages=(SapMessage("E", "F2", "163", "does not exist"),))
    found = FindAnswer(NOT_FOUND, (FindResultRow("0000001000"), FindResultRow("", NOT_FOUND)))
    assert wire_probe.decode_system_info(wire_probe.encode_system_info(info)) == info
    assert wire_probe.decode_customer(wire_probe.encode_customer(customer)) == customer
    assert wire_probe.decode_customer(wire_probe.encode_customer(missing)) == missing
    assert wire_probe.decode_find(wire_probe.encode_find(found)) == found
    assert wire_probe.decode_find(wire_probe.encode_find(FindAnswer(None))) == FindAnswer(None)


def test_a_probe_answered_with_an_error_raises_the_same_error_class():
    with pytest.raises(SapConfigurationError, match="locked"):
        wire_probe.decode_system_info(wire.encode_error(SapConfigurationError("user locked")))


def test_the_probe_commands_round_trip():
    criteria = [FindCriterion("NAME1", "Becker Berlin"), FindCriterion("LAND1", "US")]
    assert wire_probe.decode_probe(wire_probe.encode_find_probe(criteria, 100)) == (
        "find",
        {"criteria": criteria, "max_rows": 100},
    )
    assert wire_probe.decode_probe(wire_probe.encode_probe("customer", customer="1000")) == (
        "customer",
        {"number": "1000"},
    )
    assert wire_probe.decode_probe(wire_probe.encode_probe("system_info")) == ("system_info", {})


@pytest.mark.parametrize(
    "body",
    [
        {"probe": "rfc", "function": "RFC_READ_TABLE"},
        {"probe": "find", "criteria": [{"field": "STCD1", "value": "DE123"}], "maxRows": 1},
        {"probe": "find", "criteria": [{"field": "NAME1", "value": "x"}] * 3, "maxRows": 1},
        {"probe": "find", "criteria": [], "maxRows": 1},
        {"probe": "find", "criteria": [{"field": "NAME1", "value": "x"}], "maxRows": 0},
        {"probe": "find", "criteria": [{"field": "NAME1", "value": "x"}], "maxRows": 101},
        {"probe": "find", "criteria": [{"field": "NAME1", "value": "x"}], "maxRows": True},
        {"probe": "customer", "customer": "00000010001"},
        {"probe": "customer"},
    ],
    ids=[
        "another function",
        "another field",
        "too many rows",
        "no criteria",
        "no rows",
        "a page too long",
        "a boolean for a number",
        "a number too long",
        "no number",
    ],
)
def test_the_agent_runs_only_the_probes_it_checked(body):
    with pytest.raises(WireFormatError):
        wire_probe.decode_probe(json.dumps({"version": 1, "type": "probe", **body}))
    with pytest.raises(WireFormatError):
        wire_probe.decode_probe(json.dumps({"version": 2, "type": "probe", "probe": "system_info"}))


def serve(api: AgentApi, method: str, path: str, body: bytes = b"", proof: bytes | None = KEY) -> RelayResponse:
    headers = {PROOF_HEADER: proof_header(proof, method, path, body)} if proof else {}
    return asyncio.run(api(RelayRequest(method, path, headers, body)))


def test_the_agent_answers_about_with_its_wire_version_and_operations_only_with_the_apps_proof(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    assert serve(api, "GET", "/v1/about", proof=None).status == 401
    assert serve(api, "GET", "/v1/about", proof=b"y" * 40).status == 401
    answer = serve(api, "GET", "/v1/about")
    assert answer.status == 200
    assert wire_probe.decode_about(answer.body) == AgentAbout(1, wire_probe.AGENT_OPERATIONS, proof_checked=True)
    unchecked = AgentApi(simulated_gateway(), path="sap")  # AGENT_PROOF=off (the simulator, local tests)
    assert wire_probe.decode_about(serve(unchecked, "GET", "/v1/about", proof=None).body).proof_checked is False
    assert sum(system.calls.values()) == 0  # no SAP call for /v1/about


def test_the_agent_serves_a_find_probe_on_sap_and_refuses_another_with_400_before_sap(system):
    api = AgentApi(simulated_gateway(), path="sap", proof_key=KEY)
    good = wire_probe.encode_find_probe([FindCriterion("NAME1", "Becker Berlin")], 5).encode()
    answer = wire_probe.decode_find(serve(api, "POST", "/v1/probe", good).body)
    assert [row.customer for row in answer.rows] == ["0000001000"]
    calls = sum(system.calls.values())
    bad = json.dumps(
        {"version": 1, "type": "probe", "probe": "find", "maxRows": 5, "criteria": [{"field": "KUNNR", "value": "*"}]}
    ).encode()
    refused = serve(api, "POST", "/v1/probe", bad)
    assert refused.status == 400 and "not a wire probe" in json.loads(refused.body)["detail"]
    assert sum(system.calls.values()) == calls
    assert serve(api, "POST", "/v1/probe", good, proof=None).status == 401


def test_a_customer_probe_for_a_customer_that_does_not_exist_says_so_with_sap_s_message(system):
    api = AgentApi(simulated_gateway(), path="sap")
    body = wire_probe.encode_probe("customer", customer="9999").encode()
    probe = wire_probe.decode_customer(serve(api, "POST", "/v1/probe", body, proof=None).body)
    assert probe.number == "0000009999" and not probe.exists
    assert [(m.type, m.id, m.number) for m in probe.messages] == [("E", "F2", "163")]


def test_without_probes_for_its_gateway_the_sap_checks_are_all_skipped_saying_what_to_check_by_hand():
    """S/4HANA's OData gateway (SAP_TRANSPORT=odata, in the app or behind the agent): the probes are the RFC BAPIs',
    so nothing is asked of SAP and nothing fails; every SAP check is skipped with the manual step."""
    from shared.core.organization import SalesAreaSetup, SapOrganization
    from shared.sap.inspector import ODATA_NOT_PROBED, NoProbes
    from shared.usecases.preflight.sap import SapPreflightParts, check_sap

    organization = SapOrganization(sales_areas={SalesArea("1000", "10", "00"): SalesAreaSetup("1000", "0000001000")})
    results = check_sap(SapPreflightParts("odata", NoProbes(ODATA_NOT_PROBED), organization))
    assert [r.check for r in results][:3] == ["logon", "interface", "sales_area 1000/10/00"]
    assert all(r.verdict.value == "skipped" and r.found == ODATA_NOT_PROBED for r in results)
    info = NoProbes(ODATA_NOT_PROBED).system_info()
    assert wire_probe.decode_system_info(wire_probe.encode_system_info(info)) == info and info.probes is False


def test_an_agent_whose_gateway_is_not_the_rfc_adapter_says_it_has_no_probes(system):
    from shared.core.models import CustomerCreation
    from shared.sap.port import SapCustomerCreated, SapGateway, SapInterface

    class OtherGateway(SapGateway):  # the port with no RFC behind it (as S/4HANA's OData gateway)
        def check_interface(self) -> SapInterface:
            raise AssertionError("not called")

        def create_customer(self, creation: CustomerCreation) -> SapCustomerCreated:
            raise AssertionError("not called")

        def ping(self) -> None:
            raise AssertionError("not called")

    api = AgentApi(OtherGateway(), path="sap")
    answer = serve(api, "POST", "/v1/probe", wire_probe.encode_probe("system_info").encode(), proof=None)
    info = wire_probe.decode_system_info(answer.body)
    assert info.probes is False and "SAP_TRANSPORT=odata" in info.note
    refused = serve(api, "POST", "/v1/probe", wire_probe.encode_probe("customer", customer="1").encode(), proof=None)
    assert json.loads(refused.body)["error"] == "misconfigured"
    assert sum(system.calls.values()) == 0
