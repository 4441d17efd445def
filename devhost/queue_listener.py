"""Queue triggers: polls Azure Storage queues (Azurite locally) with the Functions host's semantics.

Per queue, as the host's QueueListener does: fetch up to batchSize messages, hidden for 10 minutes
while they run; fetch again when no more than newBatchThreshold are still running; back off
exponentially from 100 ms to maxPollingInterval while the queue is empty. After a run: success
deletes the message; failure makes it visible again after visibilityTimeout, or, once its
dequeue count has reached maxDequeueCount, copies it to "<queue>-poison" and deletes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import os
import random
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueMessage as StorageQueueMessage
from azure.storage.queue.aio import QueueClient

from devhost.app_loader import FunctionSpec
from devhost.config import HostConfigError, QueueOptions, development_storage_connection_string, resolve_app_settings
from devhost.invocation import InvocationResult, Invoker

logger = logging.getLogger("devhost.queue")

DEFAULT_CONNECTION = "AzureWebJobsStorage"
MIN_POLLING_INTERVAL_SECONDS = 0.1
# The host hides a dequeued message for 10 minutes while its function runs.
IN_FLIGHT_VISIBILITY_SECONDS = 600
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
            return QueueClient.from_connection_string(value, queue_name)
        for suffix in ("__queueServiceUri", "__serviceUri"):
            uri = environ.get(f"{name}{suffix}", "").strip()
            if uri:
                from azure.identity.aio import DefaultAzureCredential

                return QueueClient(uri, queue_name, credential=DefaultAzureCredential())
    raise QueueConnectionError(
        f"queue connection {connection!r}: set app setting {connection} (connection string, e.g. "
        f"UseDevelopmentStorage=true) or {connection}__queueServiceUri"
    )


def _is_missing_queue(error: BaseException) -> bool:
    return isinstance(error, ResourceNotFoundError) and str(getattr(error, "error_code", "") or "") == "QueueNotFound"


def _is_storage_error(error: BaseException) -> bool:
    return isinstance(error, AzureError | OSError)


def describe_error(error: BaseException) -> str:
    """A storage error in a few words (type, and the reason or error code), for one log line."""
    kind = type(error).__name__
    text = str(error).lower()
    for needle, reason in (("connection refused", "connection refused"), ("connect call failed", "connection refused"),
                           ("cannot connect", "cannot connect"), ("timed out", "timed out"),
                           ("timeout", "timed out"), ("reset by peer", "connection reset"),
                           ("server disconnected", "connection closed")):
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


def to_function_message(message: StorageQueueMessage, body: bytes) -> func.QueueMessage:
    from azure.functions.queue import QueueMessage

    return QueueMessage(
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        expiration_time=message.expires_on,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


class QueueListener:
    """Polls one queue for one function until `stop()`."""

    def __init__(self, spec: FunctionSpec, target: QueueTarget, client: QueueClient, poison_client: QueueClient,
                 options: QueueOptions, polling_cap_seconds: float | None, function_directory: str) -> None:
        self.spec = spec
        self.target = target
        self._client = client
        self._poison_client = poison_client
        self._options = options
        max_interval = options.max_polling_interval_seconds
        if polling_cap_seconds:
            max_interval = min(max_interval, polling_cap_seconds)
        self.max_polling_interval = max(max_interval, MIN_POLLING_INTERVAL_SECONDS)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._poll_task: asyncio.Task[None] | None = None
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        # The host runs at most batchSize + newBatchThreshold messages of one queue at once.
        self._executor = ThreadPoolExecutor(max_workers=options.batch_size + options.new_batch_threshold,
                                            thread_name_prefix=f"queue-{target.queue_name}")
        self._invoker = Invoker(self._executor, function_directory)

    async def run(self) -> None:
        interval = MIN_POLLING_INTERVAL_SECONDS
        failures = 0
        queue_ready = False
        recreated = False  # created again after "queue not found"; a second one in a row counts as a failure
        while not self._stopping.is_set():
            if len(self._in_flight) > self._options.new_batch_threshold:
                self._slot_freed.clear()
                await self._wait_for(self._slot_freed, None)
                continue
            try:
                if not queue_ready:
                    await self._create_queue(self._client)
                    queue_ready = True
                messages = await self._receive()
            except Exception as error:
                if _is_missing_queue(error) and not recreated:
                    # Storage came back empty (Azurite restarted in memory) or the queue was deleted.
                    logger.warning("queue %s is missing; creating it again", self.target.queue_name)
                    queue_ready, recreated = False, True
                    continue
                failures += 1
                delay = min(FAILURE_BACKOFF_MIN_SECONDS * 2 ** (failures - 1), FAILURE_BACKOFF_MAX_SECONDS)
                # One line, no traceback: storage being away is an expected state, not a bug in the host
                # (anything else keeps its traceback).
                logger.warning("polling queue %s failed (%s); next try in %.0f s", self.target.queue_name,
                               describe_error(error), delay, exc_info=not _is_storage_error(error))
                await self._wait_for(self._stopping, delay)
                continue
            recreated = False
            if failures:
                logger.info("polling queue %s works again after %d failed attempt(s)", self.target.queue_name,
                            failures)
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
            messages_per_page=batch_size, max_messages=batch_size, visibility_timeout=IN_FLIGHT_VISIBILITY_SECONDS,
            retry_total=0,
        )
        return [message async for message in pages]

    @staticmethod
    async def _create_queue(client: QueueClient) -> None:
        with contextlib.suppress(ResourceExistsError):
            await client.create_queue()

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

            def describe(result: InvocationResult) -> str:
                return f"queueTrigger {queue_name} message {message.id} dequeueCount={message.dequeue_count}"

            result = await self._invoker.invoke(self.spec, to_function_message(message, body), describe)
            if result.succeeded:
                await self._client.delete_message(message.id, message.pop_receipt)
            elif (message.dequeue_count or 0) >= self._options.max_dequeue_count:
                await self._move_to_poison(message, f"failed {message.dequeue_count} times (maxDequeueCount)")
            else:
                await self._client.update_message(
                    message.id, message.pop_receipt, visibility_timeout=int(self._options.visibility_timeout_seconds)
                )
        except ResourceNotFoundError:
            # Deleted or re-received elsewhere while it ran: its pop receipt is stale, nothing left to do.
            logger.warning("queue %s message %s vanished before it could be settled", queue_name, message.id)
        except Exception as error:
            # Storage down while settling: the message becomes visible again after its in-flight time.
            logger.warning("queue %s: settling message %s failed (%s)", queue_name, message.id, describe_error(error),
                           exc_info=not _is_storage_error(error))

    async def _move_to_poison(self, message: StorageQueueMessage, reason: str) -> None:
        poison_queue = self._poison_client.queue_name
        await self._create_queue(self._poison_client)
        await self._poison_client.send_message(message.content)
        await self._client.delete_message(message.id, message.pop_receipt)
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
                logger.warning("queue %s: %d invocations still running at shutdown", self.target.queue_name,
                               len(pending))
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self._client.close()
        await self._poison_client.close()


def make_listener(spec: FunctionSpec, options: QueueOptions, polling_cap_seconds: float | None,
                  function_directory: str, environ: Mapping[str, Any] | None = None) -> QueueListener:
    target = queue_target(spec, environ)
    return QueueListener(
        spec,
        target,
        queue_client(target.connection, target.queue_name, environ),
        queue_client(target.connection, target.queue_name + POISON_SUFFIX, environ),
        options,
        polling_cap_seconds,
        function_directory,
    )
