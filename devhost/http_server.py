"""HTTP triggers: route table, request building and response shaping (aiohttp server)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

from devhost.app_loader import FunctionSpec
from devhost.invocation import InvocationResult, Invoker
from devhost.routing import RouteTemplate, sort_by_precedence

logger = logging.getLogger("devhost.http")

# The host's default request size limit (maxRequestBodySize is 100 MB on App Service and Functions).
MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Computed by the server from the body we send; the function's values would be wrong after re-encoding.
_HOP_BY_HOP_HEADERS = {"content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class HttpRoute:
    spec: FunctionSpec
    template: RouteTemplate
    methods: tuple[str, ...]  # empty: every method, as when the trigger lists none

    @property
    def display_methods(self) -> str:
        return ",".join(self.methods) if self.methods else ",".join(ALL_METHODS)


def _trigger_methods(trigger: dict[str, object]) -> tuple[str, ...]:
    methods = trigger.get("methods") or ()
    if isinstance(methods, str):
        methods = [methods]
    # Members of HttpMethod stringify to their value; plain strings come from generic triggers.
    return tuple(str(getattr(method, "value", method)).upper() for method in methods)  # type: ignore[union-attr]


def build_routes(specs: list[FunctionSpec], route_prefix: str) -> list[HttpRoute]:
    routes = []
    for spec in specs:
        route = str(spec.trigger.get("route") or spec.name).strip("/")
        template = "/".join(part for part in (route_prefix.strip("/"), route) if part)
        routes.append(HttpRoute(spec=spec, template=RouteTemplate(template), methods=_trigger_methods(spec.trigger)))
    return [route for _, route in sort_by_precedence((route.template, route) for route in routes)]


def _joined(pairs: object) -> dict[str, str]:
    """Repeated keys become one comma-separated value, as the host passes StringValues to the worker."""
    joined: dict[str, str] = {}
    for key, value in pairs:  # type: ignore[attr-defined]
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _response_from(result: object) -> web.Response:
    if result is None:
        # No HTTP output set: the host answers 204 No Content.
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(status=200, body=result.encode("utf-8"), content_type="text/plain", charset="utf-8")
    if not isinstance(result, func.HttpResponse):
        raise TypeError(
            f"an HTTP function must return azure.functions.HttpResponse or str, got {type(result).__name__}"
        )
    headers = CIMultiDict((name, value) for name, value in result.headers.items()
                          if name.lower() not in _HOP_BY_HOP_HEADERS)
    if "content-type" not in headers:
        # Same rule as azure.functions' HttpResponseConverter: text types carry the charset.
        mimetype = result.mimetype
        headers["Content-Type"] = f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/") else mimetype
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers)


class HttpTriggerHandler:
    def __init__(self, routes: list[HttpRoute], invoker: Invoker) -> None:
        self._routes = routes
        self._invoker = invoker

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
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=_joined(request.headers.items()),
            params=_joined(request.query.items()),
            route_params=route_params,
            body=body,
        )

        response: web.Response | None = None

        def shape(result: InvocationResult) -> str:
            """Turns the function's result into the HTTP response; its text ends the Executed log line."""
            nonlocal response
            if result.succeeded:
                value = result.http_output.get() if result.http_output is not None else result.value
                try:
                    response = _response_from(value)
                except TypeError:
                    logger.exception("Functions.%s: the function's result is not an HTTP response", route.spec.name)
            status = response.status if response is not None else 500
            return f"httpTrigger {request.method} {request.rel_url.path} -> {status}"

        await self._invoker.invoke(route.spec, http_request, shape)
        # An unhandled exception is a bare 500, as from the host; the traceback is in the console log.
        return response if response is not None else web.Response(status=500)


def build_http_app(routes: list[HttpRoute], invoker: Invoker) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BODY_BYTES)
    app.router.add_route("*", "/{path:.*}", HttpTriggerHandler(routes, invoker).handle)
    return app
