"""Starting work at the same instant: the one helper the race tests use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def run_together(*work: Callable[[], _T]) -> list[_T]:
    """Run each callable on a thread of its own, all released at once by a barrier; wait for all of
    them. Returns their results in finishing order. When a callable raised, the first such exception
    is raised here once every thread has finished (so a failure in a thread fails the test)."""
    barrier = threading.Barrier(len(work))
    lock = threading.Lock()
    results: list[_T] = []
    errors: list[BaseException] = []

    def run(job: Callable[[], _T]) -> None:
        barrier.wait()
        try:
            result = job()
        except BaseException as error:  # raised in the caller's thread below
            with lock:
                errors.append(error)
            return
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
