"""Retry drain: 1,000 queued retries through the queue-trigger path, against the same storage work run
by the bench alone at the drain's concurrency, interleaved slice by slice (issue 27, item 4).

The retries are what a SAP outage leaves behind: per account a QUEUED ledger entry whose retry token
matches its message, and the message (the product's own RetryMessage, written by its own queue
adapter). The local host then runs RetryCreateSAPCustomer for each (devhost/queue_listener.py: batches
of host.json's batchSize, newBatchThreshold, a visibility lease per message, delete on success) with
the simulator answering at once. Each retry makes the table round trips exactly-once needs (read the
entry: is this message still its owner; claim it, ETag-guarded, so two copies of one message never
both reach SAP; hold the customer number for the account, a conditional insert; record the result) and the
queue's receive and delete.

The limit (checked): the same storage operations (receive, read, claim, reverse entry, result, delete)
run by the bench alone, with the host's queue transport and the product's table client, at the drain's
concurrency (batchSize per receive, batchSize + newBatchThreshold in flight, as many threads), over the
same entries and messages of the same bytes.

Why slices: on this shared 2-core machine the storage limit drifted 2x within a minute (issue 27's
1,000-message run: 29/s right before the drain, 57/s right after it), and Azurite's in-memory queue
answers more slowly the more messages it holds, across all its queues (one Loki collection for every
message; measured here: a delete costs about 1.3 ms with 100 messages queued, 5 ms with 1,000, 14 ms
with 3,000; a receive of 16, 7, 12 and 31 ms). So the 1,000 retries go in slices of 250: per slice,
the bound and the drain each start from a queue holding exactly that slice's 250 messages (nothing
else queued: the same fullness), one right after the other, their order alternating (bound first,
then drain first, ...) so that a trend of the machine's load favours neither. The checked figure is
the median of the per-slice ratios: each ratio compares two passes seconds apart, and the median is
not moved by one slice that a stall hit on one side only; the ratio of the sums (all retries over
all drain seconds against the same for the bound) is in the note.

The stall that makes the median necessary (measured with Azurite's --debug log and a --cpu-prof of it,
Azurite 3.35): every 60 s after its last sweep, Azurite's queue service sweeps the extents of deleted
messages (QueueGCManager.markSweep; each message body is one extent), removing them one by one from
an indexed Loki collection, which rebuilds the index each time: 2,024 extents took 9.6 s, during which
Azurite (its table service too: one Node process) answers late (table writes averaged 400 ms instead
of 50 in a slice it fell in, Azurite's CPU 9 s instead of 2). A slice it falls in is slow on one
side. A sweep longer than the storage clients' 20 s read timeout (one 1,000-message run stalled for
300 s) can make a write time out after it was applied; a retry whose claim was applied but reported
lost then met its own live claim, deferred, and finished only once that claim was stale (reproduced
since in tests/integration/test_claim_answer_lost.py; fixed: each claim carries its attempt's id,
shared/core/claims.py own_claim, and the retry goes on with its own). So each message the
bench writes costs a later sweep: the raw receive-and-delete is taken once, not per slice.

Reported beside it: a second, shorter series drained as the writers that store the entry first queue
the retries (the reconcile and the push path: the message carries its QUEUED entry and ETag, so the
retry claims unread, 3 table round trips), against the same work without the read; and Azurite's
bare receive-and-delete of one slice's messages (no target since issue 27: a retry's storage work
alone cannot reach it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import statistics
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.common import Measurement, load_samples
from bench.harness import account_id, app_settings, azurite, environment, quiet_logs, remove_storage, unique

NAME = "retry_drain"
MESSAGES = 1000
SLICES = 4  # of 250: Azurite's queue stays in the range where it is fast, and each pass lasts seconds
# Run (and their entries stored) only when a stall fell in one of the slices: a slice in place of it.
SPARE_SLICES = 1
# The carrying series (reported): 500 retries in 4 slices of 125.
CARRYING_MESSAGES = 500
CARRYING_SLICES = 4
QUICK_MESSAGES = 24
QUICK_SLICES = 2
QUICK_CARRYING_MESSAGES = 12
QUICK_CARRYING_SLICES = 2
# Untimed, before the slices: the first retry builds the services and imports the use case, the
# first SAP calls log the pool's sessions on, the bound's threads open their connections.
WARM_UP_MESSAGES = 24
QUICK_WARM_UP_MESSAGES = 4
# The drain against its own storage work run alone at the drain's concurrency (issue 27, item 4): what
# the app adds on top of the storage operations exactly-once needs may cost at most a fifth.
TARGET_SHARE_OF_STORAGE_WORK = 0.8
SLICE_TIMEOUT_SECONDS = 300
SEED_THREADS = 8
# How often the drain's end is looked for: an in-process counter of the simulator (no storage request),
# then the queue's count once every retry has created its customer.
DONE_POLL_SECONDS = 0.02
# Azurite's responsiveness is probed this often while the slices run; a probe this slow marks a stall
# (a probe answers in milliseconds to a few hundred on this loaded machine; the queue sweep takes seconds).
PROBE_INTERVAL_SECONDS = 0.25
STALL_SECONDS = 1.5


def _retry_message(number: int, series: str = "Dr") -> Any:
    from shared.core.retry_message import RetryKind, RetryMessage

    sample = load_samples()[number % 3]
    account = account_id(series, number)
    return RetryMessage(
        kind=RetryKind.CREATE,
        account_id=account,
        tracking_id=uuid.uuid4().hex,
        payload=dict(sample, accountId=account),
        attempt=1,
        first_seen_at=datetime.now(UTC).isoformat(),
        last_error="SAP unavailable (CommunicationError)",
        retry_token=uuid.uuid4().hex,
    )


def _store_entries(settings: dict[str, str], messages: list[Any], carry_entry: bool = False) -> list[Any]:
    """The QUEUED entries a SAP outage leaves behind, stored; returns the messages to queue for them
    (`carry_entry`: as the writers that store first queue them, carrying the stored entry and its ETag)."""
    from shared.core.ledger import LedgerEntry, LedgerStatus
    from shared.settings import load_settings
    from shared.storage.table_ledger import table_ledger_from_settings

    ledger = table_ledger_from_settings(load_settings(settings))

    def one(message: Any) -> Any:
        now = datetime.now(UTC)
        stored = ledger.claim(
            LedgerEntry(
                account_id=message.account_id,
                status=LedgerStatus.QUEUED,
                tracking_id=message.tracking_id,
                created_at=now,
                updated_at=now,
                attempts=1,
                last_error=message.last_error,
                error_kind="transient",
                retry_token=message.retry_token,
                payload=message.payload,
            )
        )
        return message.with_written_entry(stored) if carry_entry else message

    with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
        return list(pool.map(one, messages))


def _fill(connection_string: str, queue_name: str, bodies: list[str]) -> None:
    """The messages as the product's queue adapter stores them (TextBase64EncodePolicy: base64 of the
    UTF-8 JSON), on the bench's threads."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import QueueClient

    client = QueueClient.from_connection_string(connection_string, queue_name)
    with contextlib.suppress(ResourceExistsError):  # the app's own queue, from the second slice on
        client.create_queue()
    encoded = [base64.b64encode(body.encode("utf-8")).decode("ascii") for body in bodies]
    with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
        list(pool.map(client.send_message, encoded))


