"""The worker's side of the bindings: values reach the function, and leave it, through azure.functions' converters.

The Python worker does not build `HttpRequest` or `QueueMessage` objects itself: it turns what the host
sends (gRPC TypedData) into `azure.functions.meta.Datum`s, looks up the binding's converter in the
registry `azure.functions.get_binding_registry()` by binding type ("httpTrigger", "queueTrigger", "http",
...) and calls `Converter.decode(datum, trigger_metadata=...)` for an input and
`Converter.encode(value, expected_type=...)` for an output. devhost does the same, so a function gets
the very classes it gets in Azure (`azure.functions.http.HttpRequest`, `azure.functions.queue.QueueMessage`)
and its result is read by the same code (`HttpResponseConverter`).

What comes from the package source (read in .venv/.../azure/functions/http.py, queue.py, meta.py): the
Datum shapes the converters read and write, and what they produce. What does NOT, and is therefore
unverified here: which TypedData kind the host picks for a value (a request body as bytes or string, a
message body as string or bytes, trigger metadata as string/int or JSON). The choices below give the
function the same object either way; each is marked where it is made.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions import meta

HTTP_TRIGGER_BINDING = "httpTrigger"
HTTP_OUTPUT_BINDING = "http"
QUEUE_TRIGGER_BINDING = "queueTrigger"


class BindingError(Exception):
    """No converter of azure.functions serves this binding type, or it refused the value."""


@dataclass(frozen=True)
class TriggerData:
    """What the worker hands a trigger's converter: the trigger value and the trigger metadata."""

    binding_type: str  # as in function.json: "httpTrigger", "queueTrigger"
    datum: meta.Datum
    metadata: Mapping[str, meta.Datum] = field(default_factory=dict)


def converter(binding_type: str) -> Any:
    """The converter azure.functions registered for a binding type (registered on import of azure.functions)."""
    found = func.get_binding_registry().get(binding_type)
    if found is None:
        raise BindingError(f"azure.functions has no converter for binding type {binding_type!r}")
    return found


def decode_trigger(trigger: TriggerData) -> Any:
    """The value the function's trigger parameter receives: `Converter.decode`, as the worker calls it."""
    return converter(trigger.binding_type).decode(trigger.datum, trigger_metadata=trigger.metadata)


def _string(value: str) -> meta.Datum:
    return meta.Datum(value=value, type="string")


def http_trigger_data(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    route_params: Mapping[str, str],
    body: bytes,
) -> TriggerData:
    """The 'http' Datum the worker makes from the host's RpcHttp (keys as HttpRequestConverter.decode reads them).

    Unverified: the body kind. The host may send a text body as a string Datum; devhost always sends
    bytes (as it did before). `get_body()` returns the same bytes either way; `get_json()` parses the
    UTF-8 text either way (only its error for invalid JSON differs: a ValueError "HTTP request does not
    contain valid JSON data" for bytes, the json module's error, also a ValueError, for a string).
    """
    value = {
        "method": _string(method),
        "url": _string(url),
        "headers": {name: _string(text) for name, text in headers.items()},
        "query": {name: _string(text) for name, text in query.items()},
        "params": {name: _string(text) for name, text in route_params.items()},
        "body": meta.Datum(value=body, type="bytes"),
    }
    # HttpRequestConverter ignores the trigger metadata (the host sends the query and headers there too).
    return TriggerData(HTTP_TRIGGER_BINDING, meta.Datum(value=value, type="http"))


def _timestamp(moment: datetime.datetime | None) -> meta.Datum | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        # "...+00:00": one of the UTC forms QueueMessageInConverter._parse_datetime reads as an aware UTC time.
        moment = moment.astimezone(datetime.UTC)
    return _string(moment.isoformat())


