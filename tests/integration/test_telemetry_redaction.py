"""Issue 13 item 2: nothing exported to Application Insights carries a secret or personal data.

A full run through the triggers, with telemetry on and everything captured in memory as the exporters
would send it (tests/support/telemetry.py: spans, log records through OpenTelemetry's logging handler,
metrics; the requests instrumentation on, as the Azure Monitor distro has it by default):

* create (201) with the write-back to the fake Salesforce over HTTPS (OAuth password flow), a replay
  (200), SAP unreachable -> queued (202) -> the queue trigger creates it and writes back, an SAP
  rejection (422, its failure written back), an invalid request (400), a retry that gives up (poison);
* the relay path: the relay transport (SAS token, the app's HMAC proof) -> the relay double -> the agent
  -> SAP.

None of the passwords (SAP, Salesforce), tokens (Salesforce access tokens, SAS tokens and their
signatures, proof signatures), keys (SAS key, proof key, client secret) or the sample accounts' names,
streets, phone numbers, postal codes and e-mails may appear in any span name, attribute, event or
status, any log body or attribute (exception text included), or any metric attribute.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
import requests
from azure.functions.queue import QueueMessage  # the binding's message, with dequeue_count

import sap_simulator as simulator
from agent.api import AgentApi
from agent.listener import RelayListener
from agent.thread import ListenerThread
from devtools.fake_salesforce import FakeSalesforce
from devtools.relay_double import RelayDoubleThread
from functions.customers import create_sap_customer
from functions.retry import retry_create_sap_customer
from shared import bootstrap
from shared.salesforce.simple_salesforce import SimpleSalesforceWriteBack
from shared.sap.relay import PROOF_HEADER, RelaySapGateway
from shared.sap.rfc import RfcSapGateway
from shared.settings import RelayListenerSettings, RetrySettings, SalesforceAuth, load_settings
from shared.telemetry.metrics import CREATES, SAP_DURATION, WRITEBACK_DURATION
from shared.usecases import Services
from tests.fakes.ports import InMemoryLedger, InMemoryRetryQueue
from tests.support.samples import sample
from tests.support.sap import simulated_gateway
from tests.support.telemetry import CapturedTelemetry, captured_telemetry

ROOT = Path(__file__).resolve().parents[2]
PERSONAL_FIELDS = ("name", "street", "phone", "postalCode", "email", "city")
SAP_PASSWORD = "Sap-" + secrets.token_urlsafe(12)
RELAY_KEY_NAME, RELAY_KEY = "SendAndListen", secrets.token_urlsafe(32)
PROOF_KEY = secrets.token_urlsafe(48)
NAMESPACE = "redaction.servicebus.windows.net"
RELAY_URL = f"https://{NAMESPACE}/sap"


@dataclass
class Invocation:
    """What a `context` parameter carries (azure.functions.Context's attributes the app reads)."""

    invocation_id: str
    function_name: str = ""
    trace_context: Any = None


class RecordingSession(requests.Session):
    """The relay transport's HTTP session, keeping every header value it sent (tokens, proofs)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_headers: list[dict[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent_headers.append(dict(kwargs.get("headers") or {}))
        return super().request(method, url, **kwargs)


def post(payload: dict) -> func.HttpResponse:
    request = func.HttpRequest(
        "POST",
        "http://localhost/api/customers",
        headers={"Content-Type": "application/json"},
        body=json.dumps(payload).encode(),
    )
    return create_sap_customer(request, context=Invocation(uuid.uuid4().hex, "CreateSAPCustomer"))


def drain(queue: InMemoryRetryQueue, rounds: int = 10) -> None:
    """Run the queue trigger on every message until the queue is empty (delays are not waited for)."""
    for _ in range(rounds):
        messages = queue.take_all()
        if not messages:
            return
        for number, message in enumerate(messages):
            retry_create_sap_customer(
                QueueMessage(id=f"m{number}", body=message.to_json().encode(), dequeue_count=1),
                context=Invocation(uuid.uuid4().hex, "RetryCreateSAPCustomer"),
            )
    raise AssertionError("the retry queue did not drain")


@pytest.fixture(scope="module")
def sap() -> Iterator[simulator.SimulatedSap]:
    with simulator.use_system(simulator.SimulatedSap()) as system:
        yield system


def services_over(sap_gateway: Any, writeback: Any, transport: str) -> Services:
    settings = load_settings({"SAP_TRANSPORT": "simulator"})
    services = Services(
        sap=sap_gateway,
        ledger=InMemoryLedger(),
        retry_queue=InMemoryRetryQueue(),
        organization=settings.sap_organization,
        retry=RetrySettings(max_attempts=2, base_delay_seconds=1, max_delay_seconds=2),
        writeback=writeback,
        stale_claim_after=timedelta(seconds=60),
    )
    wired = bootstrap.instrumented(services, transport)
    bootstrap.override(wired, settings)
    return wired


def run_everything(sap: simulator.SimulatedSap, salesforce: FakeSalesforce) -> list[str]:
    """The whole run; returns the secrets that were in play (tokens and signatures as actually sent)."""
    german, us, japanese = sample("german-account"), sample("us-account"), sample("japanese-account")
    for account in (german, us, japanese):
        salesforce.add_account(account["accountId"], Name=account["name"])
    writeback = SimpleSalesforceWriteBack(
        salesforce.salesforce_settings(SalesforceAuth.PASSWORD), session=salesforce.session()
    )
    logon = {
        "ashost": "sap.example.internal",
        "sysnr": "00",
        "client": "100",
        "user": "RFC_SYNC",
        "passwd": SAP_PASSWORD,
    }
    direct = RfcSapGateway(logon, rfc_module=simulator, no_match_messages=simulator.NO_MATCH_MESSAGES)
    services = services_over(direct, writeback, "simulator")

    sap.faults.arm("communication_before")
    assert post(german).status_code == 202  # queued
    drain(services.retry_queue)  # the queue trigger creates it and writes the number back
    assert post(us).status_code == 201
    assert post(us).status_code == 200  # replayed from the ledger
    rejected = dict(us, accountId="001Dn00000Rejct", referenceCustomer="0000001000")
    salesforce.add_account(rejected["accountId"], Name="Rejected Corp")
    assert post(rejected).status_code == 422
    assert post(sample("invalid-account")).status_code == 400
    # SAP unreachable at every logon (nothing sent, every outcome known): the retry gives up into the poison
    # queue. (A line that broke during the create would end the account held for review instead.)
    sap.faults.down = True
    assert post(japanese).status_code == 202
    drain(services.retry_queue)  # max_attempts=2: the retry gives up
    assert [message.account_id for message in services.retry_queue.poison] == [japanese["accountId"]]
    sap.configure_faults(None)

    # The relay path: transport -> relay double -> agent -> SAP.
    session = RecordingSession()
    with RelayDoubleThread({RELAY_KEY_NAME: RELAY_KEY}, namespace=NAMESPACE, response_timeout_seconds=10) as double:
        listener = RelayListenerSettings(
            RELAY_URL, RELAY_KEY_NAME, RELAY_KEY, base_url=f"ws://{double.host}:{double.port}"
        )
        agent = ListenerThread(
            lambda: RelayListener(listener, AgentApi(simulated_gateway(), path="sap", proof_key=PROOF_KEY))
        )
        relay = RelaySapGateway(
            RELAY_URL, RELAY_KEY_NAME, RELAY_KEY, proof_key=PROOF_KEY, base_url=double.base_url, session=session
        )
        services_over(relay, writeback, "relay")
        with agent:
            assert post(japanese).status_code == 201
    sent = [
        value
        for headers in session.sent_headers
        for name, value in headers.items()
        if name in ("ServiceBusAuthorization", PROOF_HEADER)
    ]
    assert sent, "the relay transport sent no credentials: the relay path did not run"
    signatures = [
        part.split("=", 1)[1]
        for value in sent
        for part in value.replace("&", ",").split(",")
        if part.strip().startswith("sig=")
    ]
    credentials = salesforce.credentials
    return [
        SAP_PASSWORD,
        RELAY_KEY,
        PROOF_KEY,
        credentials.client_secret,
        credentials.password,
        *salesforce.issued_tokens(),
        *sent,
        *signatures,
    ]


def personal_data() -> list[str]:
    values = {"Rejected Corp"}
    for path in sorted((ROOT / "samples").glob("*.json")):
        account = json.loads(path.read_text(encoding="utf-8"))
        values |= {
            str(account[key]) for key in PERSONAL_FIELDS if isinstance(account.get(key), str) and len(account[key]) >= 5
        }  # "1234" (the invalid sample's) is no one's in particular
    # the digits of the phone numbers as an SAP or E.164 form might carry them
    values |= {"1234567", "5550100", "+4989", "+81312345678"}
    return sorted(values)


@pytest.fixture(scope="module")
def captured(sap: simulator.SimulatedSap) -> Iterator[tuple[CapturedTelemetry, list[str]]]:
    with captured_telemetry(instrument_http=True) as telemetry, FakeSalesforce() as salesforce:
        try:
            in_play = run_everything(sap, salesforce)
        finally:
            bootstrap.reset()
        yield telemetry, in_play


def test_no_secret_or_personal_data_in_any_span_log_record_or_metric(captured):
    telemetry, secrets_in_play = captured
    exported = telemetry.exported_text()
    assert sample("german-account")["accountId"] in exported  # the capture works: ids are there
    assert "SAP create_customer" in exported and "POST /v1/create" in exported  # both sides' spans
    assert any("http.url" in span.attributes for span in telemetry.spans())  # the requests instrumentation's
    for value in secrets_in_play:
        assert value not in exported, f"a secret ({value[:4]}...) reached the telemetry"
    for value in personal_data():
        assert value not in exported, f"{value!r} reached the telemetry"


def test_every_record_of_a_sync_carries_account_tracking_and_invocation_ids(captured):
    telemetry, _ = captured
    ours = [
        record
        for record in telemetry.logs()
        if record.instrumentation_scope is not None and record.instrumentation_scope.name.startswith("shared.usecases")
    ]
    assert ours
    for record in ours:
        attributes = record.log_record.attributes
        assert attributes.get("account_id") and attributes.get("invocation_id"), record.log_record.body
    # a record of a create that reached SAP names its tracking id too
    assert any(
        r.log_record.attributes.get("tracking_id") for r in ours if r.log_record.body == "customer created in SAP"
    )


def test_the_run_is_counted_by_outcome_and_timed(captured):
    telemetry, _ = captured
    counted: dict[tuple[str, str | None], int] = {}
    for attributes, value in telemetry.metric_points(CREATES):
        key = (attributes["outcome"], attributes.get("reason"))
        counted[key] = counted.get(key, 0) + value
    assert counted == {
        ("created", None): 3,  # the German account by its retry, the US one, the Japanese one through the relay
        ("replayed", None): 1,
        ("queued", None): 2,
        ("rejected", "sap_rejected"): 1,
        ("rejected", "invalid_request"): 1,
        ("poisoned", None): 1,
    }
    sap_calls = {(a["operation"], a["result"]) for a, _ in telemetry.metric_points(SAP_DURATION)}
    assert {("create_customer", "created"), ("create_customer", "transient")} <= sap_calls
    writebacks = {(a["operation"], a["result"]) for a, _ in telemetry.metric_points(WRITEBACK_DURATION)}
    assert {("record_created", "ok"), ("record_failed", "ok")} <= writebacks


def test_spans_mark_failures_by_type_and_kind_never_by_text(captured):
    telemetry, _ = captured
    failed = [
        span
        for span in telemetry.spans()
        if span.name == "SAP create_customer" and not span.status.is_ok and span.status.description
    ]
    assert failed
    for span in failed:
        assert span.attributes["error.type"].startswith("Sap")
        assert span.status.description == f"{span.attributes['error.type']} ({span.attributes['sap.error.kind']})"
        assert not span.events  # no exception event: its message may quote account data
