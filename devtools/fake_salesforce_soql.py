"""What the fake org's Setup and Tooling answers share (fake_salesforce_setup.py, fake_salesforce_flows.py): record
Ids of 18 characters, and a query's fields and conditions under the names the object's columns spell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.core.salesforce_id import checksum_suffix

Condition = tuple[str, str, Any]  # (field, operator, value), as the fake's SOQL parser reads a WHERE clause


def id18(id15: str) -> str:
    """The 18-character form of a 15-character record Id (its case-safe checksum appended)."""
    return id15 + checksum_suffix(id15)


def canonical(name: str, columns: Sequence[str]) -> str:
    """Field names are case-insensitive in SOQL; KeyError for one the object lacks."""
    wanted = name.strip().lower()
    for column in columns:
        if column.lower() == wanted:
            return column
    raise KeyError(name.strip())


def selection(
    fields: Sequence[str], conditions: Sequence[Condition], columns: Sequence[str]
) -> tuple[list[str], list[Condition]]:
    """The selected fields and the conditions with each field named as `columns` spell it; KeyError: a field the
    object lacks."""
    selected = [canonical(name, columns) for name in fields]
    where = [(canonical(name, columns), operator, value) for name, operator, value in conditions]
    return selected, where