async def _poll_like_the_listener(
    client: Any,
    count: int,
    batch_size: int,
    in_flight: int,
    handle: Callable[[Any], Awaitable[None]],
    handled: Callable[[], int],
) -> float:
    """Seconds until `handled()` reaches `count`: receive batches of `batch_size` and handle each message
    in its own task, receiving again once no more than newBatchThreshold (in_flight - batch_size) are
    still running, as the local host's queue listener does."""
    started = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    while handled() < count:
        if len(tasks) <= in_flight - batch_size and handled() + len(tasks) < count:
            batch = [
                message
                async for message in client.receive_messages(
                    messages_per_page=batch_size, max_messages=batch_size, visibility_timeout=30
                )
            ]
            for message in batch:
                task = asyncio.create_task(handle(message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if batch:
                continue
        if tasks:
            await asyncio.wait(set(tasks), return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def _receive_and_delete(
    connection_string: str, queue_name: str, count: int, batch_size: int, in_flight: int
) -> float:
    """Seconds to receive and delete `count` messages: batches of `batch_size`, deletes concurrent up to
    `in_flight` (the listener's own bounds), the same async client the local host polls with."""
    from azure.storage.queue.aio import QueueClient

    from devhost.queue_listener import queue_transport

    done = 0
    slots = asyncio.Semaphore(in_flight)
    # The local host's own transport (no per-request look-ups in the environment), so the limit is
    # what its queue client can do at best.
    async with QueueClient.from_connection_string(connection_string, queue_name, transport=queue_transport()) as client:

        async def delete(message: Any) -> None:
            nonlocal done
            async with slots:
                await client.delete_message(message.id, message.pop_receipt)
                done += 1

        return await _poll_like_the_listener(client, count, batch_size, in_flight, delete, lambda: done)


def _raw_seconds(connection_string: str, bodies: list[str], batch_size: int, in_flight: int) -> float:
    name = unique("benchraw")
    try:
        _fill(connection_string, name, bodies)
        return asyncio.run(_receive_and_delete(connection_string, name, len(bodies), batch_size, in_flight))
    finally:
        remove_storage(connection_string, None, name)


class StorageWork:
    """The bound: a retry's storage round trips alone, run the way the local host runs the trigger.

    Receive (batched) and delete with the host's async queue client on an event loop; on worker threads,
    with the product's table client: read the ledger entry, replace it (the claim), insert the reverse
    entry (customer number -> account, the ledger's own row shape), replace it again (the result; both
    replaces ETag-guarded, the entry written as read, so its size is the retry's). `read_first=False`:
    the claim without the read, as a message carrying its entry and ETag makes it (the ETags are read
    before the clock starts). Concurrency: the drain's (`in_flight` messages at once, their table work
    on `in_flight` threads, as the host's listener runs them). A replace of an entry with itself leaves
    it as the retry expects to find it, so the bound and the drain can take the same entries in either
    order."""

    def __init__(self, settings: dict[str, str], batch_size: int, in_flight: int) -> None:
        from shared.settings import load_settings
        from shared.storage.clients import table_service_client

        self._connection_string = settings["AzureWebJobsStorage"]
        self._table = table_service_client(load_settings(settings)).get_table_client(settings["LEDGER_TABLE_NAME"])
        self._batch_size, self._in_flight = batch_size, in_flight
        self._threads = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="bench-storage-work")
        self._passes = 0
        self.window = (0.0, 0.0)  # the last pass's timed part, perf_counter seconds

    def close(self) -> None:
        self._threads.shutdown()

    def seconds(self, messages: list[Any], read_first: bool = True) -> float:
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode
        from azure.storage.queue.aio import QueueClient

        from devhost.queue_listener import queue_transport
        from shared.storage.table_ledger import CUSTOMER_PARTITION

        self._passes += 1
        pass_tag = f"W{self._passes}-"  # each pass's reverse entries apart from the drain's and each other's
        table = self._table
        by_body = {message.to_json(): message.account_id for message in messages}
        known = {} if read_first else {account: table.get_entity(account, "ledger") for account in by_body.values()}

        def table_work(content: str) -> None:
            account = by_body[base64.b64decode(content).decode("utf-8")]
            entity = table.get_entity(account, "ledger") if read_first else known.pop(account)
            etag = entity.metadata["etag"]
            for step in range(2):
                if step:
                    table.create_entity(
                        {"PartitionKey": CUSTOMER_PARTITION, "RowKey": f"{pass_tag}{account}", "AccountId": account}
                    )
                etag = table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )["etag"]

        async def drain(name: str) -> float:
            loop = asyncio.get_running_loop()
            done = 0
            async with QueueClient.from_connection_string(
                self._connection_string, name, transport=queue_transport()
            ) as client:

                async def one(message: Any) -> None:
                    nonlocal done
                    await loop.run_in_executor(self._threads, table_work, message.content)
                    await client.delete_message(message.id, message.pop_receipt)
                    done += 1

                return await _poll_like_the_listener(
                    client, len(messages), self._batch_size, self._in_flight, one, lambda: done
                )

        name = unique("benchwork")
        try:
            _fill(self._connection_string, name, [message.to_json() for message in messages])
            seconds = asyncio.run(drain(name))
            self.window = (time.perf_counter() - seconds, time.perf_counter())
            return seconds
        finally:
            remove_storage(self._connection_string, None, name)


class Drain:
    """The local host draining the app's retry queue, one slice at a time: the slice's messages are
    queued while no host runs, then a host starts and the clock runs until every retry has created its
    customer and the queue is empty. The services the first slice (the warm-up) builds serve the later
    ones, as a worker process keeps them between messages."""

    def __init__(self, settings: dict[str, str], system: Any) -> None:
        from azure.storage.queue import QueueClient

        self._settings = settings
        self._system = system
        self.window = (0.0, 0.0)  # the last pass's timed part, perf_counter seconds
        self._queue = QueueClient.from_connection_string(settings["AzureWebJobsStorage"], settings["RETRY_QUEUE_NAME"])

    def seconds(self, messages: list[Any]) -> float:
        from bench.common import ROOT
        from devhost import LocalHost

        _fill(
            self._settings["AzureWebJobsStorage"], self._settings["RETRY_QUEUE_NAME"], [m.to_json() for m in messages]
        )
        reference = self._system.customer_count
        host = LocalHost(str(ROOT), port=0, polling_cap_seconds=0.5).start()
        try:
            started = time.perf_counter()
            deadline = started + SLICE_TIMEOUT_SECONDS
            created = 0
            while time.perf_counter() < deadline:
                created = self._system.customer_count - reference
                if created >= len(messages) and self._queue.get_queue_properties().approximate_message_count == 0:
                    self.window = (started, time.perf_counter())
                    return self.window[1] - started
                time.sleep(DONE_POLL_SECONDS)
            raise RuntimeError(
                f"retry drain: {created} of {len(messages)} created after {SLICE_TIMEOUT_SECONDS} s (a storage "
                "stall longer than the clients' read timeout leaves retries deferred behind their own claims "
                "until those are stale: see the module's docstring)"
            )
        finally:
            host.stop()


def _slices(messages: list[Any], count: int) -> list[list[Any]]:
    size = len(messages) // count
    return [messages[index * size : (index + 1) * size] for index in range(count)]


class StallWatch:
    """Azurite's responsiveness while the passes run: a thread asks for the app's queue's properties
    every PROBE_INTERVAL_SECONDS (a few requests a second, alike for both sides). A pass is stalled
    when a probe overlapping its timed part took STALL_SECONDS or more, or had not come back when it
    ended: Azurite's queue sweep (see the module's docstring), or anything else that stopped it."""

    def __init__(self, connection_string: str, queue_name: str) -> None:
        from azure.storage.queue import QueueClient

        self._queue = QueueClient.from_connection_string(connection_string, queue_name)
        self._probes: list[tuple[float, float]] = []  # (sent, answered); answered inf while waiting
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, name="bench-stall-watch", daemon=True)

    def _probe(self) -> None:
        while not self._stop.wait(PROBE_INTERVAL_SECONDS):
            sent = time.perf_counter()
            self._probes.append((sent, math.inf))
            with contextlib.suppress(Exception):
                self._queue.get_queue_properties(timeout=60)
            self._probes[-1] = (sent, time.perf_counter())

    def __enter__(self) -> StallWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=70)

    def stalled(self, window: tuple[float, float]) -> bool:
        started, ended = window
        return any(
            sent < ended and answered > started and min(answered, ended) - sent >= STALL_SECONDS
            for sent, answered in list(self._probes)
        )


