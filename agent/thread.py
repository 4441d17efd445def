"""A RelayListener on its own event loop in a daemon thread, for synchronous callers (tests, tools that
embed the agent next to a relay double)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from agent.listener import RelayListener

_SPARE_THREADS = 4


def use_sap_unit_threads(loop: asyncio.AbstractEventLoop, concurrency: int) -> ThreadPoolExecutor:
    """Give the loop a worker thread for every SAP unit that may run at once, and a few more.

    The API runs each (blocking) SAP unit with asyncio.to_thread, i.e. on the loop's default executor,
    which Python sizes min(32, CPUs + 4): on a 2-core host 6 threads, so AGENT_CONCURRENCY=8 would run
    6 units at a time and the other two requests would wait for a thread (scripts/bench measured 71% of
    SAP's limit). The units wait on SAP, not on the CPU, so the core count says nothing about them. The
    spare threads keep the loop's own blocking calls (name lookups for rendezvous connections) from
    queueing behind busy units; the API's semaphore still bounds the units to `concurrency`.
    """
    executor = ThreadPoolExecutor(max_workers=concurrency + _SPARE_THREADS, thread_name_prefix="sap-unit")
    loop.set_default_executor(executor)
    return executor


class ListenerThread:
    """`sap_units`: worker threads for the SAP units (the agent's AGENT_CONCURRENCY, see
    use_sap_unit_threads); None keeps Python's default executor."""

    def __init__(self, make_listener: Callable[[], RelayListener], *, sap_units: int | None = None) -> None:
        self._make = make_listener
        self.loop = asyncio.new_event_loop()
        if sap_units is not None:
            use_sap_unit_threads(self.loop, sap_units)
        self._thread = threading.Thread(target=self.loop.run_forever, name="relay-listener", daemon=True)
        self.listener: RelayListener | None = None
        self._task: asyncio.Future | None = None

    def start(self, wait_connected: float = 10.0) -> RelayListener:
        self._thread.start()

        async def begin() -> RelayListener:
            listener = self._make()
            self._task = asyncio.ensure_future(listener.run())
            await asyncio.wait_for(listener.connected.wait(), wait_connected)
            return listener

        self.listener = asyncio.run_coroutine_threadsafe(begin(), self.loop).result(wait_connected + 5)
        return self.listener

    def stop(self, timeout: float = 30.0) -> None:
        if self.listener is not None and self._task is not None:
            self.loop.call_soon_threadsafe(self.listener.stop)

            async def finished() -> None:
                assert self._task is not None
                await asyncio.wait_for(asyncio.shield(self._task), timeout)

            asyncio.run_coroutine_threadsafe(finished(), self.loop).result(timeout + 5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> RelayListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
