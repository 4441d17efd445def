"""host.json agrees with what the code assumes about the queue trigger and the HTTP routes."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.queue import QueueServiceClient
from requests.structures import CaseInsensitiveDict

from devtools.azurite import AzuriteEndpoints
from shared.bootstrap import bootstrap
from shared.core.retry_message import RetryKind, RetryMessage
from shared.settings import load_settings
from shared.storage.queue import StorageRetryQueue

HOST = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())


def _duration(text: str) -> timedelta:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


_MESSAGE_SENT = (
    b'<?xml version="1.0" encoding="utf-8"?><QueueMessagesList><QueueMessage><MessageId>1</MessageId>'
    b"<InsertionTime>Fri, 17 May 2024 09:30:15 GMT</InsertionTime>"
    b"<ExpirationTime>Fri, 24 May 2024 09:30:15 GMT</ExpirationTime><PopReceipt>r</PopReceipt>"
    b"<TimeNextVisible>Fri, 17 May 2024 09:30:15 GMT</TimeNextVisible></QueueMessage></QueueMessagesList>"
)


class _QueueService(requests.adapters.BaseAdapter):
    """Queue storage as far as creating a queue and putting a message go: records what is sent, answers 201."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        posted = request.method == "POST"
        if posted:
            self.bodies.append(request.body if isinstance(request.body, bytes) else str(request.body).encode())
        response = requests.Response()
        response.status_code, response.request, response.url = 201, request, request.url
        response._content = _MESSAGE_SENT if posted else b""
        response.raw = io.BytesIO(response._content)
        response.headers = CaseInsensitiveDict({"Content-Type": "application/xml"})
        return response

    def close(self) -> None:
        pass


def test_queue_messages_are_base64_as_the_retry_queue_writes_them():
    assert HOST["extensions"]["queues"]["messageEncoding"] == "base64"

    # What the retry queue puts on the wire (no storage needed: the HTTP transport records it).
    storage = _QueueService()
    session = requests.Session()
    session.mount("http://", storage)
    service = QueueServiceClient.from_connection_string(
        AzuriteEndpoints().connection_string, transport=RequestsTransport(session=session)
    )
    queue = StorageRetryQueue(service, "sap-customer-retry")
    message = RetryMessage(
        kind=RetryKind.CREATE,
        account_id="001Dn00000AbCdEIAV",
        tracking_id="trk-1",
        payload={"accountId": "001Dn00000AbCdEIAV", "name": "Müller & Söhne 🙂"},
        attempt=1,
        first_seen_at="2024-05-17T09:30:15Z",
        retry_token="r1",
    )
    queue.enqueue(message)
    queue.send_to_poison(message)

    assert len(storage.bodies) == 2  # the retry queue and its poison queue
    for body in storage.bodies:
        text = ET.fromstring(body).findtext("MessageText")
        # The host decodes base64 (messageEncoding above): strict base64 of the message's JSON.
        assert RetryMessage.from_json(base64.b64decode(text, validate=True)) == message


def test_a_crashing_retry_is_not_redelivered_in_a_tight_loop_and_ends_in_the_poison_queue():
    queues = HOST["extensions"]["queues"]
    # Our own backoff re-queues a new message and completes the old one; the host's redelivery only
    # covers an invocation that crashed (e.g. storage down while re-queueing): not at once, and bounded.
    assert _duration(queues["visibilityTimeout"]) >= timedelta(seconds=10)
    assert 1 < queues["maxDequeueCount"] <= 10


def test_an_invocation_outlives_the_stale_claim_window_which_outlives_the_longest_sap_unit():
    settings = load_settings({"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    services = bootstrap(config=settings)
    # an RFC unit: up to 4 steps of one timeout each, plus one retry started within the first timeout
    longest_sap_unit = timedelta(seconds=5 * settings.sap_timeout_seconds)
    assert longest_sap_unit < services.stale_claim_after < _duration(HOST["functionTimeout"])


def test_routes_live_under_api():
    assert HOST["extensions"]["http"]["routePrefix"] == "api"
