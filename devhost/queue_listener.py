"""Queue triggers: polls Azure Storage queues (Azurite locally) with the Functions host's semantics.

Per queue, as the host's QueueListener does: fetch up to batchSize messages; fetch again when no more
than newBatchThreshold are still running; back off exponentially from 100 ms to maxPollingInterval
while the queue is empty. While a message runs it is kept invisible and its invisibility renewed
(update_message every half window), as the host does; the window is short (30 s by default, the host
uses 10 minutes), so the message of a host that crashed is visible again within that window. After a
run: success deletes the message; failure makes it visible again after visibilityTimeout, or, once
its dequeue count has reached maxDequeueCount, copies it to "<queue>-poison" and deletes it.
The function gets its QueueMessage from azure.functions' QueueMessageInConverter.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
import os
import random
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueMessage as StorageQueueMessage
from azure.storage.queue.aio import QueueClient

from devhost.app_loader import FunctionSpec
from devhost.bindings import TriggerData, queue_trigger_data
from devhost.config import HostConfigError, QueueOptions, development_storage_connection_string, resolve_app_settings
from devhost.invocation import Invoker, log_executed

logger = logging.getLogger("devhost.queue")

DEFAULT_CONNECTION = "AzureWebJobsStorage"
MIN_POLLING_INTERVAL_SECONDS = 0.1
# How long a message being processed stays invisible; renewed every half of it while the function runs,
# so this is also how soon the message of a crashed (killed) host is visible again. The Functions host
# uses 10 minutes and renews likewise (unverified here: from the WebJobs queue listener as this module
# described it before, not checked against its source in this environment); locally a crash should
# not cost 10 minutes of waiting. Not host.json's visibilityTimeout: that is the delay after a failure.
IN_FLIGHT_VISIBILITY_SECONDS = 30.0
# At most this long (per queue) is start() held up by creating the queue; the poll loop tries again later.
CREATE_QUEUE_TIMEOUT_SECONDS = 10.0
# While storage fails, polling backs off from 1 s to 10 s and logs one short line per failed poll.
FAILURE_BACKOFF_MIN_SECONDS = 1.0
FAILURE_BACKOFF_MAX_SECONDS = 10.0
POISON_SUFFIX = "-poison"


class QueueConnectionError(Exception):
    """The app setting a queue trigger's `connection` names is missing or unusable."""


@dataclass(frozen=True)
class QueueTarget:
    function_name: str
    queue_name: str
    connection: str


def queue_target(spec: FunctionSpec, environ: Mapping[str, str] | None = None) -> QueueTarget:
    queue_name = resolve_app_settings(str(spec.trigger.get("queueName") or ""), environ)
    if not queue_name:
        raise HostConfigError(f"{spec.name}: the queue trigger has no queue name")
    return QueueTarget(spec.name, queue_name, str(spec.trigger.get("connection") or DEFAULT_CONNECTION))


def _development_storage(connection_string: str) -> str:
    parts = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    proxy = parts.get("DevelopmentStorageProxyUri")
    return development_storage_connection_string(f"{proxy.rstrip('/')}:10001" if proxy else "http://127.0.0.1:10001")


def aiohttp_reads_environment(
    environ: Mapping[str, str] | None = None,
    proxies: Callable[[], Mapping[str, str]] = urllib.request.getproxies,
    file_exists: Callable[[str], bool] = os.path.exists,
) -> bool:
    """Whether aiohttp's `trust_env` would find anything: a proxy or a netrc file.

    azure-core's AioHttpTransport opens its session with `trust_env` (its `use_env_settings`, default
    True), and aiohttp 3.14 then, on *every* request (client.py `_request`), looks up netrc auth in the
    default executor and the environment's proxy with `asyncio.to_thread`: two thread hand-offs per
    queue operation. What it reads there (helpers.py `proxies_from_env`, `netrc_from_env`) is
    `urllib.request.getproxies()` and the NETRC file (or ~/.netrc, ~/_netrc on Windows). The host's
    environment does not change while it runs, so it is read once, here.
    """
    environ = os.environ if environ is None else environ
    if proxies():
        return True
    if environ.get("NETRC") is not None:
        return True
    return any(file_exists(os.path.expanduser(f"~/{name}")) for name in (".netrc", "_netrc"))


def queue_transport() -> Any:
    """The AioHttpTransport of the host's queue clients: `trust_env` only when aiohttp would find something.

    A transport handed to a client keeps its own timeouts (azure-core's 300 s); the storage SDK sets its
    20 s connect and 60 s read only on the transport it makes itself (base_client_async.py), so they
    are set here from the SDK's own constants."""
    from azure.core.pipeline.transport import AioHttpTransport
    from azure.storage.queue._shared.constants import CONNECTION_TIMEOUT, READ_TIMEOUT

    return AioHttpTransport(
        use_env_settings=aiohttp_reads_environment(), connection_timeout=CONNECTION_TIMEOUT, read_timeout=READ_TIMEOUT
    )


