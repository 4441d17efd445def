"""The change path's decisions (issue 26) as pure functions, tested as tables (tests/unit/test_change_rules.py).

    decide_change(entry, modstamp, now, windows)      what a change for the account may do now
    own_change_claim(entry, claim_id, now, windows)   an entry holding this attempt's own change claim
    decide_field(sap, new, sap_holds_last_sent)       one owned field: send it, nothing to do, or a conflict
    resolve_conflicts(account, change, sap, last, rule)  the whole change under SAP_CHANGE_CONFLICT

Order and exactly-once. Salesforce's outbound messages are delivered at least once and may arrive out of
order, each carrying the record as it is when sent ("Understanding Notifications", SOAP API guide), so a
change is a version of the account, ordered by its SystemModstamp: the ledger keeps the SystemModstamp of
the last change applied, and an older or equal one is acknowledged and ignored (a copy, or a version SAP
already has something newer than). Two changes of one account apply one at a time: the first takes a
change claim on the ledger entry (an ETag-guarded write, as the create's claim), a second meets the live
claim and waits (the HTTP path answers 202 queued and leaves a change message; the queue defers it); a
claim older than the claim window belongs to a worker that died and is taken over (the create's stale-claim
rule, shared.core.claims). Each change claim carries the id of the attempt that writes it (`claim_id`, as the
create's claim): a claim write stored though its answer was lost (a timeout, then the storage SDK's retry
refused with 412, or every try timed out) is known as the attempt's own on reading (Resume), not another's.
A change while the create is still in hand (pending or queued) is folded into it: it waits behind the create
and, once the customer exists, applies what still differs.

Conflicts. Before a change the use case reads SAP's current values of the fields it is about to send
(GETDETAIL1 / the Business Partner). Per field, with `last` what the ledger says SAP was last given (it keeps
a digest of each value, never the value: shared.core.ownership.value_digest):

    SAP holds            decision
    the new value        ALREADY_THERE   nothing to send (an earlier attempt's answer was lost, or a person
                                         typed the same in SAP)
    `last` (or `last`    APPLY           nobody touched it in SAP since: send the new value
    unknown)
    anything else        CONFLICT        someone changed it in SAP; SAP_CHANGE_CONFLICT decides

salesforce_wins (the default) sends conflicting fields too (the caller logs their names, never values);
review sends nothing while any field conflicts and holds the change with both values for an operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.core.claims import ClaimWindows, Resume
from shared.core.ledger import ChangeStatus, LedgerEntry, LedgerStatus
from shared.core.ownership import value_digest


class ConflictRule(StrEnum):
    """SAP_CHANGE_CONFLICT: what a change does with a field someone changed in SAP since our last change."""

    SALESFORCE_WINS = "salesforce_wins"
    REVIEW = "review"


# --------------------------------------------------------------------------- order and claims


@dataclass(frozen=True)
class NotSynced:
    """The ledger knows no SAP customer for the account (no entry, or its create failed): 404 not_synced."""


@dataclass(frozen=True)
class CreateHeld:
    """The account's create is held for an operator (needs_review): the change waits with it (409)."""


@dataclass(frozen=True)
class FoldIntoCreate:
    """The create is pending or queued: the change follows it (applied once the customer exists)."""


@dataclass(frozen=True)
class Stale:
    """Not newer than the last change applied: acknowledged and ignored."""


@dataclass(frozen=True)
class ChangeBusy:
    """A live worker holds the account's change claim: this change waits its turn."""


@dataclass(frozen=True)
class ClaimChange:
    """Store this claim (ETag-guarded); a lost race re-reads and decides again."""

    claim: LedgerEntry


# Resume (shared.core.claims): the entry holds this attempt's own live change claim; go on with it as read.
ChangeDecision = NotSynced | CreateHeld | FoldIntoCreate | Stale | ChangeBusy | ClaimChange | Resume


def is_stale(entry: LedgerEntry, system_modstamp: datetime) -> bool:
    """Whether a change of this SystemModstamp is older than, or the same as, the last one applied."""
    return entry.change_modstamp is not None and system_modstamp <= entry.change_modstamp


def change_claim_is_live(entry: LedgerEntry, now: datetime, windows: ClaimWindows) -> bool:
    """A worker is at SAP with a change now, or was when its line broke (queued with the claim kept: the unit
    it sent may still commit, so no other change may go to SAP before the claim window is over, or the late
    commit could overwrite a newer change; the create's rule for an unknown outcome, issue 20)."""
    return (
        entry.change_status in (ChangeStatus.IN_PROGRESS, ChangeStatus.QUEUED)
        and entry.change_claimed_at is not None
        and now - entry.change_claimed_at < windows.stale_claim_after
    )