def _interleaved(
    slices: list[tuple[list[Any], list[Any]]],
    bound: Callable[[list[Any]], float],
    drain: Callable[[list[Any]], float],
    stalled: Callable[[str], bool] = lambda side: False,
    wanted: int | None = None,
) -> list[tuple[float, float, bool]]:
    """(bound, drain seconds, stalled) per slice, each slice (the bound's messages, the drain's): the
    bound first in even slices and second in odd ones, so a steady drift of the machine's speed
    favours neither. `stalled(side)` says whether a stall fell in that side's pass just run; the
    slices after the first `wanted` are spares, run only while fewer than `wanted` ran unstalled."""
    timed: list[tuple[float, float, bool]] = []
    wanted = len(slices) if wanted is None else wanted
    for index, (bound_part, drain_part) in enumerate(slices):
        if index >= wanted and sum(not hit for _, _, hit in timed) >= wanted:
            break
        if index % 2 == 0:
            bound_seconds, bound_stalled = bound(bound_part), stalled("bound")
            drain_seconds, drain_stalled = drain(drain_part), stalled("drain")
        else:
            drain_seconds, drain_stalled = drain(drain_part), stalled("drain")
            bound_seconds, bound_stalled = bound(bound_part), stalled("bound")
        timed.append((bound_seconds, drain_seconds, bound_stalled or drain_stalled))
    return timed


