"""The change path's decisions as tables (issue 26): order by SystemModstamp, the change claim, the fold into a
create in hand, and the conflict rule per field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.change_rules import (
    ChangeBusy,
    ClaimChange,
    ConflictResolution,
    ConflictRule,
    CreateHeld,
    FieldAction,
    FieldConflict,
    FoldIntoCreate,
    NotSynced,
    Stale,
    decide_change,
    decide_field,
    own_change_claim,
    resolve_conflicts,
)
from shared.core.claims import ClaimWindows, Resume
from shared.core.ledger import ChangeStatus, LedgerEntry, LedgerStatus
from shared.core.ownership import value_digest, value_digests

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
WINDOWS = ClaimWindows.from_bounds(timedelta(seconds=155), max_retry_delay_seconds=3600)
APPLIED_AT = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # the SystemModstamp of the last change applied
OLDER, SAME, NEWER = APPLIED_AT - timedelta(seconds=1), APPLIED_AT, APPLIED_AT + timedelta(milliseconds=1)


def entry(status: LedgerStatus = LedgerStatus.CREATED, **fields: object) -> LedgerEntry:
    values: dict[str, object] = {
        "account_id": "001Dn00000AbCdEIAV",
        "status": status,
        "tracking_id": "t1",
        "created_at": NOW - timedelta(hours=2),
        "updated_at": NOW - timedelta(hours=1),
        "customer_number": "0000100001" if status is LedgerStatus.CREATED else None,
        "change_modstamp": APPLIED_AT,
    }
    values.update(fields)
    return LedgerEntry(**values)  # type: ignore[arg-type]


LIVE = {"change_status": ChangeStatus.IN_PROGRESS, "change_claimed_at": NOW - timedelta(seconds=10)}
# A change whose line broke after it was sent: queued, its claim kept (the unit may still commit).
UNKNOWN = {"change_status": ChangeStatus.QUEUED, "change_claimed_at": NOW - timedelta(seconds=10)}
UNKNOWN_OVER = {"change_status": ChangeStatus.QUEUED, "change_claimed_at": NOW - timedelta(seconds=200)}
DEAD = {"change_status": ChangeStatus.IN_PROGRESS, "change_claimed_at": NOW - timedelta(seconds=200)}


@pytest.mark.parametrize(
    ("state", "stamp", "expected"),
    [
        (None, NEWER, NotSynced),
        (entry(LedgerStatus.FAILED), NEWER, NotSynced),
        (entry(LedgerStatus.CREATED, customer_number=None), NEWER, NotSynced),
        (entry(LedgerStatus.NEEDS_REVIEW), NEWER, CreateHeld),
        (entry(LedgerStatus.PENDING), NEWER, FoldIntoCreate),
        (entry(LedgerStatus.QUEUED), OLDER, FoldIntoCreate),
        (entry(), OLDER, Stale),
        (entry(), SAME, Stale),
        (entry(**LIVE), SAME, Stale),
        (entry(**LIVE), NEWER, ChangeBusy),
        (entry(**UNKNOWN), NEWER, ChangeBusy),
        (entry(**UNKNOWN_OVER), NEWER, ClaimChange),
        (entry(change_status=ChangeStatus.QUEUED), NEWER, ClaimChange),
        (entry(), NEWER, ClaimChange),
        (entry(change_modstamp=None), OLDER, ClaimChange),
        (entry(**DEAD), NEWER, ClaimChange),
        (entry(change_status=ChangeStatus.NEEDS_REVIEW), NEWER, ClaimChange),
        (entry(change_status=ChangeStatus.FAILED), NEWER, ClaimChange),
    ],
    ids=[
        "no entry: not synced",
        "create failed: not synced",
        "created without number: not synced",
        "create held for review",
        "create pending: folded",
        "create queued: folded, whatever its stamp",
        "older: stale",
        "equal: stale (a copy)",
        "equal while another change runs: stale",
        "newer while a live claim: busy",
        "an unknown outcome's claim is kept: busy",
        "the unit surely over: claim",
        "queued without a kept claim (SAP was unavailable): claim",
        "newer: claim",
        "first change after the create: claim",
        "a dead worker's claim is taken over",
        "a change held for review decides again",
        "after a failed change the next applies",
    ],
)
def test_a_change_is_decided_from_the_ledger(state, stamp, expected):
    decision = decide_change(state, stamp, NOW, WINDOWS)

    assert isinstance(decision, expected)
    if isinstance(decision, ClaimChange):
        assert decision.claim.change_status is ChangeStatus.IN_PROGRESS
        assert decision.claim.change_claimed_at == NOW
        assert decision.claim.change_modstamp == state.change_modstamp  # raised only once SAP has the change


MINE = "claim-of-this-attempt"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (entry(**LIVE, claim_id=MINE), Resume),
        (entry(**DEAD, claim_id=MINE), "renew"),
        (entry(**LIVE, claim_id="another attempt's"), ChangeBusy),
        (entry(**LIVE), ChangeBusy),
        (entry(**UNKNOWN, claim_id=MINE), ChangeBusy),
        (entry(change_status=ChangeStatus.APPLIED, claim_id=MINE), ClaimChange),
        (entry(LedgerStatus.PENDING, claim_id=MINE), FoldIntoCreate),
    ],
    ids=[
        "our own live change claim: go on with it",
        "ours gone stale meanwhile: renew it",
        "another attempt's live claim: busy",
        "a claim without an id (written before ids): busy",
        "queued with the claim kept since (after SAP): not ours to go on with",
        "ended since: a new claim",
        "a create claim (not a change claim): folded",
    ],
)
def test_an_attempt_that_reads_its_own_change_claim_goes_on_with_it(state, expected):
    """A change claim stored though its answer was lost: the read finds this attempt's id on the entry."""
    decision = decide_change(state, NEWER, NOW, WINDOWS, claim_id=MINE)

    if expected is Resume:
        assert decision == Resume(state)  # the entry as read, with the ETag the change's end needs
        assert own_change_claim(state, MINE, NOW, WINDOWS) == decision
    elif expected == "renew":
        assert decision == ClaimChange(state.evolve(change_claimed_at=NOW))
    else:
        assert isinstance(decision, expected) and own_change_claim(state, MINE, NOW, WINDOWS) is None
        # Decided as without the id (a claim it writes carries the id: the only difference).
        assert type(decide_change(state, NEWER, NOW, WINDOWS)) is expected


