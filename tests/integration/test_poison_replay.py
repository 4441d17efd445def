"""`python -m admin poison replay` against a real Azurite: what a replay leaves behind is visible at once,
`--all` moves every readable message (also more than one receive batch), and the exit codes are the
docs/operations.md's: 0 done, 1 not (all) done, 2 usage, 3 storage unreachable, each failure in one line."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from azure.storage.queue import QueueServiceClient

from admin.__main__ import main
from shared.core.retry_message import RetryKind, RetryMessage
from shared.storage.queue import StorageRetryQueue, parse_queue_body
from tests.support.network import free_ports

pytestmark = pytest.mark.azurite


@pytest.fixture
def queue_name(monkeypatch, azurite) -> str:
    name = f"retry-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("RETRY_QUEUE_NAME", name)
    monkeypatch.setenv("LEDGER_TABLE_NAME", f"ledger{uuid.uuid4().hex[:12]}")
    return name


@pytest.fixture
def retry_queue(azurite, queue_name) -> StorageRetryQueue:
    return StorageRetryQueue(QueueServiceClient.from_connection_string(azurite.connection_string), queue_name)


def park(queue: StorageRetryQueue, count: int) -> list[str]:
    """Park count retry messages in the poison queue; their message ids, in queue order."""
    for index in range(count):
        queue.send_to_poison(
            RetryMessage(
                kind=RetryKind.CREATE,
                account_id=f"001Dn0000{index:06d}AAA",
                tracking_id=uuid.uuid4().hex,
                payload={},
                attempt=8,
                first_seen_at="2024-01-01T00:00:00+00:00",
                last_error="SAP unavailable",
            )
        )
    ids = [message_id for message_id, _ in queue.peek_poison(32)]
    assert len(ids) == min(count, 32)
    return ids


def listed_ids(capsys) -> list[str]:
    assert main(["poison", "list", "--json"]) == 0
    return [row["messageId"] for row in json.loads(capsys.readouterr().out)["messages"]]


@pytest.mark.parametrize("position", [0, 1, 3], ids=["first", "second", "last"])
def test_replay_by_id_moves_that_message_and_leaves_the_others_listable_at_once(retry_queue, capsys, position):
    ids = park(retry_queue, 4)

    assert main(["poison", "replay", "--id", ids[position], "--yes"]) == 0
    assert "Replayed 1 message(s)" in capsys.readouterr().out

    # No 60 s wait: the other three are visible to the very next command.
    assert sorted(listed_ids(capsys)) == sorted(ids[:position] + ids[position + 1 :])
    assert retry_queue.approximate_count() == 1
    assert retry_queue.approximate_count(retry_queue.poison_queue_name) == 3


def test_replay_all_right_after_a_replay_by_id_replays_the_rest_and_exits_0(retry_queue, capsys):
    ids = park(retry_queue, 4)
    assert main(["poison", "replay", "--id", ids[1], "--yes"]) == 0
    capsys.readouterr()

    assert main(["poison", "replay", "--all", "--yes"]) == 0

    assert "Replayed 3 message(s)" in capsys.readouterr().out
    assert listed_ids(capsys) == []
    assert retry_queue.approximate_count() == 4
    assert retry_queue.approximate_count(retry_queue.poison_queue_name) == 0


def test_replay_all_moves_more_messages_than_one_receive_batch(retry_queue, capsys):
    park(retry_queue, 40)  # one receive returns at most 32

    assert main(["poison", "replay", "--all", "--yes"]) == 0

    assert "Replayed 40 message(s)" in capsys.readouterr().out
    assert retry_queue.approximate_count() == 40
    assert retry_queue.approximate_count(retry_queue.poison_queue_name) == 0


def test_replayed_messages_have_their_attempts_reset_and_keep_the_account(retry_queue, azurite, capsys):
    park(retry_queue, 2)

    assert main(["poison", "replay", "--all", "--yes"]) == 0

    raw = QueueServiceClient.from_connection_string(azurite.connection_string).get_queue_client(retry_queue.queue_name)
    replayed = [parse_queue_body(m.content) for m in raw.peek_messages(max_messages=32)]
    assert sorted(m.account_id for m in replayed) == ["001Dn0000000000AAA", "001Dn0000000001AAA"]
    assert all(m.attempt == 0 for m in replayed)


def test_replay_all_exits_1_naming_what_remains_when_a_message_cannot_be_replayed(retry_queue, azurite, capsys):
    park(retry_queue, 2)
    raw = QueueServiceClient.from_connection_string(azurite.connection_string)
    raw.get_queue_client(retry_queue.poison_queue_name).send_message("not a retry message")

    assert main(["poison", "replay", "--all", "--yes"]) == 1

    output = capsys.readouterr()
    assert "Replayed 2 message(s)" in output.out
    [line] = output.err.splitlines()
    assert line.startswith("error: 1 message(s) remain in") and retry_queue.poison_queue_name in line
    # The one left is visible at once, for the operator to look at.
    assert len(listed_ids(capsys)) == 1


def test_replay_of_an_unknown_id_exits_1_and_hides_nothing(retry_queue, capsys):
    ids = park(retry_queue, 3)

    assert main(["poison", "replay", "--id", "no-such-message", "--yes"]) == 1

    output = capsys.readouterr()
    assert "Replayed 0 message(s)" in output.out
    [line] = output.err.splitlines()
    assert line.startswith("error: no readable poison message has id no-such-message")
    assert sorted(listed_ids(capsys)) == sorted(ids)


def test_replay_of_an_empty_poison_queue_exits_0(queue_name, capsys):
    assert main(["poison", "replay", "--all", "--yes"]) == 0
    assert "Replayed 0 message(s)" in capsys.readouterr().out


def test_replay_without_id_or_all_is_a_usage_error_exit_2(queue_name, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["poison", "replay", "--yes"])
    assert exited.value.code == 2


def _unreachable_storage(monkeypatch) -> None:
    queue_port, table_port = free_ports(2)  # ports nobody listens on: bound for a moment, then closed again
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1;"
        f"TableEndpoint=http://127.0.0.1:{table_port}/devstoreaccount1;",
    )
    monkeypatch.setenv("RETRY_QUEUE_NAME", "retry-unreachable")


@pytest.mark.parametrize(
    "command",
    [["poison", "list"], ["poison", "replay", "--all", "--yes"], ["status", "001Dn00000AbCdEIAV"]],
    ids=["list", "replay", "status"],
)
def test_with_storage_down_a_command_fails_within_seconds_with_one_line_and_exit_3(monkeypatch, capsys, command):
    _unreachable_storage(monkeypatch)

    started = time.monotonic()
    code = main(command)
    elapsed = time.monotonic() - started

    assert code == 3
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: storage unreachable:") and "connection refused" in line
    assert elapsed < 5, f"took {elapsed:.1f} s"
