"""How the reconcile keeps its pace (shared.usecases.reconcile): the next Salesforce page is read while this
one is worked, and no more creates are queued than the queue trigger can take in a while.

The window. The retry queue is shared with the live traffic: the push path's creates and the HTTP path's
retries wait in it behind whatever the reconcile put there. An initial load of 100,000 accounts queued at
once puts every live create behind all of them (at SAP's pace of about 20 creates/s, some 80 minutes). With
a window of N, the reconcile keeps at most N messages in the queue (its own and the live ones: the queue's
approximate depth, plus the accounts it is queueing right now), so a live create waits about N ÷ SAP's rate
behind it; the operator can stop a load (Ctrl-C) and the queue empties within that time; a later run
continues where it stopped (the ledger knows what is queued or created, and the reconcile skips it). It
also lets Azurite drain a load at all: its queue store filters and sorts every message on each receive, so a
receive costs more the deeper the queue (0.6 s for 16 messages with 2,000 queued, 8.5 s with 30,000:
measured on the development machine; the code is Azurite's LokiQueueMetadataStore.getMessages).

The depth Azure Queue storage reports counts invisible messages too (retries waiting out their backoff):
"The approximate number of messages in the queue. This number is not lower than the actual number of
messages in the queue, but could be higher." (Get Queue Metadata, x-ms-approximate-messages-count). So the
window is a bound on everything queued; with more retries waiting than the window, the reconcile waits too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from shared.storage.port import RetryQueue, RetryQueueUnavailable
from shared.usecases.services import StorageUnavailable

# The operator command's default window: a live create waits at most this many messages' worth of SAP work
# behind an initial load (10 s at the benchmark's 20 creates/s, 8 sessions x 2 calls x 200 ms; 25 s at 8/s),
# while the queue trigger is never starved: one instance holds at most batchSize + newBatchThreshold = 24
# (host.json), and SAP's sessions (the agent's cap, 8 by default) bound throughput however many instances
# hold messages, so 200 keeps 8 instances supplied and far more than they drain during one depth re-read
# (WINDOW_POLL_SECONDS). On Azurite (local runs, the benchmarks) it also keeps receives cheap: there a
# receive costs about 0.3 ms per message the emulator holds (bench/initial_load.py). 0 means no bound.
DEFAULT_WINDOW = 200

# How long the reconcile sleeps before reading the queue's depth again while the window is full: the depth
# is one storage round trip; at 20 creates/s half a second frees 10 places.
WINDOW_POLL_SECONDS = 0.5

# How long the window may stay full without the queue's depth going down before the reconcile stops: the
# queue trigger takes nothing (the function app stopped, its storage setting wrong). A live trigger takes
# a batch within maxPollingInterval (2 s, host.json) and an unhurried SAP drains 200 in under a minute.
IDLE_TRIGGER_SECONDS = 300.0


class QueueTriggerIdle(Exception):
    """The window stayed full for IDLE_TRIGGER_SECONDS with the queue's depth never going down: nothing
    takes the messages. What was queued stays queued (and claimed); a later run continues."""

    kind = "misconfigured"  # the moves and labels of every error root: shared/sap/errors.py's table
    label = "queue trigger takes no messages"


_Page = TypeVar("_Page")
_END = object()


@contextmanager
def read_ahead(pages: Iterator[_Page]) -> Iterator[Iterator[_Page]]:
    """The pages of `pages`, each read on a background thread while the one before is worked: one page
    ahead, no more (a page of 2,000 accounts is the memory it costs). An error of a page read (SalesforceError)
    is raised where that page is taken, as reading it in place would raise it. On leaving, a read under way
    is waited for and the pages are closed."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-pages")

    def read_next() -> Future[object]:
        return reader.submit(next, pages, _END)

    def in_order() -> Iterator[_Page]:
        upcoming = read_next()
        while True:
            page = upcoming.result()
            if page is _END:
                return
            upcoming = read_next()
            yield page  # type: ignore[misc]  # not _END: a page

    try:
        yield in_order()
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        close = getattr(pages, "close", None)
        if close is not None:
            close()


class QueueWindow:
    """At most `size` messages in the retry queue (0: no bound): `admit` returns when one more account may
    be handed on, and waits (sleeping WINDOW_POLL_SECONDS, then reading the depth again) while the queue's
    depth plus the accounts being queued right now would be more. The depth is read only when the places
    counted at the last read are used up, not once an account."""

    def __init__(
        self,
        queue: RetryQueue,
        size: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        idle_seconds: float = IDLE_TRIGGER_SECONDS,
    ) -> None:
        self.queue = queue
        self.size = max(size, 0)
        self.idle_seconds = idle_seconds
        self.waited_seconds = 0.0  # time spent waiting for the window: the queue trigger's pace, not ours
        self._sleep = sleep
        self._clock = clock
        self._places = 0

    def full(self, in_flight: Callable[[], int]) -> bool:
        """Whether `admit` would wait now (reads the depth only when the places counted are used up)."""
        if self.size == 0 or self._places > 0:
            return False
        self._places = self.size - self._depth() - in_flight()
        return self._places <= 0

    def admit(self, in_flight: Callable[[], int], waiting: Callable[[], None] | None = None) -> None:
        """`in_flight()`: the accounts handed on whose messages may not be in the depth yet; `waiting()` is
        called before each wait (the command's progress bar says it waits for the queue)."""
        if self.size == 0:
            return
        lowest: int | None = None  # the least depth seen while this wait lasts, and since when
        since = self._clock()
        while self._places <= 0:
            depth = self._depth()
            self._places = self.size - depth - in_flight()
            if self._places > 0:
                break
            if lowest is None or depth < lowest:
                lowest, since = depth, self._clock()
            elif self._clock() - since >= self.idle_seconds:
                raise QueueTriggerIdle(
                    f"the retry queue held {depth} messages and none was taken for {self.idle_seconds:.0f} s: is "
                    "the function app (its queue trigger) running? What was queued stays queued; run the "
                    "reconcile again to continue"
                )
            if waiting is not None:
                waiting()
            started = self._clock()
            self._sleep(WINDOW_POLL_SECONDS)
            self.waited_seconds += self._clock() - started
        self._places -= 1

    def _depth(self) -> int:
        try:
            return self.queue.depth()
        except RetryQueueUnavailable as error:
            raise StorageUnavailable(f"the retry queue is unavailable; the reconcile stopped ({error})") from error
