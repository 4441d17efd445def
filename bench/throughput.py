"""Validation + mapping in process: the CPU work of one request before any I/O.

parse_customer_request and map_customer_request run for every create (and again for every retry), so
their cost is the floor of the request's latency and decides how many requests one core can check.
"""

from __future__ import annotations

import statistics
import time

from bench.common import SAMPLE_NAMES, Measurement, load_samples, percentile

ITERATIONS = 20_000
WARM_UP = 300
TARGET_US = 500.0


def run(iterations: int = ITERATIONS) -> list[Measurement]:
    from shared.core.mapping import map_customer_request
    from shared.core.validation import parse_customer_request
    from shared.settings import load_settings

    organisation = load_settings({"SAP_TRANSPORT": "simulator"}).sap_organisation
    payloads = load_samples()
    for index in range(WARM_UP):  # reference data is loaded once per process; the cold-start benchmark counts it
        map_customer_request(parse_customer_request(payloads[index % len(payloads)]), organisation)

    per_sample: list[list[float]] = [[] for _ in payloads]
    clock = time.perf_counter_ns
    started = clock()
    for index in range(iterations):
        which = index % len(payloads)
        begin = clock()
        map_customer_request(parse_customer_request(payloads[which]), organisation)
        per_sample[which].append((clock() - begin) / 1000)
    elapsed_s = (clock() - started) / 1e9

    every = [value for values in per_sample for value in values]
    by_sample = ", ".join(f"{name.split('-')[0]} {statistics.median(values):.0f}"
                          for name, values in zip(SAMPLE_NAMES, per_sample, strict=True))
    return [
        Measurement("validation_mapping.median_per_request", statistics.median(every), "µs", TARGET_US,
                    note=f"{iterations} requests over 3 samples; median µs {by_sample}"),
        Measurement("validation_mapping.p99_per_request", percentile(every, 0.99), "µs"),
        Measurement("validation_mapping.requests_per_second_one_core", iterations / elapsed_s, "req/s"),
    ]
