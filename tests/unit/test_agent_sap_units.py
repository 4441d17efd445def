"""The agent runs as many SAP units at once as AGENT_CONCURRENCY allows, whatever the host's core count:
its API hands each unit to asyncio.to_thread, whose default executor Python sizes by CPUs."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from agent.__main__ import agent_concurrency
from agent.thread import use_sap_unit_threads
from shared.settings import SettingsError


def _units_at_once(concurrency: int) -> bool:
    """True when `concurrency` blocking units run at the same time on the loop (each waits for all)."""
    barrier = threading.Barrier(concurrency, timeout=5)

    def unit() -> bool:
        try:
            barrier.wait()
            return True
        except threading.BrokenBarrierError:
            return False

    async def main() -> bool:
        use_sap_unit_threads(asyncio.get_running_loop(), concurrency)
        return all(await asyncio.gather(*(asyncio.to_thread(unit) for _ in range(concurrency))))

    return asyncio.run(main())


def test_the_agent_loop_runs_more_sap_units_at_once_than_the_default_executor_allows():
    default_threads = min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default size
    assert _units_at_once(default_threads + 2)


def test_agent_concurrency_is_read_from_agent_concurrency_with_a_clear_error():
    assert agent_concurrency({}) == 4
    assert agent_concurrency({"AGENT_CONCURRENCY": "8"}) == 8
    with pytest.raises(SettingsError, match="AGENT_CONCURRENCY"):
        agent_concurrency({"AGENT_CONCURRENCY": "0"})
    with pytest.raises(SettingsError, match="AGENT_CONCURRENCY"):
        agent_concurrency({"AGENT_CONCURRENCY": "many"})
