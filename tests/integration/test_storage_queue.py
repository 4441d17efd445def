"""StorageRetryQueue against a real Azurite: encoding, delays, poison queue and replay, outages."""

from __future__ import annotations

import base64
import json

import pytest
from azure.storage.queue import QueueServiceClient

from shared.core.retry_message import RetryKind, RetryMessage
from shared.settings import Settings
from shared.storage.port import RetryQueueUnavailable
from shared.storage.queue import StorageRetryQueue, storage_retry_queue_from_settings
from tests.support.network import free_port

pytestmark = pytest.mark.azurite


def retry_message(account_id: str = "001Dn00000AbCdEIAV", attempt: int = 2) -> RetryMessage:
    return RetryMessage(
        kind=RetryKind.CREATE,
        account_id=account_id,
        tracking_id=f"trk-{account_id[-4:]}",
        payload={"accountId": account_id, "name": "Muster GmbH", "countryCode": "DE"},
        attempt=attempt,
        first_seen_at="2024-05-17T09:30:15Z",
        last_error="CommunicationError",
    )


@pytest.fixture
def queue(storage_settings: Settings) -> StorageRetryQueue:
    return storage_retry_queue_from_settings(storage_settings)


@pytest.fixture
def raw_service(azurite) -> QueueServiceClient:
    """A client without encode/decode policies: sees message bodies exactly as stored."""
    return QueueServiceClient.from_connection_string(azurite.connection_string)


def receive_raw(raw_service: QueueServiceClient, queue_name: str) -> list[str]:
    client = raw_service.get_queue_client(queue_name)
    return [item.content for item in client.receive_messages(max_messages=32, visibility_timeout=30)]


def test_message_body_is_base64_of_the_json(queue, raw_service):
    message = retry_message()

    queue.enqueue(message)

    [body] = receive_raw(raw_service, queue.queue_name)
    assert json.loads(base64.b64decode(body)) == json.loads(message.to_json())
    assert RetryMessage.from_json(base64.b64decode(body)) == message


def test_delayed_message_is_not_visible_yet(queue, raw_service):
    queue.enqueue(retry_message(), delay_seconds=300)

    assert receive_raw(raw_service, queue.queue_name) == []
    assert queue.approximate_count() == 1


def test_message_without_delay_is_visible_at_once(queue, raw_service):
    queue.enqueue(retry_message(), delay_seconds=0)

    assert len(receive_raw(raw_service, queue.queue_name)) == 1


def test_the_depth_counts_every_message_in_the_queue_visible_or_not(queue, raw_service):
    # What the reconcile's window reads: messages waiting out a delay, or received and being worked, count too.
    assert queue.depth() == 0  # a queue not made yet is made, empty
    queue.enqueue(retry_message("001Dn0000000001IAA"))
    queue.enqueue(retry_message("001Dn0000000002IAA"), delay_seconds=300)
    queue.enqueue(retry_message("001Dn0000000003IAA"))
    assert len(receive_raw(raw_service, queue.queue_name)) == 2  # now invisible for 30 s
    assert queue.depth() == 3


def test_send_to_poison_uses_the_functions_host_naming(queue, raw_service):
    queue.send_to_poison(retry_message())

    assert queue.poison_queue_name == f"{queue.queue_name}-poison"
    [body] = receive_raw(raw_service, queue.poison_queue_name)
    assert RetryMessage.from_json(base64.b64decode(body)) == retry_message()
    assert queue.approximate_count(queue.queue_name) == 0


def test_peek_poison_lists_parsed_and_unreadable_messages(queue, raw_service):
    queue.send_to_poison(retry_message())
    raw_service.get_queue_client(queue.poison_queue_name).send_message("not a retry message")

    peeked = queue.peek_poison(10)

    assert [content for _, content in peeked] == [retry_message(), "not a retry message"]
    assert all(message_id for message_id, _ in peeked)
    assert queue.approximate_count(queue.poison_queue_name) == 2  # peeking takes nothing away


def test_replay_moves_everything_readable_back_with_attempts_reset(queue, raw_service):
    queue.send_to_poison(retry_message("001Dn00000AAAAAIAV", attempt=8))
    queue.send_to_poison(retry_message("001Dn00000BBBBBIAV", attempt=8))
    raw_service.get_queue_client(queue.poison_queue_name).send_message("garbage")

    assert queue.replay_poison() == 2

    replayed = [RetryMessage.from_json(base64.b64decode(body)) for body in receive_raw(raw_service, queue.queue_name)]
    assert sorted(message.account_id for message in replayed) == ["001Dn00000AAAAAIAV", "001Dn00000BBBBBIAV"]
    assert {message.attempt for message in replayed} == {0}
    # The unreadable message stays parked and visible for a person to look at.
    assert [content for _, content in queue.peek_poison(10)] == ["garbage"]


def test_replay_of_one_message_by_id(queue, raw_service):
    queue.send_to_poison(retry_message("001Dn00000AAAAAIAV"))
    queue.send_to_poison(retry_message("001Dn00000BBBBBIAV"))
    wanted_id = next(mid for mid, content in queue.peek_poison(10) if content.account_id == "001Dn00000BBBBBIAV")

    assert queue.replay_poison(wanted_id) == 1

    [body] = receive_raw(raw_service, queue.queue_name)
    assert RetryMessage.from_json(base64.b64decode(body)).account_id == "001Dn00000BBBBBIAV"
    assert [content.account_id for _, content in queue.peek_poison(10)] == ["001Dn00000AAAAAIAV"]


def test_replay_of_an_unknown_id_moves_nothing(queue):
    queue.send_to_poison(retry_message())

    assert queue.replay_poison("no-such-message") == 0
    assert len(queue.peek_poison(10)) == 1


def test_replay_of_an_empty_poison_queue(queue):
    assert queue.replay_poison() == 0


def test_storage_down_raises_retry_queue_unavailable(azurite, unique_name):
    connection = azurite.connection_string.replace(f":{azurite.queue_port}/", f":{free_port()}/")
    service = QueueServiceClient.from_connection_string(connection, retry_total=0, connection_timeout=1)
    queue = StorageRetryQueue(service, unique_name)

    with pytest.raises(RetryQueueUnavailable):
        queue.enqueue(retry_message())
    with pytest.raises(RetryQueueUnavailable):
        queue.send_to_poison(retry_message())
    with pytest.raises(RetryQueueUnavailable):
        queue.depth()