Timed = list[tuple[float, float, bool]]


def _counted(timed: Timed) -> Timed:
    """The slices the figure is taken over: those no stall fell in (all of them if every one was hit)."""
    return [pair for pair in timed if not pair[2]] or timed


def _ratios(timed: Timed) -> list[float]:
    """Per slice, the drain's rate over the bound's (both over slices of one size)."""
    return [bound_seconds / drain_seconds for bound_seconds, drain_seconds, _ in timed]


def _sums_note(timed: Timed, slice_size: int) -> str:
    counted = _counted(timed)
    bound_total = sum(bound_seconds for bound_seconds, _, _ in counted)
    drain_total = sum(drain_seconds for _, drain_seconds, _ in counted)
    drained = slice_size * len(counted)
    per_slice = ", ".join(
        f"{bound_seconds / drain_seconds:.2f}{' (stalled)' if hit else ''} {slice_size / drain_seconds:.0f}/"
        f"{slice_size / bound_seconds:.0f}/s"
        for bound_seconds, drain_seconds, hit in timed
    )
    return (
        f"median of {len(counted)} slices of {slice_size} without a storage stall (per slice, in order: ratio, "
        f"retries/s over bound/s: {per_slice}); ratio of the sums {bound_total / drain_total:.2f}: "
        f"{drained / drain_total:.0f} retries/s over {drained / bound_total:.0f}/s"
    )


