"""A RelayListener on its own event loop in a daemon thread, for synchronous callers (tests, tools that
embed the agent next to a relay double)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from agent.listener import RelayListener


class ListenerThread:
    def __init__(self, make_listener: Callable[[], RelayListener]) -> None:
        self._make = make_listener
        self.loop = asyncio.new_event_loop()
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
