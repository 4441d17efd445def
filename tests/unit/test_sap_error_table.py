"""shared/sap/errors.py's docstring table is the one place a reader finds each SAP error class's ledger kind,
wire kind and label; the classes carry the same values as class attributes (what the ledger, shared/sap/wire.py
and services.py's describe/category read). These tests keep the two from drifting apart."""

from __future__ import annotations

import re

import pytest

from shared.sap import errors
from shared.sap.errors import SapError
from shared.usecases.services import category, describe

_ROW = re.compile(r"^\s{4}(Sap\w+)\s{2,}(\w+)\s{2,}(\w+)\s{2,}(\S.*?)\s*$")


def _table() -> dict[str, tuple[str, str, str]]:
    rows = (_ROW.match(line) for line in (errors.__doc__ or "").splitlines())
    return {row[1]: (row[2], row[3], row[4]) for row in rows if row and row[1] in vars(errors)}


def _classes() -> set[type[SapError]]:
    found, pending = {SapError}, [SapError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__ == errors.__name__:
                found.add(sub)
                pending.append(sub)
    return found


def test_the_docstring_table_has_one_row_for_every_class_of_the_hierarchy():
    assert set(_table()) == {cls.__name__ for cls in _classes()}


@pytest.mark.parametrize("cls", sorted(_classes(), key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__)
def test_each_class_carries_the_kind_wire_kind_and_label_its_table_row_names(cls):
    assert (cls.kind, cls.wire_kind, cls.label) == _table()[cls.__name__]


def test_every_wire_kind_names_exactly_one_class_below_the_base():
    below = [cls for cls in _classes() if cls is not SapError]
    assert len({cls.wire_kind for cls in below}) == len(below)


def test_a_class_without_its_own_label_is_told_by_its_parents_through_the_mro():
    # SapNotStarted has its own wire kind but not its own label: a person reads what its family is.
    assert "label" not in vars(errors.SapNotStarted)
    error = errors.SapNotStarted("RFC_COMMUNICATION_FAILURE: partner 'sap01.corp:3300' not reached")
    assert category(error) == "SAP unavailable (RFC_COMMUNICATION_FAILURE)"
    assert describe(error) == "SAP unavailable: RFC_COMMUNICATION_FAILURE: partner '***' not reached"