@pytest.mark.parametrize(
    "state",
    [entry(), entry(**DEAD, claim_id="a dead worker's"), entry(change_status=ChangeStatus.FAILED)],
    ids=["first change", "a dead worker's claim", "after a failed change"],
)
def test_every_change_claim_an_attempt_writes_carries_its_id(state):
    decision = decide_change(state, NEWER, NOW, WINDOWS, claim_id=MINE)

    assert isinstance(decision, ClaimChange) and decision.claim.claim_id == MINE


@pytest.mark.parametrize(
    ("sap", "new", "sap_holds_last_sent", "expected"),
    [
        ("Old Street 1", "New Street 2", True, FieldAction.APPLY),
        ("New Street 2", "New Street 2", True, FieldAction.ALREADY_THERE),
        ("New Street 2", "New Street 2", False, FieldAction.ALREADY_THERE),
        ("New Street 2  ", "New Street 2", False, FieldAction.ALREADY_THERE),
        ("SAP Street 9", "New Street 2", False, FieldAction.CONFLICT),
        ("", "New Street 2", True, FieldAction.APPLY),
        ("Old Street 1", "", True, FieldAction.APPLY),
        (None, "New Street 2", False, FieldAction.CONFLICT),
    ],
    ids=[
        "untouched in SAP: apply",
        "SAP has the new value: nothing",
        "SAP has the new value, typed there: nothing",
        "SAP pads with blanks: the same",
        "changed in SAP: conflict",
        "empty before: apply",
        "cleared in Salesforce: apply",
        "SAP lost a value we sent: conflict",
    ],
)
def test_each_field_is_judged_against_sap_and_what_it_was_last_given(sap, new, sap_holds_last_sent, expected):
    assert decide_field(sap, new, sap_holds_last_sent=sap_holds_last_sent) is expected


CHANGE = {"STREET": "New Street 2", "CITY": "Hamburg"}
ACCOUNT = "001Dn00000AbCdEIAV"
LAST = value_digests(ACCOUNT, {"STREET": "Old Street 1", "CITY": "Berlin", "NAME": "ACME"})


@pytest.mark.parametrize(
    ("sap", "rule", "send", "conflicts", "held"),
    [
        ({"STREET": "Old Street 1", "CITY": "Berlin"}, ConflictRule.SALESFORCE_WINS, CHANGE, (), False),
        ({"STREET": "Old Street 1", "CITY": "Berlin"}, ConflictRule.REVIEW, CHANGE, (), False),
        ({"STREET": "New Street 2", "CITY": "Berlin"}, ConflictRule.REVIEW, {"CITY": "Hamburg"}, (), False),
        ({"STREET": "New Street 2", "CITY": "Hamburg"}, ConflictRule.SALESFORCE_WINS, {}, (), False),
        (
            {"STREET": "SAP Street 9", "CITY": "Berlin"},
            ConflictRule.SALESFORCE_WINS,
            CHANGE,
            (FieldConflict("STREET", "SAP Street 9", "New Street 2"),),
            False,
        ),
        (
            {"STREET": "SAP Street 9", "CITY": "Berlin"},
            ConflictRule.REVIEW,
            {},
            (FieldConflict("STREET", "SAP Street 9", "New Street 2"),),
            True,
        ),
    ],
    ids=[
        "untouched: all sent",
        "untouched under review: all sent",
        "half there: the rest sent",
        "all there: nothing sent",
        "salesforce_wins overwrites and names the conflict",
        "review holds, sends nothing, keeps both values",
    ],
)
def test_the_conflict_rule_decides_the_whole_change(sap, rule, send, conflicts, held):
    resolution = resolve_conflicts(ACCOUNT, CHANGE, sap, LAST, rule)

    assert resolution.send == send
    assert resolution.conflicts == conflicts
    assert resolution.held is held


def test_nothing_kept_of_the_last_change_applies_whatever_sap_holds():
    resolution = resolve_conflicts(ACCOUNT, CHANGE, {"STREET": "SAP Street 9"}, None, ConflictRule.REVIEW)

    assert resolution == ConflictResolution(CHANGE)


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        (("001Dn00000AbCdEIAV", "STREET", "A 1"), ("001Dn00000AbCdE", "STREET", "A 1  "), True),
        (("001Dn00000AbCdEIAV", "STREET", "A 1"), ("001Dn00000ZzZzZIAV", "STREET", "A 1"), False),
        (("001Dn00000AbCdEIAV", "STREET", "A 1"), ("001Dn00000AbCdEIAV", "CITY", "A 1"), False),
        (("001Dn00000AbCdEIAV", "STREET", "A 1"), ("001Dn00000AbCdEIAV", "STREET", "a 1"), False),
    ],
    ids=["15 or 18 characters, blanks at the end: the same", "another account", "another field", "case counts"],
)
def test_the_ledger_keeps_a_digest_salted_by_account_and_field_never_the_value(left, right, same):
    assert (value_digest(*left) == value_digest(*right)) is same
    assert left[2] not in value_digest(*left)