def run(quick: bool = False) -> list[Measurement]:
    import sap_simulator as simulator
    from bench.common import ROOT
    from devhost.config import read_host_config
    from shared import bootstrap

    count, slice_count, carrying_count, carrying_slices = (
        (QUICK_MESSAGES, QUICK_SLICES, QUICK_CARRYING_MESSAGES, QUICK_CARRYING_SLICES)
        if quick
        else (MESSAGES, SLICES, CARRYING_MESSAGES, CARRYING_SLICES)
    )
    warm_up_count = QUICK_WARM_UP_MESSAGES if quick else WARM_UP_MESSAGES
    slice_size, carrying_size = count // slice_count, carrying_count // carrying_slices
    quiet_logs()
    options = read_host_config(ROOT).queues
    batch_size, in_flight = options.batch_size, options.batch_size + options.new_batch_threshold
    connection_string = azurite().connection_string
    # One pooled SAP connection per message in flight: no logon per retry (sap_throughput checks that).
    settings = app_settings(
        connection_string, SAP_POOL_SIZE=str(in_flight), PYTHON_THREADPOOL_THREAD_COUNT=str(in_flight)
    )
    warm_up = [_retry_message(number, "Dw") for number in range(2 * warm_up_count)]
    messages = [_retry_message(number) for number in range(count + SPARE_SLICES * slice_size)]
    # The carrying series: the drain's entries and the bound's apart, so that either may go first (the
    # bound's writes would change the ETags the drain's messages carry, and the drain would read).
    carrying = [_retry_message(number, "Dc") for number in range(carrying_count)]
    carrying_bound = [_retry_message(number, "Db") for number in range(carrying_count)]
    work = StorageWork(settings, batch_size, in_flight)
    try:
        with environment(settings):
            bootstrap.reset()
            system = simulator.SimulatedSap()
            with simulator.use_system(system):
                drain = Drain(settings, system)
                stored = _store_entries(settings, warm_up + messages)
                drain.seconds(stored[:warm_up_count])
                work.seconds(stored[warm_up_count : 2 * warm_up_count])
                with StallWatch(connection_string, settings["RETRY_QUEUE_NAME"]) as watch:

                    def stalled(side: str) -> bool:
                        return watch.stalled(work.window if side == "bound" else drain.window)

                    # Both sides over the same entries: a bound's replace leaves an entry as the retry
                    # expects to find it, and the bound after the drain replaces CREATED entries alike.
                    main_slices = _slices(stored[2 * warm_up_count :], slice_count + SPARE_SLICES)
                    timed = _interleaved(
                        list(zip(main_slices, main_slices, strict=True)),
                        work.seconds,
                        drain.seconds,
                        stalled,
                        wanted=slice_count,
                    )
                    unread_timed = _interleaved(
                        list(
                            zip(
                                _slices(_store_entries(settings, carrying_bound, carry_entry=True), carrying_slices),
                                _slices(_store_entries(settings, carrying, carry_entry=True), carrying_slices),
                                strict=True,
                            )
                        ),
                        lambda part: work.seconds(part, read_first=False),
                        drain.seconds,
                        stalled,
                    )
                # Once, not per slice: each message written is an extent that Azurite's queue sweeps
                # every minute, at a cost that grows with their number (see the module's docstring).
                raw_seconds = _raw_seconds(
                    connection_string, [message.to_json() for message in main_slices[0]], batch_size, in_flight
                )
                logons = system.counters["logons"]
            bootstrap.reset()
    finally:
        work.close()
        remove_storage(connection_string, settings["LEDGER_TABLE_NAME"], settings["RETRY_QUEUE_NAME"])
    counted, unread_counted = _counted(timed), _counted(unread_timed)
    drained = slice_size * len(counted)
    drain_total = sum(drain_seconds for _, drain_seconds, _ in counted)
    drain_rate = drained / drain_total
    bound_rate = drained / sum(bound_seconds for bound_seconds, _, _ in counted)
    raw_rate = slice_size / raw_seconds
    unread_bound_rate = carrying_size * len(unread_counted) / sum(seconds for seconds, _, _ in unread_counted)
    return [
        Measurement(
            "retry_drain.rate_vs_its_storage_round_trips",
            statistics.median(_ratios(counted)),
            "x",
            TARGET_SHARE_OF_STORAGE_WORK,
            at_least=True,
            note=_sums_note(timed, slice_size)
            + f" for receive + read + claim + reverse entry + result + delete alone at the drain's concurrency "
            f"({in_flight} in flight, batch {batch_size}, {in_flight} threads)",
        ),
        Measurement(
            "retry_drain.rate_vs_raw_receive_delete",
            drain_rate / raw_rate,
            "x",
            note=f"reported, no target since issue 27 (its storage work alone cannot reach it): "
            f"{drain_rate:.0f} retries/s over Azurite's {raw_rate:.0f} receive+delete/s "
            f"(one slice's messages from as full a queue, after the slices)",
        ),
        Measurement(
            "retry_drain.storage_work_vs_raw_receive_delete",
            bound_rate / raw_rate,
            "x",
            note=f"the bound no retry can pass: its storage work alone, {bound_rate:.0f}/s reading first "
            f"and {unread_bound_rate:.0f}/s ({unread_bound_rate / raw_rate:.2f} x) claiming "
            "unread, against the same raw rate",
        ),
        Measurement(
            "retry_drain.seconds",
            drain_total,
            "s",
            note=f"{drained} retries in the {len(counted)} slices counted ({len(timed)} run); "
            f"SAP logons {logons} (pool)",
        ),
        Measurement(
            "retry_drain.carrying_entry_vs_its_storage_round_trips",
            statistics.median(_ratios(unread_counted)),
            "x",
            note="reported: retries queued as the reconcile and the push path queue them, each message "
            "carrying its stored entry (claim unread: 3 table round trips), over the same storage work "
            f"without the read; {_sums_note(unread_timed, carrying_size)}",
        ),
    ]
