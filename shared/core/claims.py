"""Who may work on an account: the ledger's claim rules as pure decisions (no I/O, no clock of their own).

The use cases read the ledger entry, ask one of these functions what to do, and carry the decision
out with an ETag-guarded write; a lost race re-reads and asks again. Every rule of exactly-once that
is a choice (not a storage mechanism) lives here, so it can be read in one place and tested as a table
(tests/unit/test_claim_rules.py).

    decide_create(entry, now, windows)          a request from the flow (HTTP path)
    decide_retry(entry, message, now, windows)   a retry or check message (queue path)
    decide_retry_unread(written, message, ...)   the same, before reading: on the entry as its message's
                                                 writer stored it (the claim is then ETag-guarded on it)

Each claim carries the id of the attempt that writes it (`claim_id`, new for every call of a use case's
claim step). A claim write may be stored and still answered with an error: a read timeout, after which the
storage SDK sends the PUT again and meets the ETag its first try made (412), or an insert that timed out.
The attempt then reads, and an entry claimed with its own id is its claim (`Resume`), not another worker's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.core.ledger import LedgerEntry, LedgerStatus


@dataclass(frozen=True)
class ClaimWindows:
    """How long a claim or a queued entry may stay untouched before it counts as abandoned.

    `stale_claim_after`: a PENDING claim older than this belongs to a worker that died (the SAP
    gateway's bound on one unit of work, plus a margin). `queued_overdue_after`: a QUEUED entry whose
    message should have run long ago (the longest retry delay plus two claim windows) lost its message.
    """

    stale_claim_after: timedelta
    queued_overdue_after: timedelta

    @classmethod
    def from_bounds(cls, stale_claim_after: timedelta, max_retry_delay_seconds: int) -> ClaimWindows:
        return cls(stale_claim_after, timedelta(seconds=max_retry_delay_seconds) + 2 * stale_claim_after)


# The claim window, in one place. A claim is stale once the SAP unit it guards must have ended: the SAP
# gateway's own bound on one unit (RfcSapGateway.longest_unit_seconds, from SAP_TIMEOUT_SECONDS; the composition
# root asks it: shared/bootstrap/sap.py stale_claim_window) plus a margin for the ledger write that follows, and
# never less than a floor (a tiny SAP_TIMEOUT_SECONDS in local tests must not let claims go stale at once).
STALE_CLAIM_MARGIN_SECONDS = 5.0
STALE_CLAIM_FLOOR_SECONDS = 10.0
# The window of a `Services` built without the composition root (tests, tools): longer than the one the root
# derives for the declared SAP_TIMEOUT_SECONDS default (30 s: 155 s; tests/unit/test_bootstrap.py holds it so).
DEFAULT_STALE_CLAIM_AFTER = timedelta(seconds=240)


def stale_claim_after_unit(longest_unit_seconds: float) -> timedelta:
    """The claim window for a SAP gateway whose one unit of work ends within `longest_unit_seconds`."""
    return timedelta(seconds=max(STALE_CLAIM_FLOOR_SECONDS, longest_unit_seconds + STALE_CLAIM_MARGIN_SECONDS))


class Answer(StrEnum):
    """What a request is told without touching SAP, because the ledger already knows."""

    ALREADY_EXISTS = "already_exists"  # created: the same number again
    QUEUED = "queued"  # a retry message owns the account
    IN_PROGRESS = "in_progress"  # a live worker holds the claim
    NEEDS_REVIEW = "needs_review"  # held for an operator


@dataclass(frozen=True)
class ClaimNew:
    """No entry: insert a fresh one, a PENDING claim (a QUEUED entry on the push path, shared.core.push_rules);
    a conditional insert, losing it means re-read."""


@dataclass(frozen=True)
class Reply:
    answer: Answer


@dataclass(frozen=True)
class TakeOver:
    """Replace the entry with this PENDING claim (QUEUED on the push path), ETag-guarded: reopened FAILED,
    stale claim, lost message."""

    claim: LedgerEntry


@dataclass(frozen=True)
class Skip:
    """Nothing to do for this message (the reason is logged)."""

    reason: str


@dataclass(frozen=True)
class Defer:
    """A live worker holds the account: the same message comes back later."""


@dataclass(frozen=True)
class Resume:
    """The entry is this attempt's own live claim: its claim write was stored though its answer was lost.
    Go on with `claim`, the entry as read (with the ETag the next write needs)."""

    claim: LedgerEntry


CreateDecision = ClaimNew | Reply | TakeOver | Resume
RetryDecision = ClaimNew | TakeOver | Skip | Defer | Resume


def _claim_is_live(entry: LedgerEntry, now: datetime, windows: ClaimWindows) -> bool:
    return entry.status is LedgerStatus.PENDING and now - entry.updated_at < windows.stale_claim_after


def _queued_is_overdue(entry: LedgerEntry, now: datetime, windows: ClaimWindows) -> bool:
    return now - entry.updated_at > windows.queued_overdue_after


def own_claim(
    entry: LedgerEntry | None, claim_id: str | None, now: datetime, windows: ClaimWindows
) -> Resume | TakeOver | None:
    """What an attempt does with an entry it claimed itself (a claim write whose answer was lost), or None when
    the entry is not its claim. Its claim never reached SAP (the attempt is still before its SAP call), so it
    is not a dead worker's: live, go on with it; gone stale meanwhile (the lost answer took that long), renew it
    (ETag-guarded: should another worker have taken it over since, the renewal is refused and the read decides)."""
    if claim_id is None or entry is None or entry.status is not LedgerStatus.PENDING or entry.claim_id != claim_id:
        return None
    if _claim_is_live(entry, now, windows):
        return Resume(entry)
    return TakeOver(entry.evolve(updated_at=now))


def decide_create(
    entry: LedgerEntry | None, now: datetime, windows: ClaimWindows, *, claim_id: str | None = None
) -> CreateDecision:
    """A request from the flow for the account whose ledger entry is `entry`; `claim_id`: this attempt's."""
    if entry is None:
        return ClaimNew()
    if (mine := own_claim(entry, claim_id, now, windows)) is not None:
        return mine
    if entry.status is LedgerStatus.NEEDS_REVIEW:
        return Reply(Answer.NEEDS_REVIEW)  # only an operator decides; a resend never creates
    if entry.status is LedgerStatus.CREATED:
        return Reply(Answer.ALREADY_EXISTS)
    if entry.status is LedgerStatus.QUEUED and not _queued_is_overdue(entry, now, windows):
        return Reply(Answer.QUEUED)
    if _claim_is_live(entry, now, windows):
        return Reply(Answer.IN_PROGRESS)
    # FAILED (a person fixed the account and the flow sent it again), a stale PENDING claim, or a QUEUED
    # entry whose message was lost. Clearing the retry token makes any old message a stranger. A stale
    # claim's worker died somewhere in its SAP unit: what it did there is unknown, so search first.
    return TakeOver(
        entry.evolve(
            status=LedgerStatus.PENDING,
            updated_at=now,
            claim_id=claim_id,
            last_error=None,
            retry_token=None,
            error_kind=None,
            outcome_unknown=entry.outcome_unknown or entry.status is LedgerStatus.PENDING,
            attempts=0 if entry.status is LedgerStatus.FAILED else entry.attempts,
        )
    )


def decide_retry(
    entry: LedgerEntry | None,
    *,
    is_check: bool,
    message_token: str | None,
    message_tracking_id: str,
    message_attempt: int,
    now: datetime,
    windows: ClaimWindows,
    claim_id: str | None = None,
) -> RetryDecision:
    """A retry (or check) message for the account whose ledger entry is `entry`; `claim_id`: this attempt's."""
    if (mine := own_claim(entry, claim_id, now, windows)) is not None:
        return mine
    if is_check and (
        entry is None
        or not (
            entry.status is LedgerStatus.PENDING
            or (entry.status is LedgerStatus.QUEUED and _queued_is_overdue(entry, now, windows))
        )
    ):
        # A check (of an in_progress answer, or from the sweep) finishes a dead worker's claim or a
        # queued entry whose message was lost; anything else finished without it.
        return Skip("the claim holder finished: created, queued or visibly failed")
    if entry is None:
        return ClaimNew()  # the claim was released after a failed enqueue, or storage was reset
    if entry.status is LedgerStatus.CREATED:
        return Skip("already created")
    if entry.status is LedgerStatus.NEEDS_REVIEW:
        return Skip("held for review")
    if _claim_is_live(entry, now, windows):
        return Defer()
    if (
        entry.status is LedgerStatus.QUEUED
        and entry.retry_token != message_token
        and not _queued_is_overdue(entry, now, windows)
    ):
        return Skip("another retry message owns the account")
    if entry.status is LedgerStatus.FAILED and (entry.tracking_id != message_tracking_id or message_attempt != 0):
        # Only an operator's replay (attempt reset to 0) reopens a failed account; an old copy of a
        # message must not create it from a payload a person may have corrected since.
        return Skip("account failed; only a replay reopens it")
    # FAILED and an operator's replay, QUEUED and ours (or overdue), or a stale claim of a dead worker.
    return TakeOver(
        entry.evolve(
            status=LedgerStatus.PENDING,
            tracking_id=message_tracking_id,
            retry_token=None,
            updated_at=now,
            claim_id=claim_id,
            outcome_unknown=entry.outcome_unknown or entry.status is LedgerStatus.PENDING,
        )
    )


def decide_retry_unread(
    written: LedgerEntry | None,
    *,
    is_check: bool,
    message_token: str | None,
    message_tracking_id: str,
    message_attempt: int,
    now: datetime,
    windows: ClaimWindows,
    claim_id: str | None = None,
) -> TakeOver | None:
    """The claim to try before reading the entry, or None when only a read can tell.

    `written` is the entry as the message's writer stored it, with the ETag it got then
    (RetryMessage.written_entry). The claim comes back guarded by that ETag, so it is stored only if
    nothing has written the entry since: then the entry is exactly `written`, and decide_retry on a
    fresh read would have made this very claim. Any later write (a second copy of the message, a
    create's takeover, the sweep's check, an operator, a write-back) changes the ETag, the guarded
    write is refused, and the caller reads and decides with decide_retry. Only a claim is worth trying:
    a skip or a deferral decided without a read would act on what may no longer be there.
    """
    if written is None or written.etag is None:
        return None
    decision = decide_retry(
        written,
        is_check=is_check,
        message_token=message_token,
        message_tracking_id=message_tracking_id,
        message_attempt=message_attempt,
        now=now,
        windows=windows,
        claim_id=claim_id,
    )
    return decision if isinstance(decision, TakeOver) else None
