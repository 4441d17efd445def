"""`python -m admin preflight`: the go-live check (issue 24), printed for a person or as JSON for a pipeline.

The areas' checks are use cases (shared/usecases/preflight/, the settings side in shared/settings/preflight*.py)
run by shared.usecases.preflight.runner, which owns the order and the "not reached" rules; this module wires
each area from the composition root (shared.bootstrap: the command picks no adapter itself), prints the
results and chooses the exit code.

Exit code: 0 when no check failed; otherwise the code of the first failed area in run order (settings 2,
storage 3, relay 6, sap 7, salesforce 4, telemetry 8: admin.ExitCode), so a script learns what to look at
first; --json lists every failed area.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from admin import ExitCode
from shared.core.preflight import Area, CheckResult, Verdict, failed_areas
from shared.usecases.preflight.runner import AreaCheck, SettingsArea, run_preflight

if TYPE_CHECKING:
    from shared.settings import Settings

# One exit code per area (admin.ExitCode's table): settings reuse USAGE, storage and Salesforce their codes.
AREA_EXIT_CODES: Mapping[Area, ExitCode] = {
    Area.SETTINGS: ExitCode.USAGE,
    Area.STORAGE: ExitCode.STORAGE_UNREACHABLE,
    Area.RELAY: ExitCode.RELAY_FAILED,
    Area.SAP: ExitCode.SAP_FAILED,
    Area.SALESFORCE: ExitCode.SALESFORCE_FAILED,
    Area.TELEMETRY: ExitCode.TELEMETRY_FAILED,
}
_MARKS = {Verdict.PASSED: "✔", Verdict.FAILED: "✗", Verdict.SKIPPED: "\u2013"}  # an en dash
_ASCII_MARKS = {Verdict.PASSED: "+", Verdict.FAILED: "x", Verdict.SKIPPED: "-"}


def areas_argument(text: str) -> list[Area]:
    """An argparse type for --only: one area or several separated by commas."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    known = ", ".join(area.value for area in Area)
    try:
        if not names:
            raise ValueError(text)
        return [Area(name) for name in names]
    except ValueError:
        message = f"'{text[:40]}' is not one of {known} (several: separated by commas)"
        raise argparse.ArgumentTypeError(message) from None


@dataclass
class Wiring:
    """What the run is made of: the settings area and one check per other area (tests hand in fakes)."""

    settings: SettingsArea[Any]
    areas: Mapping[Area, AreaCheck[Any]] = field(default_factory=dict)


def exit_code(results: Sequence[CheckResult]) -> ExitCode:
    failing = failed_areas(results)
    return AREA_EXIT_CODES[failing[0]] if failing else ExitCode.DONE


def preflight(only: Collection[Area], as_json: bool, wiring: Wiring | None = None, app_url: str | None = None) -> int:
    """Run the check and print it; the exit code. `app_url`: this app's base URL (--app-url), which no setting
    holds: the push path's outbound message is compared with it."""
    wiring = wiring if wiring is not None else default_wiring(app_url)
    results = run_preflight(wiring.settings, wiring.areas, only)
    code = exit_code(results)
    if as_json:
        print(json.dumps(report_json(results), indent=2, ensure_ascii=False))
    else:
        print(report_text(results, code, _marks(sys.stdout)))
    return code


def report_json(results: Sequence[CheckResult]) -> dict[str, object]:
    failing = failed_areas(results)
    return {
        "passed": not failing,
        "failedAreas": [area.value for area in failing],
        "checks": [result.to_json() for result in results],
    }


def report_text(results: Sequence[CheckResult], code: int, marks: Mapping[Verdict, str] = _MARKS) -> str:
    """One line per check (mark, title, what was found), the fix indented below a failed one, the areas as
    headings, and a summary line."""
    lines: list[str] = []
    area: Area | None = None
    for result in results:
        if result.area is not area:
            area = result.area
            lines.append(("\n" if lines else "") + area.value)
        lines.append(f"  {marks[result.verdict]} {result.title}: {result.found}")
        if result.failed and result.fix:
            lines.append(f"      fix: {result.fix}")
    counts = {verdict: sum(result.verdict is verdict for result in results) for verdict in Verdict}
    tally = (
        f"{len(results)} checks: {counts[Verdict.PASSED]} passed, {counts[Verdict.FAILED]} failed, "
        f"{counts[Verdict.SKIPPED]} skipped"
    )
    failing = failed_areas(results)
    verdict = (
        f"failed: {', '.join(area.value for area in failing)} (exit code {code}, the first failed area's)"
        if failing
        else "no check failed (exit code 0)"
    )
    lines.append(f"\n{tally}; {verdict}.")
    return "\n".join(lines)


def _marks(stream: Any) -> Mapping[Verdict, str]:
    # A terminal or pipe that cannot show the marks (an ASCII locale) gets plain ones instead of an error.
    try:
        "".join(_MARKS.values()).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return _ASCII_MARKS
    return _MARKS


# ----------------------------------------------------------------------------------------- the wiring


class _ParkedMessages(Protocol):
    def poison_depth(self) -> int: ...


def default_wiring(app_url: str | None = None) -> Wiring:
    """Every area from the environment's settings, through the composition root."""
    sap_parts = _SapParts()

    def salesforce(config: Settings) -> list[CheckResult]:
        from shared.bootstrap.salesforce import salesforce_preflight_parts
        from shared.usecases.preflight.salesforce import check_salesforce

        return list(check_salesforce(salesforce_preflight_parts(config, app_url=app_url)))

    return Wiring(
        settings=_settings_area,
        areas={
            Area.STORAGE: _storage,
            Area.RELAY: sap_parts.relay,
            Area.SAP: sap_parts.sap,
            Area.SALESFORCE: salesforce,
            Area.TELEMETRY: _telemetry,
        },
    )


def _settings_area() -> tuple[Settings | None, list[CheckResult]]:
    from shared import bootstrap
    from shared.settings.preflight import settings_area

    def start_check() -> Settings:
        bootstrap.reset()  # the app's start check, on this environment as it is now (not settings read earlier)
        return bootstrap.check_start_settings()

    return settings_area(start_check)


def _storage(config: Settings) -> list[CheckResult]:
    from shared.bootstrap import EntryPoint, bootstrap
    from shared.usecases.preflight.storage import check_storage

    # The operations command's clients (short timeouts); no Salesforce client, no SAP: only the two stores.
    services = bootstrap(EntryPoint.OPERATIONS, config, writeback=None)
    parked = cast(_ParkedMessages, services.retry_queue).poison_depth
    return check_storage(
        services.ledger, services.retry_queue, parked, config.ledger_table_name, config.retry.queue_name
    )


class _SapParts:
    """The relay and SAP areas share their parts (one build, one logon at most: shared/bootstrap/sap.py)."""

    def __init__(self) -> None:
        self._parts: Any = None

    def _get(self, config: Settings) -> Any:
        if self._parts is None:
            from shared.bootstrap.sap import sap_preflight_parts

            self._parts = sap_preflight_parts(config)
        return self._parts

    def relay(self, config: Settings) -> list[CheckResult]:
        from shared.usecases.preflight.relay import check_relay

        return list(check_relay(self._get(config)))

    def sap(self, config: Settings) -> list[CheckResult]:
        from shared.usecases.preflight.sap import check_sap

        return list(check_sap(self._get(config)))


def _telemetry(config: Settings) -> list[CheckResult]:
    from shared.settings.preflight_telemetry import check_telemetry

    return check_telemetry()
