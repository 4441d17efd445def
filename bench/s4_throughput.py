"""S/4 throughput: creates per second on S/4HANA's Business Partner service (SAP_TRANSPORT=odata) with N pooled
HTTP sessions and 200 ms per request, against the limit the service itself sets, N / (requests per create x
0.2 s). The RFC figure's twin (bench/sap_throughput.py), built the same way.

The S/4 double (s4_simulator/, over real HTTP in this process) waits `latency_ms` before serving each request, as
a network and SAP Gateway would; its threads serve requests side by side. Each create holds one HTTP session (its
cookies and CSRF token) for its unit of work, one request after another, so N sessions working at once make at
most N / (requests per create x latency) creates a second. SAP_POOL_SIZE=N caps the units at N as the RFC pool
does (shared/sap/business_partner.py on shared/sap/pool.py: a unit waits for a free session), so 2N clients send
at once, as in bench/sap_throughput.py: while N units talk to SAP, the other N do their storage round trips and
wait for a session, and SAP is never left idle for them. Counted on the double's side during the batch (measured,
not assumed): requests per create, sessions opened (a request without the session cookie; 0 once the warm-up
filled the pool) and token-only CSRF fetches (a GET of the service root asking `X-CSRF-Token: Fetch`: 0, once
per session in the warm-up; the guard's own GET asks for the token on the way, no request of its own:
shared/sap/business_partner_customer.py).
"""

from __future__ import annotations

from bench.common import Measurement, percentile
from bench.harness import Creator, app_settings, azurite, running_app

NAME = "s4_throughput"
POOL_SIZES = (1, 4, 8)
LATENCY_MS = 200
QUICK_LATENCY_MS = 20
SECONDS_PER_BATCH = 6.0
TARGET_SHARE = 0.90
# To size the batch only (the figure divides by the requests counted): guard GET, deep insert, two POSTs.
EXPECTED_REQUESTS_PER_CREATE = 4
GROUPING = "BP02"  # the double accepts any grouping (s4_simulator/creation.py)


def _counting_double(latency_ms: int):  # type: ignore[no-untyped-def]
    """The S/4 double, counting token-only CSRF fetches (its own counters count requests per method)."""
    from s4_simulator import FaultPlan, S4Simulator
    from shared.core.business_partner_facts import CSRF_FETCH, CSRF_HEADER, SERVICE_PATH

    class CountingS4Simulator(S4Simulator):
        def exchange(self, method, target, headers, body):  # type: ignore[no-untyped-def]
            path = target.split("?")[0].rstrip("/")
            fetch = (headers.get(CSRF_HEADER.lower()) or "").lower() == CSRF_FETCH.lower()
            if method == "GET" and fetch and path.lower() == SERVICE_PATH.lower():
                self._count("token fetches")
            if "sap_sessionid" not in (headers.get("cookie") or "").lower():
                self._count("sessions opened")
            return super().exchange(method, target, headers, body)

    return CountingS4Simulator(faults=FaultPlan.parse(f"latency_ms={latency_ms}")).start()


def _requests(counters: dict[str, int]) -> int:
    return sum(count for name, count in counters.items() if name.startswith("requests "))


def measure_pool(pool_size: int, latency_ms: int, seconds: float, series: str) -> dict[str, float]:
    clients = 2 * pool_size  # the pool caps the units at pool_size; the rest wait for a session
    double = _counting_double(latency_ms)
    try:
        user, password = double.credentials
        settings = app_settings(
            azurite().connection_string,
            SAP_TRANSPORT="odata",
            SAP_ODATA_URL=double.service_url,
            SAP_ODATA_AUTH="basic",
            SAP_ODATA_USER=user,
            SAP_ODATA_PASSWORD=password,
            SAP_BP_GROUPING=GROUPING,
            SAP_POOL_SIZE=str(pool_size),
            PYTHON_THREADPOOL_THREAD_COUNT=str(2 * clients + 4),
        )
        with running_app(settings) as app:
            client = Creator(app.base_url)
            # Fills the pool (a session and its token per slot), reads $metadata and the reference customer once.
            client.concurrently(f"{series[0]}w", 2 * pool_size, pool_size)
            requests_before = _requests(double.counters)
            fetches_before = double.counters["token fetches"]
            sessions_before = double.counters["sessions opened"]
            guess_limit = pool_size / (EXPECTED_REQUESTS_PER_CREATE * latency_ms / 1000)
            creates = max(2 * clients, round(guess_limit * seconds / pool_size) * pool_size)
            latencies, wall_s = client.concurrently(series, creates, clients)
            sent = _requests(double.counters) - requests_before
            fetches = double.counters["token fetches"] - fetches_before
            sessions = double.counters["sessions opened"] - sessions_before
            if client.unexpected:
                raise RuntimeError(
                    f"s4_throughput N={pool_size}: answers other than 201: {client.describe_unexpected()}"
                )
    finally:
        double.close()
    requests_per_create = sent / creates
    limit = pool_size / (requests_per_create * latency_ms / 1000)
    return {
        "creates": creates,
        "rate": creates / wall_s,
        "limit": limit,
        "requests_per_create": requests_per_create,
        "token_fetches": fetches,
        "sessions": sessions,
        "p50": percentile(latencies, 0.5),
    }


def run(quick: bool = False) -> list[Measurement]:
    latency_ms = QUICK_LATENCY_MS if quick else LATENCY_MS
    seconds = 0.5 if quick else SECONDS_PER_BATCH
    measurements: list[Measurement] = []
    for pool_size in POOL_SIZES[:1] if quick else POOL_SIZES:
        result = measure_pool(pool_size, latency_ms, seconds, f"S{pool_size}")
        share = result["rate"] / result["limit"]
        measurements.append(
            Measurement(
                f"s4_throughput.pool_{pool_size}_vs_limit",
                share * 100,
                "%",
                TARGET_SHARE * 100,
                at_least=True,
                note=f"{result['rate']:.2f} creates/s of {result['limit']:.2f} = {pool_size} / "
                f"({result['requests_per_create']:.2f} requests x {latency_ms / 1000:g} s); {result['creates']:.0f} "
                f"creates from {2 * pool_size} clients, p50 {result['p50']:.0f} ms",
            )
        )
        measurements.append(
            Measurement(
                f"s4_throughput.pool_{pool_size}_requests_per_create",
                result["requests_per_create"],
                "count",
                None,
                note="HTTP requests the double served per create during the batch (counted on its side)",
            )
        )
        measurements.append(
            Measurement(
                f"s4_throughput.pool_{pool_size}_sessions_opened",
                result["sessions"],
                "count",
                0.0,
                note=f"HTTP sessions opened during {result['creates']:.0f} creates: the pool's are reused",
            )
        )
        measurements.append(
            Measurement(
                f"s4_throughput.pool_{pool_size}_token_fetches",
                result["token_fetches"],
                "count",
                0.0,
                note=f"token-only CSRF fetches during {result['creates']:.0f} creates (once per session: the warm-up)",
            )
        )
    return measurements
