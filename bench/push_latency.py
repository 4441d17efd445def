"""Push path latency: from a Salesforce outbound message received to the SAP number recorded, against
the same account sent through the HTTP action (POST /api/customers, what the Power Automate flow calls).

`python -m bench.push_latency [--accounts N]` prints a table and the same numbers as JSON.

Everything runs as the e2e benchmark does: devhost.LocalHost in this process serving function_app over
real HTTP, ledger and retry queue in Azurite (started if none listens), the SAP simulator with no
latency, write-back off. The queue trigger polls as host.json says (maxPollingInterval 2 s, the
Functions host's backoff from 100 ms after an empty poll), because that polling is what the push path
adds. "Recorded" is the ledger's `updatedAt` of the entry that turned `created` (the status API),
so no polling of ours is counted; both clocks are this machine's.

Series:
* push, single: one notification per message, one account at a time, each after a random pause of
  0-2 s (a person saving an account now and then: the queue trigger is found idle or backing off);
* push, batch: one message of 100 notifications (a data load); the acknowledgement's time too;
* http: the same accounts one at a time through POST /api/customers, which creates before it answers.
What Salesforce adds before its message leaves (its own queue, seconds by its documentation) and what
the Power Automate trigger adds before the HTTP action runs (its polling interval, a minute or more)
are outside this machine and not in these numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from bench.common import ROOT, Measurement, account_id15, load_samples, percentile, silence_log_output

SINGLE_ACCOUNTS = 25
BATCH_ACCOUNTS = 100
MAX_PAUSE_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 30
RECORDED_TIMEOUT_SECONDS = 60
QUICK_ACCOUNTS = 3
QUICK_PAUSE_SECONDS = 0.2
# Messages of one account sent while the batch's accounts are being created, this far apart.
DURING_ACCOUNTS = 60
QUICK_DURING = 3
DURING_GAP_SECONDS = 0.03
ACK_TARGET_MS = 100.0  # issue 27: the acknowledgement within 100 ms at p99 while 100 accounts are being created
PICKUP_TARGET = 1.2  # issue 27: p99 to recorded within 1.2 x the queue trigger's pickup bound
ORGANIZATION_ID = "00D5g000004XyZ1EAK"


def _remove_storage(connection_string: str, table_name: str, queue_name: str) -> None:
    # A reused (developer's own) Azurite keeps its data; leave nothing behind there.
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    with contextlib.suppress(Exception):
        TableServiceClient.from_connection_string(connection_string).delete_table(table_name)
    queues = QueueServiceClient.from_connection_string(connection_string)
    for name in (queue_name, f"{queue_name}-poison"):
        with contextlib.suppress(Exception):
            queues.delete_queue(name)


def _payloads(series: str, count: int) -> list[dict[str, Any]]:
    from devtools.fake_salesforce import salesforce_id18

    samples = load_samples()
    return [
        dict(
            samples[number % len(samples)],
            accountId=salesforce_id18(account_id15(series, number)),
            name=f"Bench {series} {number}",
        )
        for number in range(count)
    ]


def _recorded_at(session: requests.Session, base_url: str, account_id: str) -> datetime:
    """When the ledger recorded the account as created (its updatedAt), waiting until it has."""
    deadline = time.monotonic() + RECORDED_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = session.get(f"{base_url}/api/customers/{account_id}", timeout=REQUEST_TIMEOUT_SECONDS)
        if answer.status_code == 200 and answer.json()["status"] == "created":
            return datetime.fromisoformat(answer.json()["updatedAt"])
        time.sleep(0.05)
    raise TimeoutError(f"{account_id} was not created within {RECORDED_TIMEOUT_SECONDS} s")


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


def _push(session: requests.Session, base_url: str, payloads: list[dict[str, Any]]) -> tuple[datetime, float]:
    """Post one outbound message carrying these accounts; (when it was sent, ms until acknowledged)."""
    from tests.support.outbound_messages import account_fields_of, outbound_message, soap_headers

    body = outbound_message([account_fields_of(payload) for payload in payloads], organization_id=ORGANIZATION_ID)
    sent = datetime.now(UTC)
    started = time.perf_counter()
    answer = session.post(
        f"{base_url}/api/salesforce/outbound-messages",
        data=body,
        headers=soap_headers(),
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    ack_ms = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or b"<Ack>true</Ack>" not in answer.content:
        raise RuntimeError(f"outbound message not acknowledged: {answer.status_code} {answer.text[:200]}")
    return sent, ack_ms


def _measure(
    base_url: str, single: int, batch_size: int, pause_seconds: float, rng: random.Random, during_count: int
) -> dict[str, Any]:
    session = requests.Session()
    session.get(f"{base_url}/api/health", timeout=REQUEST_TIMEOUT_SECONDS).raise_for_status()
    # Warm-up: build the services, create table and queue, load reference data, on both ways in.
    for payload in _payloads("Wp", 2):
        _push(session, base_url, [payload])
        _recorded_at(session, base_url, payload["accountId"])
    for payload in _payloads("Wh", 2):
        session.post(f"{base_url}/api/customers", json=payload, timeout=REQUEST_TIMEOUT_SECONDS).raise_for_status()

    push_single, push_ack = [], []
    for payload in _payloads("Ps", single):
        time.sleep(rng.uniform(0, pause_seconds))
        sent, ack_ms = _push(session, base_url, [payload])
        push_ack.append(ack_ms)
        push_single.append(_ms(sent, _recorded_at(session, base_url, payload["accountId"])))

    batch = _payloads("Pb", batch_size)
    time.sleep(pause_seconds)
    sent, batch_ack_ms = _push(session, base_url, batch)
    # While the batch's accounts are being created (the queue trigger draining them), one account per message,
    # as people go on saving: the acknowledgements Salesforce waits for then.
    during = []
    for payload in _payloads("Pd", during_count):
        during.append(_push(session, base_url, [payload]))
        time.sleep(DURING_GAP_SECONDS)
    recorded = [_recorded_at(session, base_url, payload["accountId"]) for payload in batch]
    push_batch = [_ms(sent, at) for at in recorded]
    last_created = max(recorded)
    ack_while_creating = [ack_ms for sent_at, ack_ms in during if sent_at < last_created]

    http_single = []
    for payload in _payloads("Hs", single):
        sent = datetime.now(UTC)
        answer = session.post(f"{base_url}/api/customers", json=payload, timeout=REQUEST_TIMEOUT_SECONDS)
        if answer.status_code != 201:
            raise RuntimeError(f"create answered {answer.status_code}: {answer.text[:200]}")
        http_single.append(_ms(sent, _recorded_at(session, base_url, payload["accountId"])))
    return {
        "push_single": push_single,
        "push_ack": push_ack,
        "push_batch": push_batch,
        "batch_ack_ms": batch_ack_ms,
        "http_single": http_single,
        "ack_while_creating": ack_while_creating,
        "ack_during": [ack_ms for _, ack_ms in during],
    }


def run(quick: bool = False, single: int | None = None, seed: int = 15) -> list[Measurement]:
    """The bench's entry (bench/__main__.py BENCHMARKS): `quick` sends a few accounts only, to check
    the code runs."""
    if single is None:
        single = QUICK_ACCOUNTS if quick else SINGLE_ACCOUNTS
    batch_size = QUICK_ACCOUNTS if quick else BATCH_ACCOUNTS
    pause_seconds = QUICK_PAUSE_SECONDS if quick else MAX_PAUSE_SECONDS
    import sap_simulator as simulator
    from bench.harness import azurite as bench_azurite
    from bench.harness import environment
    from devhost import LocalHost
    from shared import bootstrap
    from shared.log import configure_logging

    configure_logging()
    silence_log_output()
    azurite = bench_azurite()  # the bench's own Azurite on free ports (python -m bench stops it at the end)
    suffix = uuid.uuid4().hex[:12]
    table_name, queue_name = f"benchpush{suffix}", f"bench-push-{suffix}"
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "SAP_TRANSPORT": "simulator",
        "SAP_SIMULATOR_FAULTS": "latency_ms=0",
        "LEDGER_TABLE_NAME": table_name,
        "RETRY_QUEUE_NAME": queue_name,
        "SALESFORCE_WRITEBACK": "off",
        "SALESFORCE_ORGANIZATION_ID": ORGANIZATION_ID,
    }
    try:
        with environment(settings):
            bootstrap.reset()
            with simulator.use_system(simulator.SimulatedSap()):
                # polling_cap_seconds=None: the queue trigger polls as host.json says, as in Azure. A
                # message of 100 accounts (about 100 KB) is within the 1 MiB the push endpoint declares.
                host = LocalHost(str(ROOT), port=0, polling_cap_seconds=None).start()
                try:
                    series = _measure(
                        host.base_url,
                        single,
                        batch_size,
                        pause_seconds,
                        random.Random(seed),
                        QUICK_DURING if quick else DURING_ACCOUNTS,
                    )
                finally:
                    host.stop()
                    bootstrap.reset()
    finally:
        _remove_storage(azurite.connection_string, table_name, queue_name)
    return _measurements(series, single, batch_size, pause_seconds)


def _pickup_bound_seconds() -> float:
    """host.json's maxPollingInterval: the longest an idle queue trigger waits before it looks again."""
    from devhost.config import read_host_config

    return read_host_config(ROOT).queues.max_polling_interval_seconds


