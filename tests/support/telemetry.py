"""Everything the product would export to Application Insights, captured in memory: spans (an in-memory
span exporter), metrics (an in-memory reader) and log records (OpenTelemetry's own logging handler, the
one configure_azure_monitor puts on the root logger, behind the product's filters as configure_logging
installs them). With `instrument_http`, the requests instrumentation that the Azure Monitor distro
switches on by default records its HTTP client spans (and injects traceparent) too."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import log, telemetry


@dataclass
class CapturedTelemetry:
    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter
    metric_reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.span_exporter.get_finished_spans())

    def logs(self) -> list[Any]:
        return list(self.log_exporter.get_finished_logs())

    def metric_points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, value) of every data point of the metric `name` (a counter's value, a histogram's count)."""
        data = self.metric_reader.get_metrics_data()
        points = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            points.append(
                                (
                                    dict(point.attributes),
                                    getattr(point, "value", None) if hasattr(point, "value") else point.count,
                                )
                            )
        return points

    def exported_text(self) -> str:
        """The text of every span, log record and metric as the exporters would serialise them (names,
        attributes, events, status, bodies, exception attributes), one string value per line.

        Numbers, timestamps and ids (trace, span, tracking ids: 16 or more hex digits) are left out:
        their digits would match a postal code or a phone number by chance."""
        parts = [span.to_json() for span in self.spans()]
        parts += [record.to_json() for record in self.logs()]
        data = self.metric_reader.get_metrics_data()
        if data is not None:
            parts.append(data.to_json())
        strings: list[str] = []
        for part in parts:
            _strings_of(json.loads(part), strings)
        return "\n".join(strings)


_NOT_TEXT = frozenset(
    {
        "trace_id",
        "span_id",
        "parent_id",
        "start_time",
        "end_time",
        "timestamp",
        "observed_timestamp",
        "time_unix_nano",
        "start_time_unix_nano",
    }
)
_ID = re.compile(r"(?i)\b(?:0x)?[0-9a-f]{16,}\b")


def _strings_of(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(_ID.sub("<id>", value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _NOT_TEXT:
                into.append(str(key))
                _strings_of(item, into)
    elif isinstance(value, list):
        for item in value:
            _strings_of(item, into)


@contextlib.contextmanager
def captured_telemetry(instrument_http: bool = False) -> Iterator[CapturedTelemetry]:
    span_exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    metric_reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    log_exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    handler = LoggingHandler(logger_provider=logger_provider)
    handler.addFilter(log.CorrelationFilter())
    handler.addFilter(log.RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    telemetry.activate(tracer_provider, meter_provider)
    instrumentor = None
    if instrument_http:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        instrumentor = RequestsInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield CapturedTelemetry(span_exporter, log_exporter, metric_reader, tracer_provider)
    finally:
        if instrumentor is not None:
            instrumentor.uninstrument()
        telemetry.deactivate()
        root.removeHandler(handler)
        root.setLevel(old_level)
        logger_provider.shutdown()
        tracer_provider.shutdown()
        meter_provider.shutdown()
