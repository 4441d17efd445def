"""LocalHost: loads the app, serves its HTTP triggers and polls its queue triggers on one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from devhost.app_loader import (
    HTTP_TRIGGER,
    QUEUE_TRIGGER,
    AppLoadError,
    FunctionSpec,
    ImportState,
    load_functions,
)
from devhost.config import (
    AppSettingsError,
    HostConfig,
    disabled_setting_name,
    is_disabled,
    is_settings_error,
    load_local_settings,
    read_host_config,
)
from devhost.http_server import ConnectionGuard, HttpLimits, HttpRoute, build_http_app, build_routes
from devhost.invocation import Invoker
from devhost.queue_listener import IN_FLIGHT_VISIBILITY_SECONDS, QueueListener, make_listener

logger = logging.getLogger("devhost")

DEFAULT_POLLING_CAP_SECONDS = 2.0
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 30.0
# aiohttp's default listen backlog (128) drops bursts of hundreds of simultaneous connections.
_LISTEN_BACKLOG = 2048


class LocalHostError(Exception):
    """The local host could not start (app import, host.json, connection or port problem)."""


def _http_thread_count() -> int:
    # Same knob as the Python worker; its default there is the ThreadPoolExecutor default.
    configured = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else min(32, (os.cpu_count() or 1) + 4)


class LocalHost:
    """A local stand-in for the Functions host (`func start`) serving one Python v2 app.

    `start()` runs the host on its own thread and event loop and returns once it listens (port 0 picks a
    free port; see `base_url`); `stop()` shuts it down. `serve_forever()` is the blocking form the CLI uses.
    `polling_cap_seconds` caps host.json's maxPollingInterval (None honours host.json as it is).
    `http_limits` bounds what one client may cost: body size and read timeouts, open and idle
    connections (see HttpLimits; the defaults suit a laptop).
    `in_flight_visibility_seconds`: how long a queue message being processed stays invisible (renewed every
    half of it while the function runs); the message of a host that died is visible again within it.
    The queues of the queue triggers exist when `start()` returns (created when missing).
    """

    def __init__(
        self,
        app_dir: str | os.PathLike[str] = ".",
        *,
        host: str = "127.0.0.1",
        port: int = 7071,
        polling_cap_seconds: float | None = DEFAULT_POLLING_CAP_SECONDS,
        shutdown_timeout_seconds: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        http_limits: HttpLimits | None = None,
        in_flight_visibility_seconds: float = IN_FLIGHT_VISIBILITY_SECONDS,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.host = host
        self.port = port
        self.polling_cap_seconds = polling_cap_seconds
        self.shutdown_timeout_seconds = shutdown_timeout_seconds
        self.http_limits = http_limits or HttpLimits()
        self.in_flight_visibility_seconds = in_flight_visibility_seconds
        self.connection_guard: ConnectionGuard | None = None
        self.config = HostConfig()
        self.functions: list[FunctionSpec] = []
        self.http_routes: list[HttpRoute] = []
        self.queue_listeners: list[QueueListener] = []
        self.unserved: list[FunctionSpec] = []
        self.disabled: list[FunctionSpec] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._http_executor: ThreadPoolExecutor | None = None
        self._stop_requested: asyncio.Event | None = None
        self._import_state: ImportState | None = None

    @property
    def base_url(self) -> str:
        display_host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        return f"http://{display_host}:{self.port}"

    def load(self) -> None:
        """Reads local.settings.json, host.json and function_app.py (before the loop starts)."""
        names = load_local_settings(self.app_dir)
        if names:
            logger.info("local.settings.json: %d values loaded (%s)", len(names), ", ".join(sorted(names)))
        self.config = read_host_config(self.app_dir)
        self._import_state = ImportState()
        try:
            self.functions = load_functions(self.app_dir)
        except AppLoadError as error:
            cause = error.__cause__
            if cause is not None and is_settings_error(cause):
                # e.g. "SAP_SIMULATOR_FAULTS: 'x' is not ...": the app's message says it all.
                raise AppSettingsError(f"function_app.py refused its settings: {cause}") from None
            raise

    async def _start_async(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        self._http_executor = ThreadPoolExecutor(max_workers=_http_thread_count(), thread_name_prefix="http")
        # A function disabled by its app setting is neither triggered nor routed (its URL answers 404, as
        # Azure's host answers a disabled function to any key but the master key, which is not kept here).
        self.disabled = [spec for spec in self.functions if is_disabled(spec.name)]
        enabled = [spec for spec in self.functions if spec not in self.disabled]
        http_specs = [spec for spec in enabled if spec.kind == HTTP_TRIGGER]
        self.http_routes = build_routes(http_specs, self.config.route_prefix)
        self.queue_listeners = [
            make_listener(
                spec,
                self.config.queues,
                self.polling_cap_seconds,
                str(self.app_dir),
                in_flight_visibility_seconds=self.in_flight_visibility_seconds,
            )
            for spec in enabled
            if spec.kind == QUEUE_TRIGGER
        ]
        self.unserved = [spec for spec in enabled if spec.kind not in (HTTP_TRIGGER, QUEUE_TRIGGER)]
        self.connection_guard = ConnectionGuard(self.http_limits)
        app = build_http_app(
            self.http_routes, Invoker(self._http_executor, str(self.app_dir)), self.http_limits, self.connection_guard
        )
        # auto_decompress off: the trigger handler decompresses the body itself, against the size cap.
        # keepalive_timeout: an idle keep-alive connection goes as the guard's idle timeout says.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self.shutdown_timeout_seconds,
            auto_decompress=False,
            keepalive_timeout=self.http_limits.idle_timeout_seconds,
            lingering_time=self.http_limits.lingering_seconds,
        )
        await self._runner.setup()
        assert self._runner.server is not None
        # Our own listening socket rather than web.TCPSite: every connection goes through the guard.
        self._listener = await self._loop.create_server(
            self.connection_guard.protocol_factory(self._runner.server),
            self.host,
            self.port,
            backlog=_LISTEN_BACKLOG,
            reuse_address=True,
        )
        if self.port == 0:
            self.port = self._listener.sockets[0].getsockname()[1]
        # Before start() returns: a message sent right after it must find its queue (bounded per queue;
        # storage unreachable is logged and the poll loop creates the queue later).
        await asyncio.gather(*(listener.prepare() for listener in self.queue_listeners))
        for listener in self.queue_listeners:
            listener.start().add_done_callback(self._poll_task_ended)
        self._log_banner()

    @staticmethod
    def _poll_task_ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("queue polling %s stopped", task.get_name(), exc_info=task.exception())

    def _log_banner(self) -> None:
        lines = ["", "Functions:", ""]
        # In registration order, like func start (the route table itself is in precedence order).
        routes_by_function = {route.spec.name: route for route in self.http_routes}
        for spec in self.functions:
            if spec.name in routes_by_function:
                route = routes_by_function[spec.name]
                url = f"{self.base_url}/{route.template.template}"
                lines.append(f"        {spec.name}: [{route.display_methods}] {url}")
        for listener in self.queue_listeners:
            target = listener.target
            lines.append(
                f"        {target.function_name}: queueTrigger (queue: {target.queue_name}, connection: "
                f"{target.connection}, polling up to {listener.max_polling_interval:g} s, "
                f"in flight hidden {listener.in_flight_visibility_seconds} s and renewed)"
            )
        for spec in self.unserved:
            lines.append(f"        {spec.name}: {spec.trigger_type} (not served by the local host)")
        for spec in self.disabled:
            lines.append(f"        {spec.name}: {spec.trigger_type} (disabled by {disabled_setting_name(spec.name)})")
        for spec in self.functions:
            for binding in spec.other_bindings():
                lines.append(
                    f"        {spec.name}: binding {binding.get('name')!r} ({binding.get('type')}) "
                    "is not served by the local host"
                )
        lines.append("")
        lines.append(
            f"Local host listening on {self.base_url} (route prefix '{self.config.route_prefix}'; "
            "keys are not enforced, as with func start)"
        )
        logger.info("\n".join(lines))

    async def _stop_async(self) -> None:
        listeners = self.queue_listeners
        await asyncio.gather(*(listener.stop(self.shutdown_timeout_seconds) for listener in listeners))
        if self._listener is not None:
            self._listener.close()  # stop accepting
        if self._runner is not None:
            # Closes idle connections, then waits up to shutdown_timeout for requests in flight.
            await self._runner.cleanup()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None
        if self._http_executor is not None:
            self._http_executor.shutdown(wait=False, cancel_futures=True)
        logger.info("Local host stopped")

    async def serve_until_stopped(self) -> None:
        """Starts on the running loop and returns after `request_stop()` (used by the CLI)."""
        await self._start_async()
        assert self._stop_requested is not None
        await self._stop_requested.wait()
        await self._stop_async()

    def request_stop(self) -> None:
        """Asks a running host to shut down; safe from signal handlers and other threads."""
        if self._loop is not None and self._stop_requested is not None:
            self._loop.call_soon_threadsafe(self._stop_requested.set)

    def start(self, timeout_seconds: float = 30.0) -> LocalHost:
        """Loads the app and runs the host on a background thread; returns once it is listening."""
        if self._thread is not None:
            raise LocalHostError("already started")
        self.load()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:

                async def main() -> None:
                    try:
                        await self._start_async()
                    except BaseException as error:
                        failure.append(error)
                        started.set()
                        with contextlib.suppress(Exception):
                            await self._stop_async()
                        return
                    started.set()
                    assert self._stop_requested is not None
                    await self._stop_requested.wait()
                    await self._stop_async()

                loop.run_until_complete(main())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="devhost", daemon=True)
        self._thread.start()
        if not started.wait(timeout_seconds):
            raise LocalHostError(f"the local host did not start within {timeout_seconds} s")
        if failure:
            self._thread.join(timeout_seconds)
            self._thread = None
            if self._import_state is not None:
                self._import_state.restore()
            raise LocalHostError(f"the local host failed to start: {failure[0]}") from failure[0]
        return self

    def stop(self, timeout_seconds: float | None = None) -> None:
        if self._thread is None:
            return
        self.request_stop()
        self._thread.join(timeout_seconds if timeout_seconds is not None else self.shutdown_timeout_seconds * 2 + 5)
        self._thread = None
        if self._import_state is not None:
            # Other code in the same process (tests) may import its own function_app afterwards.
            self._import_state.restore()
            self._import_state = None

    def __enter__(self) -> LocalHost:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
