"""`admin poison list|replay`: what is parked in the retry queue's poison queue, and moving it back.

Only ids, counters, timestamps and error texts are shown: the parked payload carries the account's
name, street and phone, which do not belong on an operator's screen or in a terminal log.
"""

from __future__ import annotations

import json
import sys
from typing import Protocol

from admin import ExitCode
from shared.core.retry_message import RetryMessage

# A Storage peek returns at most 32 messages, always from the front of the queue.
PEEK_LIMIT = 32


class PoisonQueue(Protocol):
    """The retry queue with its poison queue, as the Azure Queue adapter has it (shared/storage/queue.py,
    StorageRetryQueue): the composition root hands it over, the command does not pick the adapter."""

    queue_name: str
    poison_queue_name: str

    def peek_poison(self, max_messages: int = 32) -> list[tuple[str, RetryMessage | str]]: ...

    def replay_poison(self, message_id: str | None = None) -> int: ...

    def approximate_count(self, queue_name: str | None = None) -> int: ...


_COLUMNS = (
    ("messageId", "MESSAGE ID"),
    ("accountId", "ACCOUNT ID"),
    ("trackingId", "TRACKING ID"),
    ("kind", "KIND"),
    ("attempt", "ATTEMPT"),
    ("firstSeenAt", "FIRST SEEN"),
    ("lastError", "LAST ERROR"),
)
# Keeps a row on one line of a terminal; --json has the full text.
_TABLE_ERROR_WIDTH = 60


def describe_message(message_id: str, content: RetryMessage | str) -> dict[str, object]:
    """One poison message as the list command shows it, without any payload field."""
    if isinstance(content, str):
        # Not one of ours (put there by hand, or by another version): its text may hold anything.
        return {"messageId": message_id, "readable": False, "length": len(content)}
    return {
        "messageId": message_id,
        "readable": True,
        "accountId": content.account_id,
        "trackingId": content.tracking_id,
        "kind": content.kind.value,
        "attempt": content.attempt,
        "firstSeenAt": content.first_seen_at,
        "lastError": content.last_error,
        "customerNumber": content.customer_number,
    }


def list_poison(queue: PoisonQueue, max_messages: int, as_json: bool) -> int:
    shown = [
        describe_message(message_id, content)
        for message_id, content in queue.peek_poison(min(max_messages, PEEK_LIMIT))
    ]
    parked = queue.approximate_count(queue.poison_queue_name)
    if as_json:
        print(
            json.dumps(
                {
                    "queue": queue.queue_name,
                    "poisonQueue": queue.poison_queue_name,
                    "approximateCount": parked,
                    "messages": shown,
                },
                indent=2,
            )
        )
        return ExitCode.DONE
    if not shown:
        print(f"No poison messages in {queue.poison_queue_name}.")
        return ExitCode.DONE
    print(_table(shown))
    print(f"\n{len(shown)} shown of about {max(parked, len(shown))} in {queue.poison_queue_name}.")
    if any(not row["readable"] for row in shown):
        print("Unreadable messages are not retry messages; replay leaves them in place.")
    return ExitCode.DONE


def _cell(row: dict[str, object], key: str) -> str:
    if not row["readable"]:
        return {
            "messageId": str(row["messageId"]),
            "accountId": "(unreadable)",
            "lastError": f"not a retry message ({row['length']} characters)",
        }.get(key, "-")
    value = row.get(key)
    text = "-" if value is None else " ".join(str(value).split())
    if key == "lastError" and len(text) > _TABLE_ERROR_WIDTH:
        text = text[: _TABLE_ERROR_WIDTH - 1] + "…"
    return text


def _table(rows: list[dict[str, object]]) -> str:
    cells = [[_cell(row, key) for key, _ in _COLUMNS] for row in rows]
    widths = [max(len(title), *(len(line[index]) for line in cells)) for index, (_, title) in enumerate(_COLUMNS)]
    lines = [[title for _, title in _COLUMNS], *cells]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def replay(queue: PoisonQueue, message_id: str | None, confirm: bool) -> int:
    """Move one message (message_id) or all readable ones back to the main queue, attempts reset.
    0 when that is done; 1 when declined, the id is unknown, or (with --all) messages remain."""
    target = (
        f"message {message_id}"
        if message_id
        else (f"about {queue.approximate_count(queue.poison_queue_name)} message(s)")
    )
    if confirm and not _confirmed(f"Replay {target} from {queue.poison_queue_name} to {queue.queue_name}? [y/N] "):
        print("Nothing replayed.")
        return ExitCode.NOTHING_DONE
    replayed = queue.replay_poison(message_id)
    print(f"Replayed {replayed} message(s) from {queue.poison_queue_name} to {queue.queue_name}.")
    if message_id:
        if replayed == 0:
            print(
                f"error: no readable poison message has id {message_id}; `python -m admin poison list` shows the ids",
                file=sys.stderr,
            )
            return ExitCode.NOTHING_DONE
        return ExitCode.DONE
    remaining = _remaining(queue)
    if remaining:
        print(
            f"error: {remaining} message(s) remain in {queue.poison_queue_name} (not retry messages, or parked "
            "while the replay ran); `python -m admin poison list` shows them",
            file=sys.stderr,
        )
        return ExitCode.NOTHING_DONE
    return ExitCode.DONE


def _remaining(queue: PoisonQueue) -> int:
    # The visible ones first (replay has just released what it left); the count also sees messages
    # another replay holds at this moment, which must not pass for "nothing left" either.
    visible = len(queue.peek_poison(PEEK_LIMIT))
    return visible or queue.approximate_count(queue.poison_queue_name)


def _confirmed(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
