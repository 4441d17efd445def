"""HTTP triggers: route table, the request handed to azure.functions' HttpRequestConverter, and the answer
made from what its HttpResponseConverter encoded (aiohttp server).

Also what keeps a laptop's host alive under abuse: the request body is read as a stream against a
size cap (on the wire and after gzip/deflate decompression) and a read timeout, and the number of
open connections is bounded, idle ones (including ones that never finish their request head) closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict

from devhost.app_loader import FunctionSpec
from devhost.bindings import http_answer, http_trigger_data
from devhost.invocation import InvocationResult, Invoker, log_executed
from devhost.routing import RouteTemplate, sort_by_precedence

logger = logging.getLogger("devhost.http")

# A route's request limit unless its function declares its own (below): the app's JSON API limit
# (functions/_http.py MAX_BODY_BYTES: a Salesforce account is small), not the Functions host's 100 MB:
# locally nothing bigger is legitimate, and a 100 MB body (or a small gzip body that expands to 100 MB)
# must not cost a laptop hundreds of MB. A test keeps the two equal.
MAX_REQUEST_BODY_BYTES = 64 * 1024
# Each route has its own bound, as in Azure each function has: the Functions host lets every request up to
# its own host-wide limit (100 MB, FUNCTIONS_REQUEST_BODY_SIZE_LIMIT; Microsoft Learn, "Azure Functions
# HTTP trigger", Limits) reach the function, which applies its own bound (the push endpoint's 1 MiB,
# shared/core/outbound_message.py MAX_MESSAGE_BYTES; the JSON API's 64 KiB). Locally the host must refuse
# early to stay cheap, so it refuses at the route's own bound, never below it: the function declares the
# bound in its trigger binding (`@bp.route(..., trigger_extra_fields={"maxRequestBodyBytes": N})`, a field
# of ours that only this local host reads), or the host is told it per function (HttpLimits.route_body_bytes).
# The Functions host reads a binding with Newtonsoft's default settings, which ignore unknown members
# (Azure/azure-functions-host src/WebJobs.Script/Description/Binding/BindingMetadata.cs `raw.ToObject`,
# HttpTriggerBindingMetadata.cs: route, methods, authLevel, webHookType) and keeps the rest as Raw; that the
# HTTP extension then ignores the field too was not tried against a real host here.
ROUTE_BODY_LIMIT_FIELD = "maxRequestBodyBytes"
# However large a route declares its bound, the local host never reads more than this for one request.
MAX_DECLARED_BODY_BYTES = 16 * 1024 * 1024
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Computed by the server from the body we send; the function's values would be wrong after re-encoding.
_HOP_BY_HOP_HEADERS = {"content-length", "transfer-encoding", "connection"}
# zlib window bits: gzip header and trailer; zlib header (RFC 1950 "deflate"); raw deflate (what some
# clients send as "deflate" anyway).
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


@dataclass(frozen=True)
class HttpLimits:
    """What one client may cost the host. Defaults suit a laptop; tests pass smaller ones."""

    max_body_bytes: int = MAX_REQUEST_BODY_BYTES  # a route's bound unless it has its own
    # Bounds of single routes by function name (overriding what the function declares).
    route_body_bytes: Mapping[str, int] = field(default_factory=dict)
    # Each read of the body must bring data within this; the whole body must arrive within the total.
    body_read_timeout_seconds: float = 5.0
    body_total_timeout_seconds: float = 15.0
    # A connection without a request in progress (the request head not complete yet, or idle between
    # keep-alive requests) is closed after this.
    idle_timeout_seconds: float = 10.0
    # Connections beyond this are answered 503 and closed (the e2e tests use 50 at once, benchmarks 16).
    max_connections: int = 256
    # After an early answer (a body refused before its end), how long the rest is read and dropped so
    # that the client sees the answer rather than a reset.
    lingering_seconds: float = 2.0


class BodyRefused(Exception):
    """The request body is not acceptable; carries the answer the client gets."""

    def __init__(self, status: int, error: str, message: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.message = message
        self.detail = detail

    def response(self) -> web.Response:
        # The shape of the app's own field errors (functions/_http.py bad_request): the client's code
        # handles a refusal by the host like one by the function.
        body = {
            "accountId": None,
            "error": self.error,
            "message": self.message,
            "errors": [{"field": "body", "message": self.detail}],
        }
        return web.Response(
            status=self.status,
            body=json.dumps(body, separators=(",", ":")).encode(),
            content_type="application/json",
            charset="utf-8",
        )


def _too_large(detail: str) -> BodyRefused:
    return BodyRefused(400, "invalid_request", "The request has invalid fields; see errors.", detail)


def _not_in_time(detail: str) -> BodyRefused:
    return BodyRefused(408, "request_timeout", "The request body did not arrive in time; send it again.", detail)


class _Decoder:
    """Content-Encoding gzip/deflate decompressed chunk by chunk, never past `limit` + 1 bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._wbits = _GZIP_WBITS if encoding in ("gzip", "x-gzip") else _ZLIB_WBITS
        self._decompressor = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, chunk: bytes, room: int, limit: int) -> bytes:
        """Up to `room` bytes of output; more than that means the body exceeds `limit` decompressed."""
        if not self._started and chunk:
            self._started = True
            # RFC 1950 says deflate is zlib-wrapped; many clients send raw deflate.
            if self._wbits == _ZLIB_WBITS and chunk[0] & 0x0F != 8:
                self._wbits = _RAW_DEFLATE_WBITS
                self._decompressor = zlib.decompressobj(self._wbits)
        output = bytearray()
        data = chunk
        while True:
            try:
                output += self._decompressor.decompress(data, room - len(output) + 1)
            except zlib.error:
                raise _too_large(f"is not valid {self.encoding} data (Content-Encoding: {self.encoding})") from None
            if len(output) > room or self._decompressor.unconsumed_tail:
                raise _too_large(
                    f"is more than {limit} bytes once decompressed ({self.encoding}); the limit is {limit} bytes"
                )
            unused = self._decompressor.unused_data
            if not (self._decompressor.eof and unused):
                return bytes(output)
            # Concatenated gzip members: each is a stream of its own.
            self._decompressor = zlib.decompressobj(self._wbits)
            data = unused

    def finish(self) -> None:
        if self._started and not self._decompressor.eof:
            raise _too_large(f"is not complete {self.encoding} data (Content-Encoding: {self.encoding})")


