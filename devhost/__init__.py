"""A local host for Azure Functions Python v2 apps, for machines without Azure Functions Core Tools.

`python -m devhost --app-dir . --port 7071` imports the app's function_app.py and serves the functions
registered on its `azure.functions.FunctionApp` (blueprints included), with no per-function code:
HTTP triggers over aiohttp and queue triggers polled from Azure Storage (Azurite locally). Tests use
`LocalHost(app_dir, port=0).start()` ... `.stop()`. devhost/README.md has the details.

What it mirrors from the Functions host
* Worker-style loading: app dir first on sys.path, module `function_app`, local.settings.json "Values"
  into the environment (variables already set win), `%SETTING%` in queue names resolved.
* HTTP: route templates (`{id}`, `{id?}`, `{id:int}`, `{*rest}`, defaults, multi-part segments) with
  ASP.NET Core precedence, default route = function name, methods (none = all), host.json
  extensions.http.routePrefix (default "api"), 404 (also for a wrong method, like the host), a body
  limit per route (64 KiB unless the function declares its own, e.g. the push endpoint's 1 MiB;
  stricter than the host's 100 MB), unhandled exception -> 500 with the traceback in the
  log, HttpResponse status/headers/mimetype/charset/cookies, `context` parameter.
* Bindings through azure.functions' own converters, as the worker: HttpRequestConverter builds the
  request, HttpResponseConverter encodes the answer, QueueMessageInConverter builds the QueueMessage.
* Queues: host.json extensions.queues batchSize, newBatchThreshold, maxPollingInterval,
  visibilityTimeout, maxDequeueCount, messageEncoding (base64 / none); "<queue>-poison"; a message
  being processed kept invisible and renewed (a 30 s window, the host's is 10 minutes: a killed host's
  message is back within 30 s); the trigger queues created before start() returns.

What it does NOT have (the real host does)
* Keys and auth levels: not enforced, as with `func start`; no /admin API, no key management.
* Triggers other than HTTP and queue (timer, blob, Service Bus, Event Hubs, Cosmos DB, Event Grid, ...):
  listed at start as "not served by the local host".
* Bindings other than the HTTP response: input bindings receive None, output bindings drop the value
  with a warning (queue output, table, blob, ...).
* Durable Functions, the scale controller, dynamic concurrency, extension bundles, retry policies
  (`@app.retry`), functionTimeout, Application Insights / OpenTelemetry export, host.json logging
  levels, HTTP streaming, ASGI/WSGI specifics beyond a plain HTTP trigger, proxies, the admin and
  health endpoints, hot reload.
* Local default: maxPollingInterval is capped at 2 s (`--max-polling-interval`, `polling_cap_seconds`).
"""

from devhost.app_loader import AppLoadError, FunctionSpec, load_functions
from devhost.config import HostConfig, HostConfigError, QueueOptions, read_host_config
from devhost.host import LocalHost, LocalHostError
from devhost.queue_listener import QueueConnectionError
from devhost.routing import RouteTemplate, RouteTemplateError

__all__ = [
    "AppLoadError",
    "FunctionSpec",
    "HostConfig",
    "HostConfigError",
    "LocalHost",
    "LocalHostError",
    "QueueConnectionError",
    "QueueOptions",
    "RouteTemplate",
    "RouteTemplateError",
    "load_functions",
    "read_host_config",
]
