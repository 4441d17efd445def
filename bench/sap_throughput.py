"""SAP throughput: creates per second with N pooled SAP connections and 200 ms per SAP call, against
the limit SAP itself sets, N / (calls per create x 0.2 s).

Each create holds one RFC connection for its SAP unit (BAPI_CUSTOMER_CREATEFROMDATA1, then
BAPI_TRANSACTION_COMMIT on the same session), so with N connections at most N units run at once and
each takes (calls per create) x latency. Twice as many clients as connections keep the pool busy
while other requests are in their storage round trips. Calls per create and logons are counted by the
simulator during the batch: measured, not assumed.
"""

from __future__ import annotations

from bench.common import Measurement, percentile
from bench.harness import Creator, app_settings, azurite, running_app

NAME = "sap_throughput"
POOL_SIZES = (1, 4, 8)
LATENCY_MS = 200
QUICK_LATENCY_MS = 20
SECONDS_PER_BATCH = 6.0  # at the limit: enough units per connection that the first and last matter little
TARGET_SHARE = 0.90


def measure_pool(pool_size: int, latency_ms: int, seconds: float, series: str) -> dict[str, float]:
    settings = app_settings(
        azurite().connection_string,
        SAP_POOL_SIZE=str(pool_size),
        SAP_SIMULATOR_FAULTS=f"latency_ms={latency_ms}",
        PYTHON_THREADPOOL_THREAD_COUNT=str(2 * pool_size + 4),
    )
    clients = 2 * pool_size
    with running_app(settings) as app:
        client = Creator(app.base_url)
        # Fills the pool (one logon per connection) and reads the SAP interface once.
        client.concurrently(f"{series[0]}w", 2 * pool_size, pool_size)
        calls_before = sum(app.sap.calls.values())
        logons_before = app.sap.counters["logons"]
        guess_limit = pool_size / (2 * latency_ms / 1000)
        creates = max(2 * clients, round(guess_limit * seconds / pool_size) * pool_size)
        latencies, wall_s = client.concurrently(series, creates, clients)
        calls = sum(app.sap.calls.values()) - calls_before
        logons = app.sap.counters["logons"] - logons_before
        if client.unexpected:
            raise RuntimeError(f"sap_throughput N={pool_size}: answers other than 201: {client.describe_unexpected()}")
    calls_per_create = calls / creates
    limit = pool_size / (calls_per_create * latency_ms / 1000)
    return {
        "creates": creates,
        "rate": creates / wall_s,
        "limit": limit,
        "calls_per_create": calls_per_create,
        "logons": logons,
        "p50": percentile(latencies, 0.5),
    }


def run(quick: bool = False) -> list[Measurement]:
    latency_ms = QUICK_LATENCY_MS if quick else LATENCY_MS
    seconds = 0.5 if quick else SECONDS_PER_BATCH
    measurements: list[Measurement] = []
    for pool_size in POOL_SIZES[:1] if quick else POOL_SIZES:
        result = measure_pool(pool_size, latency_ms, seconds, f"T{pool_size}")
        share = result["rate"] / result["limit"]
        measurements.append(
            Measurement(
                f"sap_throughput.pool_{pool_size}_vs_limit",
                share * 100,
                "%",
                TARGET_SHARE * 100,
                at_least=True,
                note=f"{result['rate']:.2f} creates/s of {result['limit']:.2f} = {pool_size} / "
                f"({result['calls_per_create']:.2f} calls x {latency_ms / 1000:g} s); {result['creates']:.0f} "
                f"creates from {2 * pool_size} clients, p50 {result['p50']:.0f} ms",
            )
        )
        measurements.append(
            Measurement(
                f"sap_throughput.pool_{pool_size}_logons",
                result["logons"],
                "count",
                0.0,
                note=f"during {result['creates']:.0f} creates: the pool's connections are reused",
            )
        )
    return measurements
