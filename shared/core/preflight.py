"""What the go-live check (`python -m admin preflight`, issue 24) reports: one result per check, grouped by area.

A check is read-only against the live system unless its title says otherwise. It says what it found and,
when it fails, the fix: the setting to change, the Salesforce Setup page, the SE37/SM30 step. What it
shows is safe to show: setting names, field and function names, SAP message classes and numbers, counts;
never a secret, a token or a customer's personal data.

A check that does not apply (the push path is off, the transport is not the relay) or cannot run because
one it needs failed first (no SAP logon, so no FIND probe) is SKIPPED, saying why; the run passes only when
no check FAILED. Each area maps to its own exit code of the operations command (admin.ExitCode).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Area(StrEnum):
    """The areas in the order the command runs them (`--only AREA` runs one)."""

    SETTINGS = "settings"
    STORAGE = "storage"
    RELAY = "relay"
    SAP = "sap"
    SALESFORCE = "salesforce"
    TELEMETRY = "telemetry"


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # does not apply here, or a check it needs failed (`found` says which)


@dataclass(frozen=True)
class CheckResult:
    """One check: `check` is its stable id within the area (e.g. "find_no_match"), `title` what it checks in
    one line, `found` what it found, `fix` what to do when it failed (None when it passed)."""

    area: Area
    check: str
    title: str
    verdict: Verdict
    found: str
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAILED

    def to_json(self) -> dict[str, str | None]:
        return {
            "area": self.area.value,
            "check": self.check,
            "title": self.title,
            "verdict": self.verdict.value,
            "found": self.found,
            "fix": self.fix,
        }


def passed(area: Area, check: str, title: str, found: str) -> CheckResult:
    return CheckResult(area, check, title, Verdict.PASSED, found)


def failed(area: Area, check: str, title: str, found: str, fix: str) -> CheckResult:
    return CheckResult(area, check, title, Verdict.FAILED, found, fix)


def skipped(area: Area, check: str, title: str, why: str) -> CheckResult:
    return CheckResult(area, check, title, Verdict.SKIPPED, why)


def failed_areas(results: Iterable[CheckResult]) -> list[Area]:
    """The areas with at least one failed check, in the order the command runs them."""
    failing = {result.area for result in results if result.failed}
    return [area for area in Area if area in failing]
