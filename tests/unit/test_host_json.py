"""host.json agrees with what the code assumes about the queue trigger and the HTTP routes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from shared.bootstrap import build_services
from shared.settings import load_settings

HOST = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())


def _duration(text: str) -> timedelta:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_queue_messages_are_base64_as_the_retry_queue_writes_them():
    assert HOST["extensions"]["queues"]["messageEncoding"] == "base64"


def test_a_crashing_retry_is_not_redelivered_in_a_tight_loop_and_ends_in_the_poison_queue():
    queues = HOST["extensions"]["queues"]
    # Our own backoff re-queues a new message and completes the old one; the host's redelivery only
    # covers an invocation that crashed (e.g. storage down while re-queueing): not at once, and bounded.
    assert _duration(queues["visibilityTimeout"]) >= timedelta(seconds=10)
    assert 1 < queues["maxDequeueCount"] <= 10


def test_an_invocation_outlives_the_stale_claim_window_which_outlives_the_longest_sap_unit():
    settings = load_settings({"SAP_TRANSPORT": "simulator", "AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    services = build_services(settings)
    # an RFC unit: up to 4 steps of one timeout each, plus one retry started within the first timeout
    longest_sap_unit = timedelta(seconds=5 * settings.sap_timeout_seconds)
    assert longest_sap_unit < services.stale_claim_after < _duration(HOST["functionTimeout"])


def test_routes_live_under_api():
    assert HOST["extensions"]["http"]["routePrefix"] == "api"
