"""The one error vocabulary (issue 23): shared/sap/errors.py's docstring names every error root with the
caller's move (`kind`) and what a person is told (`label`), and the classes carry exactly that. The table is
read from the docstring, so it cannot drift from the classes, and a new root in one of its modules that
carries a kind of its own must be added to it."""

from __future__ import annotations

import importlib
import inspect
import re
from datetime import UTC, datetime

import pytest

from shared.sap import errors

# The caller's moves; SAP's stored kinds add `permanent` (no retry heals it) and `outcome_unknown`
# (transient, but the next attempt searches first), which the ledger keeps as they are.
MOVES = {"transient", "misconfigured", "rejected", "needs_review"}
SAP_STORED_KINDS = MOVES | {"permanent", "outcome_unknown"}

_SAP_ROW = re.compile(r"^\s{4}(Sap\w+)\s+(\w+)\s+(\w+)\s{2,}(\S.*?)\s*$")
_ROOT_ROW = re.compile(r"^\s{4}(shared\.[\w.]+)\s+(\w+)\s{2,}(\S.*?)\s*$")


def _sap_rows() -> dict[str, tuple[str, str, str]]:
    return {m[1]: (m[2], m[3], m[4]) for line in (errors.__doc__ or "").splitlines() if (m := _SAP_ROW.match(line))}


def _root_rows() -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2], m[3]) for line in (errors.__doc__ or "").splitlines() if (m := _ROOT_ROW.match(line))}


def _class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_table_names_every_sap_error_and_a_dozen_other_roots():
    assert set(_sap_rows()) == {
        name for name, value in vars(errors).items() if inspect.isclass(value) and issubclass(value, errors.SapError)
    }
    assert len(_root_rows()) >= 12


@pytest.mark.parametrize("name", sorted(_sap_rows()))
def test_each_sap_error_carries_the_kind_wire_kind_and_label_the_table_names(name):
    kind, wire_kind, label = _sap_rows()[name]
    error_class = getattr(errors, name)
    assert (error_class.kind, error_class.wire_kind, error_class.label) == (kind, wire_kind, label)
    assert kind in SAP_STORED_KINDS


@pytest.mark.parametrize("dotted", sorted(_root_rows()))
def test_each_other_error_root_carries_the_move_and_label_the_table_names(dotted):
    kind, label = _root_rows()[dotted]
    error_class = _class(dotted)
    assert issubclass(error_class, Exception)
    assert (error_class.kind, error_class.label) == (kind, label)
    assert kind in MOVES


def test_every_error_with_a_kind_of_its_own_in_the_tables_modules_is_in_the_table():
    named = set(_root_rows())
    modules = {dotted.rpartition(".")[0] for dotted in named}
    unnamed = sorted(
        f"{module}.{name}"
        for module in modules
        for name, value in vars(importlib.import_module(module)).items()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == module
        and "kind" in vars(value)
        and f"{module}.{name}" not in named
    )
    assert unnamed == [], f"add these to shared/sap/errors.py's table: {unnamed}"


def test_the_stored_kinds_labels_are_read_from_the_classes():
    from shared.core.ledger import LedgerEntry, LedgerStatus
    from shared.usecases.services import category_of_stored

    at = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)

    def stored(kind: str) -> str | None:
        return category_of_stored(
            LedgerEntry(
                account_id="001Dn00000AbCdEIAV",
                status=LedgerStatus.FAILED,
                tracking_id="t",
                created_at=at,
                updated_at=at,
                error_kind=kind,
            )
        )

    assert {kind: stored(kind) for kind, _, _ in _sap_rows().values()} == {
        "permanent": "SAP error",
        "transient": "SAP unavailable",
        "outcome_unknown": "SAP unavailable, outcome unknown",
        "misconfigured": "SAP configuration problem",
        "rejected": "SAP rejected",
        "needs_review": "held for review",
    }