def queue_client(connection: str, queue_name: str, environ: Mapping[str, str] | None = None) -> QueueClient:
    """A client for the connection the binding names: "X" or "AzureWebJobsX" holds a connection string,
    or "X__queueServiceUri" / "X__serviceUri" a URI for identity-based access (DefaultAzureCredential)."""
    environ = os.environ if environ is None else environ
    for name in (connection, f"AzureWebJobs{connection}"):
        value = environ.get(name, "").strip()
        if value:
            if value.lower().replace(" ", "").startswith("usedevelopmentstorage=true"):
                value = _development_storage(value)
            # No message encode/decode policy: the content is read and copied as stored (encoding is ours).
            return QueueClient.from_connection_string(value, queue_name, transport=queue_transport())
        for suffix in ("__queueServiceUri", "__serviceUri"):
            uri = environ.get(f"{name}{suffix}", "").strip()
            if uri:
                from azure.identity.aio import DefaultAzureCredential

                return QueueClient(uri, queue_name, credential=DefaultAzureCredential(), transport=queue_transport())
    raise QueueConnectionError(
        f"queue connection {connection!r}: set app setting {connection} (connection string, e.g. "
        f"UseDevelopmentStorage=true) or {connection}__queueServiceUri"
    )


def _error_code(error: BaseException) -> str:
    # A plain string for some errors, a StorageErrorCode (a str enum: its value is the code) for others.
    code = getattr(error, "error_code", None) or ""
    return str(getattr(code, "value", code))


def _is_missing_queue(error: BaseException) -> bool:
    return isinstance(error, ResourceNotFoundError) and _error_code(error) == "QueueNotFound"


def _is_lost_message(error: BaseException) -> bool:
    """The message is no longer ours: deleted (404 MessageNotFound), or received again elsewhere after its
    invisibility ran out (400 PopReceiptMismatch: another receive gave it a new pop receipt)."""
    return isinstance(error, ResourceNotFoundError) or _error_code(error) == "PopReceiptMismatch"


def _is_storage_error(error: BaseException) -> bool:
    return isinstance(error, AzureError | OSError)


def describe_error(error: BaseException) -> str:
    """A storage error in a few words (type, and the reason or error code), for one log line."""
    kind = type(error).__name__
    text = str(error).lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("connect call failed", "connection refused"),
        ("cannot connect", "cannot connect"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("reset by peer", "connection reset"),
        ("server disconnected", "connection closed"),
    ):
        if needle in text:
            return f"{kind}: {reason}"
    code = getattr(error, "error_code", None)
    if code:
        return f"{kind}: {code}"
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{kind}: {first_line[:100]}" if first_line else kind


def decode_body(content: str, encoding: str) -> bytes:
    if encoding == "none":
        return content.encode("utf-8")
    return base64.b64decode(content, validate=True)