def _decoder_for(request: web.Request) -> _Decoder | None:
    encodings = [part.strip().lower() for part in request.headers.get("Content-Encoding", "").split(",")]
    encodings = [encoding for encoding in encodings if encoding and encoding != "identity"]
    if not encodings:
        return None
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _Decoder(encodings[0])
    raise _too_large(f"has Content-Encoding '{', '.join(encodings)}'; the local host decompresses gzip or deflate only")


async def read_body(request: web.Request, limits: HttpLimits, limit: int | None = None) -> bytes:
    """The request body, decompressed; BodyRefused when it is larger than `limit` (the route's bound; default
    the host's), malformed or too slow."""
    limit = limits.max_body_bytes if limit is None else limit
    declared = request.content_length
    if declared is not None and declared > limit:
        # Refused before reading a byte: the same words as the function's own check.
        raise _too_large(f"is {declared} bytes; the limit is {limit} bytes")
    decoder = _decoder_for(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.body_total_timeout_seconds
    received = 0  # bytes on the wire
    body = bytearray()
    content = request.content
    while True:
        remaining = deadline - loop.time()
        read_timeout = min(limits.body_read_timeout_seconds, remaining)
        # What has arrived already is taken without waiting: a small body comes with its request head,
        # and a timed wait per read (a task and a timer each, in Python 3.11) would cost the request
        # several turns of the loop for nothing.
        chunk = content.read_nowait() if read_timeout > 0 else b""
        if not chunk and not content.at_eof():
            try:
                if read_timeout <= 0:
                    raise TimeoutError
                chunk = await asyncio.wait_for(content.readany(), timeout=read_timeout)
            except TimeoutError:
                if read_timeout < limits.body_read_timeout_seconds:
                    raise _not_in_time(
                        f"did not arrive within {limits.body_total_timeout_seconds:g} s ({received} bytes received)"
                    ) from None
                expected = f" of {declared}" if declared is not None else ""
                raise _not_in_time(
                    f"stalled: no data for {limits.body_read_timeout_seconds:g} s after {received}{expected} bytes"
                ) from None
        if not chunk:
            break
        received += len(chunk)
        if received > limit:
            raise _too_large(f"is more than {limit} bytes; the limit is {limit} bytes")
        body += decoder.feed(chunk, limit - len(body), limit) if decoder is not None else chunk
        if len(body) > limit:
            raise _too_large(f"is more than {limit} bytes; the limit is {limit} bytes")
    if decoder is not None:
        decoder.finish()
    return bytes(body)


# ----------------------------------------------------------------------------- connections


_REFUSAL_BODY = json.dumps(
    {"error": "unavailable", "message": "The local host has too many open connections; try again."},
    separators=(",", ":"),
).encode()
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(_REFUSAL_BODY)).encode()
    + b"\r\n\r\n"
    + _REFUSAL_BODY
)


