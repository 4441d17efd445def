"""Issue 13's acceptance: one trace from the caller through the function, the relay double and the agent
to SAP. The caller sends a W3C traceparent (as the custom connector's platform does); the function app
on SAP_TRANSPORT=relay runs in the local host, the agent listens on the relay double; spans go to an
in-memory exporter. The requests instrumentation stays off here, so the trace context the agent sees
can only have come from the relay transport's own headers (shared/sap/relay.py)."""

from __future__ import annotations

import pytest
import requests
from opentelemetry.trace import SpanKind

from tests.e2e.test_relay_e2e import RelayProduct, relay_product  # noqa: F401 - the fixture
from tests.support.s4 import BACK_ENDS
from tests.support.samples import sample
from tests.support.sap import simulated_gateway
from tests.support.telemetry import captured_telemetry

pytestmark = pytest.mark.e2e

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize("relay_product", BACK_ENDS, indirect=True)
def test_a_span_of_the_function_and_one_of_the_agent_share_the_callers_trace_id(
    relay_product: RelayProduct,  # noqa: F811 - the fixture of test_relay_e2e
):
    with captured_telemetry() as captured, relay_product.agent():
        created = requests.post(
            f"{relay_product.base_url}/api/customers",
            json=sample("german-account"),
            headers={"traceparent": CALLER_TRACEPARENT},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        spans = captured.spans()

    by_name = {span.name: span for span in spans}
    invocation = by_name["CreateSAPCustomer"]
    sap_call = by_name["SAP create_customer"]
    agent_request = by_name["POST /v1/create"]
    create_rfcs = [
        span for span in spans if span.name in ("RFC BAPI_CUSTOMER_CREATEFROMDATA1", "RFC BAPI_TRANSACTION_COMMIT")
    ]
    on_s4 = relay_product.sap_gateway is not simulated_gateway

    assert f"{invocation.context.trace_id:032x}" == CALLER_TRACE_ID  # connector -> function
    assert invocation.kind is SpanKind.SERVER and sap_call.kind is SpanKind.CLIENT
    assert sap_call.parent.span_id == invocation.context.span_id
    # function -> relay -> agent: the agent's server span continues the trace from the request headers
    assert agent_request.kind is SpanKind.SERVER
    assert agent_request.context.trace_id == invocation.context.trace_id
    assert agent_request.parent.is_remote and agent_request.parent.span_id == sap_call.context.span_id
    # agent -> SAP: the create's calls are client spans, children of the agent's request: the RFC function
    # calls on ECC, the OData requests on S/4 (the partner's deep insert and the customer's sales area and
    # company code data, named by entity set, never by key or filter).
    if on_s4:
        posts = sorted(span.name for span in spans if span.name.startswith("OData POST "))
        assert create_rfcs == [] and relay_product.sap.created_customers() == []
        assert posts == [
            "OData POST A_BusinessPartner",
            "OData POST A_CustomerCompany",
            "OData POST A_CustomerSalesArea",
        ]
        assert all(
            span.kind is SpanKind.CLIENT and span.parent.span_id == agent_request.context.span_id
            for span in spans
            if span.name.startswith("OData POST ")
        )
    else:
        assert len(create_rfcs) == 2
        assert all(
            span.kind is SpanKind.CLIENT and span.parent.span_id == agent_request.context.span_id
            for span in create_rfcs
        )
    assert agent_request.attributes["http.response.status_code"] == 200
    assert sap_call.attributes["sap.result"] == "created"
    assert sap_call.attributes["account_id"] == created.json()["accountId"]