def trigger_data(message: StorageQueueMessage, body: bytes) -> TriggerData:
    """The Datum and trigger metadata the worker hands QueueMessageInConverter for this message."""
    return queue_trigger_data(
        message_id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        insertion_time=message.inserted_on,
        expiration_time=message.expires_on,
        next_visible_time=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


def visibility_seconds(seconds: float) -> int:
    """The Storage API takes whole seconds; at least 1 (0 would make the message visible at once)."""
    return max(1, math.ceil(seconds))


class VisibilityLease:
    """Keeps one received message invisible while its function runs: update_message with a new visibility
    timeout every half window, as the host renews it. `pop_receipt` is the current one (each update
    returns a new one) for settling the message afterwards.

    `async with VisibilityLease(...)`: renewal runs until the block ends; an update in progress is
    finished, not cancelled, so the receipt stays known.
    """

    def __init__(
        self, client: QueueClient, message: StorageQueueMessage, window_seconds: float, queue_name: str
    ) -> None:
        self._client = client
        self.message_id: str = message.id
        self.pop_receipt: str | None = message.pop_receipt
        self._window = visibility_seconds(window_seconds)
        self._interval = self._window / 2
        self._queue_name = queue_name
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.renewals = 0

    async def _renew_until_done(self) -> None:
        interval = self._interval
        while not self._done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), interval)
            if self._done.is_set():
                return
            try:
                updated = await self._client.update_message(
                    self.message_id, self.pop_receipt, visibility_timeout=self._window, retry_total=0
                )
            except Exception as error:
                if not _is_lost_message(error):
                    # Storage away: try again soon; the message is visible again once the window has passed.
                    logger.warning(
                        "queue %s message %s: renewing its invisibility failed (%s)",
                        self._queue_name,
                        self.message_id,
                        describe_error(error),
                        exc_info=not _is_storage_error(error),
                    )
                    interval = max(0.5, self._interval / 4)
                    continue
                # Deleted, or received again elsewhere (its invisibility had run out): nothing to keep.
                logger.warning(
                    "queue %s message %s: cannot renew its invisibility any more (gone or taken over)",
                    self._queue_name,
                    self.message_id,
                )
                return
            self.pop_receipt = updated.pop_receipt
            self.renewals += 1
            logger.debug(
                "queue %s message %s: invisible for %d s more (renewal %d)",
                self._queue_name,
                self.message_id,
                self._window,
                self.renewals,
            )
            interval = self._interval

    async def __aenter__(self) -> VisibilityLease:
        self._task = asyncio.create_task(self._renew_until_done(), name=f"renew-{self.message_id}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._task is not None:
            await self._task


class QueueListener:
    """Polls one queue for one function until `stop()`."""

    def __init__(
        self,
        spec: FunctionSpec,
        target: QueueTarget,
        client: QueueClient,
        poison_client: QueueClient,
        options: QueueOptions,
        polling_cap_seconds: float | None,
        function_directory: str,
        in_flight_visibility_seconds: float = IN_FLIGHT_VISIBILITY_SECONDS,
    ) -> None:
        self.spec = spec
        self.target = target
        self._client = client
        self._poison_client = poison_client
        self._options = options
        max_interval = options.max_polling_interval_seconds
        if polling_cap_seconds:
            max_interval = min(max_interval, polling_cap_seconds)
        self.max_polling_interval = max(max_interval, MIN_POLLING_INTERVAL_SECONDS)
        self.in_flight_visibility_seconds = visibility_seconds(in_flight_visibility_seconds)
        self._queue_ready = False
        self._in_flight: set[asyncio.Task[None]] = set()
        self._poll_task: asyncio.Task[None] | None = None
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        # The host runs at most batchSize + newBatchThreshold messages of one queue at once.
        self._executor = ThreadPoolExecutor(
            max_workers=options.batch_size + options.new_batch_threshold,
            thread_name_prefix=f"queue-{target.queue_name}",
        )
        self._invoker = Invoker(self._executor, function_directory)

    async def run(self) -> None:
        interval = MIN_POLLING_INTERVAL_SECONDS
        failures = 0
        recreated = False  # created again after "queue not found"; a second one in a row counts as a failure
        while not self._stopping.is_set():
            if len(self._in_flight) > self._options.new_batch_threshold:
                self._slot_freed.clear()
                await self._wait_for(self._slot_freed, None)
                continue
            try:
                if not self._queue_ready:
                    await self._create_queue(self._client)
                    self._queue_ready = True
                messages = await self._receive()
            except Exception as error:
                if _is_missing_queue(error) and not recreated:
                    # Storage came back empty (Azurite restarted in memory) or the queue was deleted.
                    logger.warning("queue %s is missing; creating it again", self.target.queue_name)
                    self._queue_ready, recreated = False, True
                    continue
                failures += 1
                delay = min(FAILURE_BACKOFF_MIN_SECONDS * 2 ** (failures - 1), FAILURE_BACKOFF_MAX_SECONDS)
                # One line, no traceback: storage being away is an expected state, not a bug in the host
                # (anything else keeps its traceback).
                logger.warning(
                    "polling queue %s failed (%s); next try in %.0f s",
                    self.target.queue_name,
                    describe_error(error),
                    delay,
                    exc_info=not _is_storage_error(error),
                )
                await self._wait_for(self._stopping, delay)
                continue
            recreated = False
            if failures:
                logger.info("polling queue %s works again after %d failed attempt(s)", self.target.queue_name, failures)
                failures = 0
            if messages:
                interval = MIN_POLLING_INTERVAL_SECONDS
                for message in messages:
                    task = asyncio.create_task(self._process(message))
                    self._in_flight.add(task)
                    task.add_done_callback(self._finished)
                continue
            # Randomised exponential back-off, like the host's, so idle queues cost few transactions.
            await self._wait_for(self._stopping, interval * random.uniform(0.8, 1.0))
            interval = min(interval * 2, self.max_polling_interval)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()

    @staticmethod
    async def _wait_for(event: asyncio.Event, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def _receive(self) -> list[StorageQueueMessage]:
        batch_size = self._options.batch_size
        # No SDK retries (its default waits 15 s and more between them): the poll loop backs off itself.
        pages = self._client.receive_messages(
            messages_per_page=batch_size,
            max_messages=batch_size,
            visibility_timeout=self.in_flight_visibility_seconds,
            retry_total=0,
        )
        return [message async for message in pages]

    @staticmethod
    async def _create_queue(client: QueueClient) -> None:
        with contextlib.suppress(ResourceExistsError):
            await client.create_queue()

    async def prepare(self, timeout_seconds: float = CREATE_QUEUE_TIMEOUT_SECONDS) -> bool:
        """Creates the queue when missing (idempotent), before polling starts, so that a message sent right
        after the host started finds it. Storage unreachable: False and one log line; polling creates the
        queue once storage answers."""
        try:
            await asyncio.wait_for(self._create_queue_without_retries(), timeout_seconds)
        except Exception as error:
            logger.warning(
                "queue %s could not be created at start (%s); polling will try again",
                self.target.queue_name,
                describe_error(error),
                exc_info=not _is_storage_error(error),
            )
            return False
        self._queue_ready = True
        return True

    async def _create_queue_without_retries(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            await self._client.create_queue(retry_total=0)

    async def _process(self, message: StorageQueueMessage) -> None:
        queue_name = self.target.queue_name
        try:
            if message.dequeue_count and message.dequeue_count > self._options.max_dequeue_count:
                # Seen too often already (a host stopped mid-run): poison without running, as the host does.
                await self._move_to_poison(message, "dequeue count above maxDequeueCount")
                return
            try:
                body = decode_body(message.content, self._options.message_encoding)
            except (binascii.Error, ValueError):
                # The host cannot decode it either and parks it at once.
                await self._move_to_poison(message, "not valid base64 (messageEncoding is base64)")
                return

            async with VisibilityLease(self._client, message, self.in_flight_visibility_seconds, queue_name) as lease:
                result = await self._invoker.invoke(self.spec, trigger_data(message, body))
            log_executed(result, f"queueTrigger {queue_name} message {message.id} dequeueCount={message.dequeue_count}")
            if result.succeeded:
                await self._client.delete_message(message.id, lease.pop_receipt)
            elif (message.dequeue_count or 0) >= self._options.max_dequeue_count:
                await self._move_to_poison(
                    message, f"failed {message.dequeue_count} times (maxDequeueCount)", lease.pop_receipt
                )
            else:
                await self._client.update_message(
                    message.id, lease.pop_receipt, visibility_timeout=int(self._options.visibility_timeout_seconds)
                )
        except Exception as error:
            if _is_lost_message(error):
                # Deleted or re-received elsewhere while it ran: its pop receipt is stale, nothing left to do.
                logger.warning(
                    "queue %s message %s vanished before it could be settled (%s)",
                    queue_name,
                    message.id,
                    describe_error(error),
                )
                return
            # Storage down while settling: the message becomes visible again after its in-flight time.
            logger.warning(
                "queue %s: settling message %s failed (%s)",
                queue_name,
                message.id,
                describe_error(error),
                exc_info=not _is_storage_error(error),
            )

    async def _move_to_poison(self, message: StorageQueueMessage, reason: str, pop_receipt: str | None = None) -> None:
        poison_queue = self._poison_client.queue_name
        await self._create_queue(self._poison_client)
        await self._poison_client.send_message(message.content)
        await self._client.delete_message(message.id, pop_receipt or message.pop_receipt)
        logger.warning("queue %s message %s moved to %s: %s", self.target.queue_name, message.id, poison_queue, reason)

    def start(self) -> asyncio.Task[None]:
        self._poll_task = asyncio.create_task(self.run(), name=f"poll-{self.target.queue_name}")
        return self._poll_task

    async def stop(self, timeout_seconds: float) -> None:
        """Stops polling, waits (bounded) for running invocations, then closes the clients."""
        self._stopping.set()
        self._slot_freed.set()
        if self._poll_task is not None:
            # The loop ends after its current receive; no new message is taken from here on.
            _, still_polling = await asyncio.wait({self._poll_task}, timeout=timeout_seconds)
            for task in still_polling:
                task.cancel()
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=timeout_seconds)
            if pending:
                logger.warning(
                    "queue %s: %d invocations still running at shutdown", self.target.queue_name, len(pending)
                )
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self._client.close()
        await self._poison_client.close()


def make_listener(
    spec: FunctionSpec,
    options: QueueOptions,
    polling_cap_seconds: float | None,
    function_directory: str,
    environ: Mapping[str, Any] | None = None,
    in_flight_visibility_seconds: float = IN_FLIGHT_VISIBILITY_SECONDS,
) -> QueueListener:
    target = queue_target(spec, environ)
    return QueueListener(
        spec,
        target,
        queue_client(target.connection, target.queue_name, environ),
        queue_client(target.connection, target.queue_name + POISON_SUFFIX, environ),
        options,
        polling_cap_seconds,
        function_directory,
        in_flight_visibility_seconds,
    )