def queue_trigger_data(
    *,
    message_id: str,
    body: bytes,
    dequeue_count: int | None,
    insertion_time: datetime.datetime | None,
    expiration_time: datetime.datetime | None,
    next_visible_time: datetime.datetime | None,
    pop_receipt: str | None,
) -> TriggerData:
    """The message body Datum and the trigger metadata QueueMessageInConverter.decode reads (Id, DequeueCount,
    InsertionTime, ExpirationTime, NextVisibleTime, PopReceipt; the names are the converter's).

    Unverified: the kinds the host sends. devhost sends the body as a string when it is UTF-8 text and as
    bytes otherwise, the count as an int and the times as ISO 8601 strings in UTC; the host may send them
    as JSON. The converter builds the same QueueMessage from either (body bytes, int count, aware UTC times).
    """
    try:
        datum = _string(body.decode("utf-8"))
    except UnicodeDecodeError:
        datum = meta.Datum(value=body, type="bytes")
    metadata: dict[str, meta.Datum] = {"Id": _string(message_id)}
    if dequeue_count is not None:
        metadata["DequeueCount"] = meta.Datum(value=int(dequeue_count), type="int")
    for name, moment in (
        ("InsertionTime", insertion_time),
        ("ExpirationTime", expiration_time),
        ("NextVisibleTime", next_visible_time),
    ):
        timestamp = _timestamp(moment)
        if timestamp is not None:
            metadata[name] = timestamp
    if pop_receipt is not None:
        metadata["PopReceipt"] = _string(pop_receipt)
    # The body again, as the host sends it; the converter does not read it.
    metadata["QueueTrigger"] = datum if datum.type == "string" else _string("")
    return TriggerData(QUEUE_TRIGGER_BINDING, datum, metadata)


def encode_http_output(value: Any) -> meta.Datum | None:
    """The function's HTTP result as HttpResponseConverter.encode gives it to the host: a 'string' Datum for a
    str, an 'http' Datum (status_code, headers, cookies, body) for an HttpResponse.

    None (no HTTP output set) is not passed to the converter, which cannot encode it; devhost answers
    it 204 as before (unverified: what the worker and host make of a None HTTP result).
    Anything else: the converter raises NotImplementedError, turned into a BindingError (the worker fails
    the invocation when it cannot encode an output; its exact message is unverified).
    """
    if value is None:
        return None
    try:
        # The worker passes the return annotation as expected_type; HttpResponseConverter does not read it.
        return converter(HTTP_OUTPUT_BINDING).encode(value, expected_type=None)
    except NotImplementedError:
        raise BindingError(
            f"an HTTP function must return azure.functions.HttpResponse or str, got {type(value).__name__} "
            "(azure.functions' HttpResponseConverter cannot encode it)"
        ) from None


@dataclass(frozen=True)
class HttpAnswer:
    """What goes on the wire for an encoded HTTP output."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def http_answer(datum: meta.Datum | None) -> HttpAnswer:
    """The HTTP answer for what HttpResponseConverter.encode returned (None: no output, 204)."""
    if datum is None:
        return HttpAnswer(204, (), b"")  # unverified: see encode_http_output
    if datum.type == "string":
        # A str result: the host answers it 200 as text. That it is text/plain; charset=utf-8 is what
        # devhost answered before; the host's exact Content-Type for it is unverified.
        return HttpAnswer(200, (("Content-Type", "text/plain; charset=utf-8"),), str(datum.value).encode("utf-8"))
    if datum.type != "http":
        raise BindingError(f"unexpected HTTP output datum type {datum.type!r}")
    value = datum.value
    # The converter adds the Content-Type as "content-type". The host (Kestrel) writes known header names
    # in their usual form, "Content-Type" (unverified here); devhost does so for that one name, which
    # clients that compare header names case-sensitively (plain dicts of headers) rely on.
    headers = [
        ("Content-Type" if str(name).lower() == "content-type" else str(name), str(header.value))
        for name, header in value["headers"].items()
    ]
    for cookie in value.get("cookies") or ():
        # The converter moves Set-Cookie headers into SimpleCookie objects (the host gets them as
        # RpcHttpCookie). Each becomes one Set-Cookie header again; that the host renders the attributes
        # exactly as http.cookies does is unverified.
        headers.extend(("Set-Cookie", morsel.OutputString()) for morsel in cookie.values())
    body = value["body"].value if value.get("body") is not None else b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpAnswer(int(value["status_code"].value), tuple(headers), bytes(body or b""))