def own_change_claim(
    entry: LedgerEntry | None, claim_id: str | None, now: datetime, windows: ClaimWindows
) -> Resume | ClaimChange | None:
    """What an attempt does with a change claim it wrote itself (its answer lost), or None when the entry holds
    no change claim of this attempt. The claim is written before the change goes to SAP and the attempt is still
    there, so nothing of it reached SAP: live, go on with it; gone stale meanwhile (the lost answer took that
    long), renew it (ETag-guarded: a worker that took it over since makes the renewal fail, and the read
    decides). A change status other than in_progress means the claim has ended since (queued with the claim
    kept is after SAP, a state only the holder writes): not this attempt's to go on with."""
    if (
        claim_id is None
        or entry is None
        or entry.claim_id != claim_id
        or entry.status is not LedgerStatus.CREATED
        or entry.change_status is not ChangeStatus.IN_PROGRESS
    ):
        return None
    if change_claim_is_live(entry, now, windows):
        return Resume(entry)
    return ClaimChange(entry.evolve(change_claimed_at=now))


def decide_change(
    entry: LedgerEntry | None,
    system_modstamp: datetime,
    now: datetime,
    windows: ClaimWindows,
    *,
    claim_id: str | None = None,
) -> ChangeDecision:
    """A change, made in Salesforce at `system_modstamp`, for the account whose ledger entry is `entry`;
    `claim_id`: this attempt's (the claim it writes carries it; None: an attempt that claims nothing)."""
    if entry is None:
        return NotSynced()
    if (mine := own_change_claim(entry, claim_id, now, windows)) is not None:
        return mine
    if entry.status is LedgerStatus.NEEDS_REVIEW:
        return CreateHeld()
    if entry.status in (LedgerStatus.PENDING, LedgerStatus.QUEUED):
        return FoldIntoCreate()
    if entry.status is not LedgerStatus.CREATED or not entry.customer_number:
        return NotSynced()  # failed: there is no customer to change (a resend of the create makes one)
    if is_stale(entry, system_modstamp):
        return Stale()
    if change_claim_is_live(entry, now, windows):
        return ChangeBusy()
    # No claim, a finished change, or a dead worker's claim: take it. A dead worker may have sent its change
    # to SAP; applying the newer one over it is harmless (the fields are read from SAP again first).
    return ClaimChange(entry.evolve(change_status=ChangeStatus.IN_PROGRESS, change_claimed_at=now, claim_id=claim_id))


# --------------------------------------------------------------------------- conflicts


class FieldAction(StrEnum):
    APPLY = "apply"
    ALREADY_THERE = "already_there"
    CONFLICT = "conflict"


def _same(left: str | None, right: str | None) -> bool:
    # A value read back may carry trailing blanks (CHAR fields over RFC).
    return (left or "").strip() == (right or "").strip()


def decide_field(sap_value: str | None, new_value: str, *, sap_holds_last_sent: bool) -> FieldAction:
    """One owned field (the module docstring's table). `sap_holds_last_sent`: SAP's value is what the ledger
    says SAP was last given (its digest matches), or the ledger kept nothing (an account created before the
    change path: no SAP change can be told apart, so it applies)."""
    if _same(sap_value, new_value):
        return FieldAction.ALREADY_THERE
    return FieldAction.APPLY if sap_holds_last_sent else FieldAction.CONFLICT


@dataclass(frozen=True)
class FieldConflict:
    """One field someone changed in SAP: its PI_COMPANYDATA name, SAP's value and the new one (personal data:
    kept in the ledger for the operator while held, never logged). What was last sent is not known: the
    ledger keeps only its digest."""

    sap_field: str
    sap_value: str
    new_value: str


@dataclass(frozen=True)
class ConflictResolution:
    """What to send (`send`, possibly empty: SAP holds it all already), the conflicts found, and whether the
    change is held for review instead (then `send` is empty)."""

    send: dict[str, str]
    conflicts: tuple[FieldConflict, ...] = ()
    held: bool = False


def resolve_conflicts(
    account_id: str,
    change_data: Mapping[str, str],
    sap_data: Mapping[str, str],
    last_digests: Mapping[str, str] | None,
    rule: ConflictRule,
) -> ConflictResolution:
    """The change's fields judged against SAP's current values under `rule`; `last_digests`: the ledger's
    digests of what SAP was last given (shared.core.ownership.value_digest)."""
    send: dict[str, str] = {}
    conflicts: list[FieldConflict] = []
    for sap_field, new_value in change_data.items():
        sap_value = sap_data.get(sap_field)
        holds_last = last_digests is None or last_digests.get(sap_field) == value_digest(
            account_id, sap_field, sap_value
        )
        action = decide_field(sap_value, new_value, sap_holds_last_sent=holds_last)
        if action is FieldAction.ALREADY_THERE:
            continue
        if action is FieldAction.CONFLICT:
            conflicts.append(FieldConflict(sap_field, (sap_value or "").strip(), new_value))
        send[sap_field] = new_value
    if conflicts and rule is ConflictRule.REVIEW:
        return ConflictResolution({}, tuple(conflicts), held=True)
    return ConflictResolution(send, tuple(conflicts))
