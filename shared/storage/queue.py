"""The retry queue on Azure Queue storage, in the format the Functions queue trigger reads."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64EncodePolicy

from shared.core.retry_message import InvalidRetryMessage, RetryMessage
from shared.storage.clients import (
    PROBE_CALL_OPTIONS,
    StorageSettings,
    describe_storage_error,
    is_missing_container,
    is_storage_unavailable,
    queue_service_client,
)
from shared.storage.port import RetryQueue, RetryQueueUnavailable

logger = logging.getLogger(__name__)

# The Functions host moves a message to "<queue>-poison" after maxDequeueCount; parking ours there
# too keeps one place to look and one replay command for both.
POISON_SUFFIX = "-poison"

# Storage drops a message after 7 days unless told otherwise; a parked message waits for a person.
_NEVER_EXPIRES = -1

# One receive call returns at most 32 messages (a service limit).
_RECEIVE_BATCH = 32
# How long replay holds a poison message while it copies it to the main queue.
_REPLAY_HOLD_SECONDS = 60

_Result = TypeVar("_Result")


def poison_queue_name(queue_name: str) -> str:
    return f"{queue_name}{POISON_SUFFIX}"


def _decode_body(content: str) -> str:
    # The queue trigger expects base64 (the host's default messageEncoding), but a message put there
    # by hand (portal, Storage Explorer) may be plain text; accept both.
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return content


def parse_queue_body(content: str) -> RetryMessage | str:
    """The retry message in a queue body, or the decoded text when it is not one of ours."""
    text = _decode_body(content)
    try:
        return RetryMessage.from_json(text)
    except InvalidRetryMessage:
        return text


class StorageRetryQueue(RetryQueue):
    def __init__(self, service: QueueServiceClient, queue_name: str) -> None:
        self.queue_name = queue_name
        self.poison_queue_name = poison_queue_name(queue_name)
        # Writes through the encode policy, so bodies are base64 like the Functions host expects.
        # Reads stay raw: one malformed message must not make a whole batch undecodable.
        self._main = service.get_queue_client(queue_name, message_encode_policy=TextBase64EncodePolicy())
        self._poison = service.get_queue_client(self.poison_queue_name, message_encode_policy=TextBase64EncodePolicy())
        self._ensured: set[str] = set()
        self._ensure_lock = threading.Lock()

    def _ensure(self, queue: QueueClient) -> None:
        if queue.queue_name in self._ensured:
            return
        with self._ensure_lock:
            if queue.queue_name in self._ensured:
                return
            self._create(queue)
            self._ensured.add(queue.queue_name)

    @staticmethod
    def _create(queue: QueueClient) -> None:
        try:
            queue.create_queue()
            logger.info("queue %s created", queue.queue_name)
        except ResourceExistsError:
            pass

    def _recreate(self, queue: QueueClient) -> None:
        with self._ensure_lock:
            logger.warning("queue %s is missing (storage restarted empty?); creating it again", queue.queue_name)
            self._create(queue)
            self._ensured.add(queue.queue_name)

    def _call(self, queue: QueueClient, operation: Callable[[], _Result]) -> _Result:
        """Run one storage call. A missing queue is created again and the call repeated once; every
        storage error becomes RetryQueueUnavailable, so callers answer 503 instead of failing raw."""
        try:
            self._ensure(queue)
            try:
                return operation()
            except ResourceNotFoundError as error:
                if not is_missing_container(error):
                    raise
                self._recreate(queue)
                return operation()
        except (AzureError, OSError) as error:
            described = describe_storage_error(error)
            if isinstance(error, OSError) or is_storage_unavailable(error):
                logger.warning("queue %s unavailable: %s", queue.queue_name, described)
            else:  # not an outage the SDK recognises (a 400, a 404 after re-creating the queue): say so louder
                logger.error("queue %s storage error: %s", queue.queue_name, described)
            raise RetryQueueUnavailable(f"queue {queue.queue_name} unavailable ({described})") from error

    def probe(self) -> None:
        """One cheap call with short timeouts and no retries, for the health check: returns when the
        queue service answers (a missing queue counts: it is created on first use); else
        RetryQueueUnavailable."""
        try:
            self._main.get_queue_properties(**PROBE_CALL_OPTIONS)
        except (AzureError, OSError) as error:
            if is_missing_container(error):
                return
            described = describe_storage_error(error)
            raise RetryQueueUnavailable(f"queue {self.queue_name} unavailable ({described})") from error

    def enqueue(self, message: RetryMessage, delay_seconds: int = 0) -> None:
        self._call(
            self._main,
            lambda: self._main.send_message(message.to_json(), visibility_timeout=max(delay_seconds, 0)),
        )
        logger.info(
            "retry queued for account %s (tracking %s, attempt %s, delay %ss)",
            message.account_id,
            message.tracking_id,
            message.attempt,
            delay_seconds,
        )

    def depth(self) -> int:
        # x-ms-approximate-messages-count of Get Queue Metadata: "not lower than the actual number of messages
        # in the queue, but could be higher" (invisible messages included); one round trip.
        return self.approximate_count()

    def send_to_poison(self, message: RetryMessage) -> None:
        self._call(self._poison, lambda: self._poison.send_message(message.to_json(), time_to_live=_NEVER_EXPIRES))
        logger.warning(
            "retry parked in %s for account %s (tracking %s, attempt %s)",
            self.poison_queue_name,
            message.account_id,
            message.tracking_id,
            message.attempt,
        )

    def peek_poison(self, max_messages: int = 32) -> list[tuple[str, RetryMessage | str]]:
        """Up to max_messages parked messages (id, message or raw text), without taking them."""
        peeked: list[tuple[str, RetryMessage | str]] = []
        # Peek returns at most 32 per call and always from the front, so more than 32 cannot be paged.
        count = min(max(max_messages, 1), _RECEIVE_BATCH)
        for item in self._call(self._poison, lambda: self._poison.peek_messages(max_messages=count)):
            peeked.append((item.id, parse_queue_body(item.content)))
        return peeked

    def replay_poison(self, message_id: str | None = None) -> int:
        """Move parked messages (all readable ones, or the one with message_id) back to the main queue
        with the attempt count reset; returns how many moved. A message leaves the poison queue only
        after the main queue has it, so a failure part-way duplicates at worst (the ledger makes a
        duplicate harmless), never loses. Every message received but not replayed (other ids,
        unreadable ones, the rest of a batch, everything after an error) is made visible again at once,
        so a `list` right afterwards shows it."""
        replayed = 0
        held: dict[str, str] = {}  # id -> pop receipt of received messages not (yet) replayed
        try:
            while True:
                batch = self._call(
                    self._poison,
                    lambda: list(
                        self._poison.receive_messages(
                            messages_per_page=_RECEIVE_BATCH,
                            max_messages=_RECEIVE_BATCH,
                            visibility_timeout=_REPLAY_HOLD_SECONDS,
                        )
                    ),
                )
                if not batch:
                    break
                held.update((item.id, item.pop_receipt) for item in batch)
                for item in batch:
                    if message_id is not None and item.id != message_id:
                        continue
                    parsed = parse_queue_body(item.content)
                    if isinstance(parsed, str):
                        logger.warning("poison message %s is not a retry message; left in place", item.id)
                        continue
                    self.enqueue(replace(parsed, attempt=0))
                    self._delete_replayed(item.id, item.pop_receipt)
                    del held[item.id]
                    replayed += 1
                    if message_id is not None:
                        return replayed
        finally:
            self._release(held)
        logger.info("replayed %s message(s) from %s", replayed, self.poison_queue_name)
        return replayed

    def _delete_replayed(self, message_id: str, pop_receipt: str) -> None:
        try:
            self._poison.delete_message(message_id, pop_receipt)
        except ResourceNotFoundError:
            # The hold ran out and someone else received it meanwhile (or the queue is gone): it is in
            # the main queue now and may show up here again; replaying it twice is a harmless duplicate.
            logger.warning("poison message %s was replayed but could not be removed (its hold ran out)", message_id)
        except (AzureError, OSError) as error:
            described = describe_storage_error(error)
            raise RetryQueueUnavailable(f"queue {self.poison_queue_name} unavailable ({described})") from error

    def _release(self, held: Mapping[str, str]) -> None:
        # Make the messages received but not replayed visible again now instead of after the hold time.
        for message_id, pop_receipt in held.items():
            try:
                self._poison.update_message(message_id, pop_receipt, visibility_timeout=0)
            except (AzureError, OSError) as error:
                logger.warning(
                    "poison message %s stays hidden for up to %ss: %s",
                    message_id,
                    _REPLAY_HOLD_SECONDS,
                    describe_storage_error(error),
                )

    def poison_depth(self) -> int:
        """Messages parked in the poison queue (approximate), for the go-live check: one read with the probe's
        short timeouts, creating nothing (a poison queue not made yet holds none), unlike approximate_count;
        RetryQueueUnavailable when storage does not answer."""
        try:
            properties = self._poison.get_queue_properties(**PROBE_CALL_OPTIONS)
        except (AzureError, OSError) as error:
            if is_missing_container(error):
                return 0
            described = describe_storage_error(error)
            raise RetryQueueUnavailable(f"queue {self.poison_queue_name} unavailable ({described})") from error
        return int(properties.approximate_message_count or 0)

    def approximate_count(self, queue_name: str | None = None) -> int:
        """Messages in the main queue, or in queue_name (e.g. self.poison_queue_name); approximate."""
        queue = self._poison if queue_name == self.poison_queue_name else self._main
        if queue_name not in (None, self.queue_name, self.poison_queue_name):
            raise ValueError(f"{queue_name} is neither {self.queue_name} nor {self.poison_queue_name}")
        properties = self._call(queue, queue.get_queue_properties)
        return int(properties.approximate_message_count or 0)


def storage_retry_queue_from_settings(settings: StorageSettings, **client_options: Any) -> StorageRetryQueue:
    """The retry queue the app uses: connection string or identity-based connection, see storage_clients.
    client_options override the client defaults (the operations commands use shorter timeouts)."""
    return StorageRetryQueue(queue_service_client(settings, **client_options), settings.retry.queue_name)