def _measurements(series: dict[str, Any], single: int, batch_size: int, pause_seconds: float) -> list[Measurement]:
    bound_ms = _pickup_bound_seconds() * 1000
    # All of them if the batch was done before the first (a quick run's 3 accounts): the figure stays finite.
    while_creating = series["ack_while_creating"] or series["ack_during"]
    measurements = [
        Measurement(
            "push_latency.ack_p99_while_creating",
            percentile(while_creating, 0.99),
            "ms",
            ACK_TARGET_MS,
            note=f"{len(series['ack_while_creating'])} messages of 1 account acknowledged while the "
            f"{batch_size} accounts of a batch were being created (p50 "
            f"{statistics.median(while_creating):.1f} ms)",
        ),
        Measurement(
            "push_latency.push_single_p99_vs_pickup_bound",
            percentile(series["push_single"], 0.99) / bound_ms,
            "x",
            PICKUP_TARGET,
            note=f"message to number recorded, p99, over host.json's maxPollingInterval ({bound_ms:.0f} ms); "
            "SAP at 0 ms a call, so SAP's own time (the simulator's few ms) is not subtracted",
        ),
    ]
    for key, name, note in (
        (
            "push_single",
            "push_latency.push_single_recorded",
            f"{single} messages of 1 account, 0-{pause_seconds:g} s apart",
        ),
        ("push_batch", "push_latency.push_batch_recorded", f"1 message of {batch_size} accounts"),
        ("http_single", "push_latency.http_single_recorded", f"{single} POST /api/customers one after another"),
        ("push_ack", "push_latency.push_single_ack", "the acknowledgement Salesforce waits for (60 s timeout)"),
    ):
        values = series[key]
        measurements.append(Measurement(f"{name}_p50", statistics.median(values), "ms", note=note))
        measurements.append(Measurement(f"{name}_p99", percentile(values, 0.99), "ms"))
    measurements.append(
        Measurement(
            "push_latency.push_batch_ack",
            series["batch_ack_ms"],
            "ms",
            note=f"acknowledging {batch_size} notifications",
        )
    )
    measurements.append(
        Measurement(
            "push_latency.push_over_http_p50",
            statistics.median(series["push_single"]) / statistics.median(series["http_single"]),
            "x",
            note="push to recorded over the HTTP action to recorded, p50: the queue trigger's polling (no target: "
            "what decides the real latency, Salesforce's send and the flow trigger's polling, is outside)",
        )
    )
    return measurements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push_latency", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts",
        type=int,
        default=SINGLE_ACCOUNTS,
        help=f"accounts in each one-at-a-time series (default {SINGLE_ACCOUNTS})",
    )
    arguments = parser.parse_args(argv)
    try:
        measurements = run(single=arguments.accounts)
    finally:
        from bench.harness import stop_azurite

        stop_azurite()
    for measurement in measurements:
        print(measurement.line())
    print(json.dumps([m.to_json() for m in measurements], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