class _Refusal(asyncio.Protocol):
    """A connection over the bound: answered 503 once its request head is in (or at once if it sends none
    within a second), then closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._seen = b""
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._timer = self._loop.call_later(1.0, self._answer)

    def data_received(self, data: bytes) -> None:
        self._seen = (self._seen + data)[-4096:]
        if b"\r\n\r\n" in self._seen:
            self._answer()

    def _answer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_REFUSAL)
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._transport = None


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's request handler, with the guard told when the connection opens and closes (the handler
    has __slots__, so it is wrapped rather than patched)."""

    def __init__(self, guard: ConnectionGuard, loop: asyncio.AbstractEventLoop, handler: asyncio.Protocol) -> None:
        self._guard = guard
        self._loop = loop
        self._handler = handler
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._guard._opened(self._loop, transport)
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received()

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard._closed(self._transport)
        self._handler.connection_lost(exc)


@dataclass
class _Connection:
    transport: asyncio.BaseTransport
    last_active: float
    requests_in_progress: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass
class ConnectionGuard:
    """Counts open connections (refusing those over the bound) and closes idle ones.

    `protocol_factory(server)` wraps aiohttp's server (its RequestHandler factory) for
    `loop.create_server`; `middleware` marks the connections that have a request in progress.
    """

    limits: HttpLimits
    _connections: dict[asyncio.BaseTransport, _Connection] = field(default_factory=dict, init=False, repr=False)
    _reserved: int = field(default=0, init=False)  # protocol made, connection_made not called yet

    @property
    def open_connections(self) -> int:
        return len(self._connections) + self._reserved

    def protocol_factory(self, server: web.Server):  # noqa: ANN201 - a protocol factory for create_server
        loop = asyncio.get_running_loop()

        def make_protocol() -> asyncio.BaseProtocol:
            if self.open_connections >= self.limits.max_connections:
                logger.warning("more than %d open connections: refusing one with 503", self.limits.max_connections)
                return _Refusal(loop)
            self._reserved += 1
            return _GuardedProtocol(self, loop, server())

        return make_protocol

    def _opened(self, loop: asyncio.AbstractEventLoop, transport: asyncio.BaseTransport) -> None:
        self._reserved -= 1
        connection = _Connection(transport, loop.time())
        self._connections[transport] = connection
        self._arm(loop, connection)

    def _closed(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is None:
            self._reserved -= 1  # never opened
            return
        connection = self._connections.pop(transport, None)
        if connection is not None and connection.timer is not None:
            connection.timer.cancel()

    def _arm(self, loop: asyncio.AbstractEventLoop, connection: _Connection) -> None:
        due = connection.last_active + self.limits.idle_timeout_seconds
        connection.timer = loop.call_at(due, self._check_idle, loop, connection)

    def _check_idle(self, loop: asyncio.AbstractEventLoop, connection: _Connection) -> None:
        connection.timer = None
        if connection.transport not in self._connections or connection.transport.is_closing():
            return
        if (
            connection.requests_in_progress == 0
            and loop.time() - connection.last_active >= self.limits.idle_timeout_seconds
        ):
            logger.debug("closing a connection idle for %g s", self.limits.idle_timeout_seconds)
            connection.transport.close()
            return
        self._arm(loop, connection)

    @web.middleware
    async def middleware(self, request: web.Request, handler):  # noqa: ANN001, ANN201 - aiohttp's signature
        connection = self._connections.get(request.transport) if request.transport is not None else None
        if connection is None:
            return await handler(request)
        loop = asyncio.get_running_loop()
        connection.requests_in_progress += 1
        connection.last_active = loop.time()
        try:
            return await handler(request)
        finally:
            connection.requests_in_progress -= 1
            connection.last_active = loop.time()


@dataclass(frozen=True)
class HttpRoute:
    spec: FunctionSpec
    template: RouteTemplate
    methods: tuple[str, ...]  # empty: every method, as when the trigger lists none
    max_body_bytes: int | None = None  # the route's own request bound; None: the host's (HttpLimits)

    def body_limit(self, limits: HttpLimits) -> int:
        """This route's request bound: the host's per-function setting, else the function's own, else the
        host's default."""
        configured = limits.route_body_bytes.get(self.spec.name)
        if configured is not None:
            return configured
        return self.max_body_bytes if self.max_body_bytes is not None else limits.max_body_bytes

    @property
    def display_methods(self) -> str:
        return ",".join(self.methods) if self.methods else ",".join(ALL_METHODS)


def _trigger_methods(trigger: dict[str, object]) -> tuple[str, ...]:
    methods = trigger.get("methods") or ()
    if isinstance(methods, str):
        methods = [methods]
    # Members of HttpMethod stringify to their value; plain strings come from generic triggers.
    return tuple(str(getattr(method, "value", method)).upper() for method in methods)  # type: ignore[union-attr]


class RouteDeclarationError(ValueError):
    """A function declares a request bound the local host cannot take."""


def declared_body_limit(spec: FunctionSpec) -> int | None:
    """The request bound the function declares in its trigger binding (ROUTE_BODY_LIMIT_FIELD), or None."""
    declared = spec.trigger.get(ROUTE_BODY_LIMIT_FIELD)
    if declared is None:
        return None
    if isinstance(declared, bool) or not isinstance(declared, int) or not 0 < declared <= MAX_DECLARED_BODY_BYTES:
        raise RouteDeclarationError(
            f"{spec.name}: {ROUTE_BODY_LIMIT_FIELD} must be a whole number of bytes from 1 "
            f"to {MAX_DECLARED_BODY_BYTES}, not {declared!r}"
        )
    return declared


def build_routes(specs: list[FunctionSpec], route_prefix: str) -> list[HttpRoute]:
    routes = []
    for spec in specs:
        route = str(spec.trigger.get("route") or spec.name).strip("/")
        template = "/".join(part for part in (route_prefix.strip("/"), route) if part)
        routes.append(
            HttpRoute(
                spec=spec,
                template=RouteTemplate(template),
                methods=_trigger_methods(spec.trigger),
                max_body_bytes=declared_body_limit(spec),
            )
        )
    return [route for _, route in sort_by_precedence((route.template, route) for route in routes)]


def _joined(pairs: object) -> dict[str, str]:
    """Repeated keys become one comma-separated value, as the host passes StringValues to the worker."""
    joined: dict[str, str] = {}
    for key, value in pairs:  # type: ignore[attr-defined]
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def response_for(result: InvocationResult) -> web.Response:
    """The answer for a finished invocation: its HTTP output as HttpResponseConverter encoded it, or a bare 500
    when it failed (as from the host; the traceback is in the console log)."""
    if not result.succeeded:
        return web.Response(status=500)
    answer = http_answer(result.http_output)
    headers = CIMultiDict((name, value) for name, value in answer.headers if name.lower() not in _HOP_BY_HOP_HEADERS)
    return web.Response(status=answer.status, body=answer.body, headers=headers)


# What a URL path may show in a log line as it is: RFC 3986's unreserved and sub-delims characters, ':',
# '@', '/' and '%' (an escape the client sent stays an escape).
_LOG_SAFE_PATH_CHARACTERS = "/%:@!$&'()*+,;=-._~"


def loggable_path(request: web.Request) -> str:
    """The request's path for a log line: as the client sent it (still percent-encoded), with anything else
    outside printable ASCII escaped too. The decoded path (rel_url.path) turns "%0D%0A" into a line
    break, which would let a caller write a forged line into the host's log."""
    return quote(request.rel_url.raw_path, safe=_LOG_SAFE_PATH_CHARACTERS)


class HttpTriggerHandler:
    def __init__(self, routes: list[HttpRoute], invoker: Invoker, limits: HttpLimits | None = None) -> None:
        self._routes = routes
        self._invoker = invoker
        self._limits = limits or HttpLimits()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        for route in self._routes:
            matched = route.template.match(raw_path)
            if matched is None:
                continue
            if route.methods and request.method.upper() not in route.methods:
                continue
            return await self._invoke(route, request, matched.route_params)
        # The Functions host treats the methods as part of the route: a known path called with another
        # method is a 404 there too, not a 405.
        return web.Response(status=404)

    async def _invoke(self, route: HttpRoute, request: web.Request, route_params: dict[str, str]) -> web.Response:
        try:
            body = await read_body(request, self._limits, route.body_limit(self._limits))
        except BodyRefused as refused:
            logger.warning(
                "Functions.%s: %s %s refused (%d): body %s",
                route.spec.name,
                request.method,
                loggable_path(request),
                refused.status,
                refused.detail,
            )
            response = refused.response()
            if refused.status == 408:
                response.force_close()  # the rest may never come; do not wait for it
            return response
        trigger = http_trigger_data(
            method=request.method,
            url=str(request.url),
            headers=_joined(request.headers.items()),
            query=_joined(request.query.items()),
            route_params=route_params,
            body=body,
        )
        result = await self._invoker.invoke(route.spec, trigger)
        response = response_for(result)
        # The answer is sent first, then the host's "Executed" line is written: the Functions host logs it
        # in its own process, so the caller never waits for it. aiohttp takes a response that is already
        # sent (finish_response: prepare and write_eof do nothing a second time). A caller that went away
        # meanwhile: aiohttp's finish_response treats the same ConnectionError as it would have.
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            pass
        finally:
            log_executed(result, f"httpTrigger {request.method} {loggable_path(request)} -> {response.status}")
        return response


def build_http_app(
    routes: list[HttpRoute], invoker: Invoker, limits: HttpLimits | None = None, guard: ConnectionGuard | None = None
) -> web.Application:
    limits = limits or HttpLimits()
    # The handler reads the body itself (read_body, each route's bound); client_max_size only bounds other readers.
    app = web.Application(
        client_max_size=max([limits.max_body_bytes, *(r.body_limit(limits) for r in routes)]),
        middlewares=[guard.middleware] if guard is not None else [],
    )
    # Every path reaches the handler, whose route table decides (on the raw path): aiohttp matches this
    # pattern against the decoded path, where "." would miss an encoded line break ("%0A" answered 404
    # before the function's route was even looked at). Azure's host decodes such a segment and matches it,
    # as ASP.NET Core routing does with route values: the reading of its routing docs, not verified against
    # a running Functions host.
    app.router.add_route("*", r"/{path:[\s\S]*}", HttpTriggerHandler(routes, invoker, limits).handle)
    return app
