"""The change path's settings (issue 26), read beside loading.py (declared in declarations.py):

SAP_CHANGE_CONFLICT       salesforce_wins (default) | review: what a change does with a value someone
                          changed in SAP since our last change (shared.core.change_rules)
SALESFORCE_OWNED_FIELDS   the business names of the fields Salesforce owns (shared.core.ownership), comma-
                          separated; narrows the declared list, never widens it
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.core.change_rules import ConflictRule
from shared.core.ownership import UnknownOwnedField, owned_fields
from shared.settings.parsers import _choice, _text
from shared.settings_error import SettingsError


@dataclass(frozen=True)
class ChangeSettings:
    conflict_rule: ConflictRule = ConflictRule.SALESFORCE_WINS
    owned_fields: tuple[str, ...] | None = None  # None: the declared list (shared.core.ownership.OWNED_FIELDS)


def load_change_settings(env: Mapping[str, str]) -> ChangeSettings:
    rule = _choice(env, "SAP_CHANGE_CONFLICT", ConflictRule, ConflictRule.SALESFORCE_WINS)
    raw = _text(env, "SALESFORCE_OWNED_FIELDS")
    names: tuple[str, ...] | None = None
    if raw is not None:
        names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
        if not names:
            raise SettingsError("SALESFORCE_OWNED_FIELDS: no field named; leave it unset for the declared list")
        try:
            owned_fields(names)
        except UnknownOwnedField as error:
            raise SettingsError(f"SALESFORCE_OWNED_FIELDS: {error}") from None
    return ChangeSettings(rule or ConflictRule.SALESFORCE_WINS, names)
