"""Each change is counted by its outcome in sapsync.changes (issue 26), on the OpenTelemetry adapter, and its
log records name fields, never values."""

from __future__ import annotations

import logging

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from shared.core.change_request import parse_change_request
from shared.core.validation import parse_customer_request
from shared.telemetry.metrics import CHANGES, OtelSyncMetrics
from shared.usecases import create_customer
from shared.usecases.change import change_customer
from tests.support.change_gateway import InMemoryChangeSap
from tests.support.samples import sample


def change(stamp: str, **values: str):
    return parse_change_request({**sample("german-account"), **values, "systemModstamp": stamp})


def counted(reader: InMemoryMetricReader) -> dict[str, int]:
    points: dict[str, int] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == CHANGES:
                    for point in metric.data.data_points:
                        points[point.attributes["outcome"]] = points.get(point.attributes["outcome"], 0) + point.value
    return points


def test_each_change_is_counted_by_outcome_and_logged_without_values(fake_services, caplog):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    fake_services.sap = InMemoryChangeSap(fake_services.sap)
    fake_services.metrics = OtelSyncMetrics(provider.get_meter("test"))
    create_customer(parse_customer_request(sample("german-account")), fake_services)

    with caplog.at_level(logging.DEBUG):
        change_customer(change("2026-12-07T14:00:10Z", street="Geheimweg 7"), fake_services)
        change_customer(change("2026-12-07T14:00:10Z", street="Geheimweg 7"), fake_services)
        change_customer(change("2026-12-07T14:00:20Z", street="Geheimweg 7"), fake_services)

    assert counted(reader) == {"applied": 1, "stale": 1, "unchanged": 1}
    assert "Geheimweg" not in caplog.text
    assert any(getattr(record, "fields", None) == ["street"] for record in caplog.records)
    provider.shutdown()
