"""LedgerEntry.evolve copies without dataclasses.replace's __init__ (the overhead, bench/README.md): it must give
exactly what replace gives, for every field, and refuse what replace refuses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from shared.core.ledger import ChangeStatus, LedgerEntry, LedgerStatus, WriteBackStatus
from shared.core.models import MappingWarning

_EARLY = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_LATE = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)

# A value for every field that differs from the base entry's: the table covers each field once.
_NEW_VALUES: dict[str, object] = {
    "account_id": "001Dn00000AbCdEIAV",
    "status": LedgerStatus.CREATED,
    "tracking_id": "f" * 32,
    "created_at": _LATE,
    "updated_at": _LATE,
    "customer_number": "0000100001",
    "attempts": 3,
    "last_error": "SAP unavailable: timeout",
    "writeback": WriteBackStatus.PENDING,
    "retry_token": "token-2",
    "claim_id": "claim-2",
    "error_kind": "transient",
    "outcome_unknown": True,
    "adopted": True,
    "payload": {"accountId": "001Dn00000AbCdEIAV"},
    "review_candidates": ("0000100002",),
    "rejected_customers": ("0000100003",),
    "search_from": _LATE,
    "warnings": (MappingWarning("street", "shortened"),),
    "applied_digests": {"CITY": "0" * 32},
    "change_modstamp": _LATE,
    "change_status": ChangeStatus.APPLIED,
    "last_change_at": _LATE,
    "change_error": "rejected",
    "change_claimed_at": _LATE,
    "change_review": {"fields": []},
    "etag": 'W/"datetime2"',
}


def _base() -> LedgerEntry:
    return LedgerEntry(
        account_id="001Dn00000AbCdEAAV",
        status=LedgerStatus.PENDING,
        tracking_id="0" * 32,
        created_at=_EARLY,
        updated_at=_EARLY,
        payload={"accountId": "001Dn00000AbCdEAAV", "name": "Müller"},
        etag='W/"datetime1"',
    )


def test_the_table_names_every_field() -> None:
    assert set(_NEW_VALUES) == {field.name for field in dataclasses.fields(LedgerEntry)}


@pytest.mark.parametrize("name", sorted(_NEW_VALUES))
def test_evolving_one_field_gives_what_replace_gives(name: str) -> None:
    base = _base()
    evolved = base.evolve(**{name: _NEW_VALUES[name]})
    expected = dataclasses.replace(base, **{name: _NEW_VALUES[name]})  # type: ignore[arg-type]
    assert evolved == expected
    assert getattr(evolved, name) == _NEW_VALUES[name]
    assert type(evolved) is LedgerEntry
    assert base == _base()  # the original is untouched


def test_evolving_every_field_at_once_gives_what_replace_gives() -> None:
    base = _base()
    assert base.evolve(**_NEW_VALUES) == dataclasses.replace(base, **_NEW_VALUES)  # type: ignore[arg-type]


def test_evolving_nothing_gives_an_equal_copy() -> None:
    base = _base()
    copy = base.evolve()
    assert copy == base
    assert copy is not base


def test_the_copy_stays_frozen_and_hashable_as_replace_makes_it() -> None:
    evolved = _base().evolve(payload=None, review_candidates=("0000100002",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.status = LedgerStatus.FAILED  # type: ignore[misc]
    assert hash(evolved) == hash(dataclasses.replace(_base(), payload=None, review_candidates=("0000100002",)))


def test_a_field_the_entry_does_not_have_is_refused_as_replace_refuses_it() -> None:
    with pytest.raises(TypeError, match="customer_numbr"):
        _base().evolve(customer_numbr="0000100001")
    with pytest.raises(TypeError):
        dataclasses.replace(_base(), customer_numbr="0000100001")  # type: ignore[call-arg]
