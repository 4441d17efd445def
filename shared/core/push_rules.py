"""The push path's rule for each notification, decided from the account's ledger entry (pure).

Salesforce delivers outbound messages at least once, retries each for up to 24 hours and may deliver
them out of order ("Understanding Notifications" and "Considerations for Outbound Messages",
developer.salesforce.com / help.salesforce.com). Notification Ids are not kept anywhere: the
ledger's entry for the account is the memory, which makes one rule serve replays, copies and late
arrivals alike:

* no entry: claim it (a QUEUED entry plus a create message);
* created, or held for review: skip. The SAP customer exists (or an operator decides), and this
  product creates customers, it never updates them, so no notification, older or newer, can change
  anything any more;
* queued, or being created by a live worker: skip. The work is in hand; a copy adds nothing;
* failed: take over only a notification about a change made *after* the failure was recorded (the
  account's LastModifiedDate later than the ledger's last change): a person fixed the account and sent
  it again. A copy of a notification from before the failure, or one without a LastModifiedDate, is
  skipped, so a late copy never reopens an account with data a person has corrected since;
* a claim whose worker died, or a queued entry whose message was lost: take it over (searching
  SAP first where the dead worker may have reached it, as shared.core.claims does).

The ledger's conditional writes (insert or ETag-checked replace) make the decision race-free; the
queue path (shared.core.claims.decide_retry) then lets exactly one message create.

The moves are the claim rules' own (shared.core.claims): ClaimNew (no entry: a conditional insert),
TakeOver (an ETag-guarded replace with the entry carried), Skip (nothing to do, a reason logged). They
differ only in what is written: the push path writes QUEUED (the queue does the SAP work later), the
create and retry paths PENDING (they do it now).
"""

from __future__ import annotations

from datetime import datetime

from shared.core.claims import ClaimNew, ClaimWindows, Resume, Skip, TakeOver
from shared.core.ledger import LedgerEntry, LedgerStatus

# A TakeOver here carries the QUEUED entry; the caller adds the retry token and the request. Resume: the
# entry is the QUEUED entry this notification wrote itself (its answer lost): queue its create message.
PushDecision = ClaimNew | TakeOver | Skip | Resume


def decide_push(
    entry: LedgerEntry | None,
    changed_at: datetime | None,
    now: datetime,
    windows: ClaimWindows,
    *,
    retry_token: str | None = None,
) -> PushDecision:
    """A notification about the account whose ledger entry is `entry`, for a change made at `changed_at`;
    `retry_token`: the token this notification's QUEUED write carries (its own, like a claim's id in
    shared.core.claims.own_claim: a write stored though its answer was lost is known on reading)."""
    if entry is None:
        return ClaimNew()
    if retry_token is not None and entry.status is LedgerStatus.QUEUED and entry.retry_token == retry_token:
        return Resume(entry)
    if entry.status is LedgerStatus.CREATED:
        return Skip("already created; a notification changes nothing once the SAP customer exists")
    if entry.status is LedgerStatus.NEEDS_REVIEW:
        return Skip("held for review; an operator decides")
    if entry.status is LedgerStatus.PENDING and now - entry.updated_at < windows.stale_claim_after:
        return Skip("being created now")
    if entry.status is LedgerStatus.QUEUED and now - entry.updated_at <= windows.queued_overdue_after:
        return Skip("already queued")
    if entry.status is LedgerStatus.FAILED:
        if changed_at is None:
            return Skip("failed; the notification has no LastModifiedDate to tell a resend from a late copy")
        if changed_at <= entry.updated_at:
            return Skip("failed after this change was made (a late or replayed notification)")
    # FAILED and changed since, a dead worker's claim, or a queued entry whose message was lost.
    return TakeOver(
        entry.evolve(
            status=LedgerStatus.QUEUED,
            updated_at=now,
            last_error=None,
            error_kind=None,
            outcome_unknown=entry.outcome_unknown or entry.status is LedgerStatus.PENDING,
            attempts=0 if entry.status is LedgerStatus.FAILED else entry.attempts,
        )
    )
