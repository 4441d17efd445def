"""The go-live check's run: which areas, in which order, and what one area's failure means for the next.

    run_preflight(settings_area, areas, only)   every area's results, in the order the command runs them
    not_reached(area, loaded, earlier)           the rule: why an area is not run (None: it runs)

The rules (issue 24):
* settings come first: every other area needs them. When they cannot be loaded, the settings area fails
  and every other area is one SKIPPED result, "not reached: settings".
* relay before SAP: SAP is reached through the relay when SAP_TRANSPORT=relay, so when a relay check
  failed, SAP is one SKIPPED result, "not reached: the relay failed" (its own checks would only repeat the
  relay's failure as SAP's).
* every other area runs whatever an earlier one found: storage being down does not stop the Salesforce
  checks, so one run shows every fault of a deployment.
* `only` names the areas to report. The settings are loaded whatever it names (the others need them); their
  checks are reported only when `only` names settings or the settings cannot be loaded (then nothing else
  could run, and the run must say why).
* a check that raises instead of answering fails its own area only, saying so (a check is code too).

Generic over the settings' type, so this module imports no settings (use cases never do: pyproject.toml):
`settings_area` hands back the loaded settings, or None, with its results, and each area is a function of
the settings to its results.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TypeVar

from shared.core.preflight import Area, CheckResult, failed, skipped

_Config = TypeVar("_Config")

NOT_REACHED = "not_reached"
# A URL's query in an unexpected error's text may carry a key (a function key's ?code=, a SAS signature): cut.
_URL_QUERY = re.compile(r"(\w+://[^\s?#]+)\?[^\s]*")
SETTINGS_NOT_LOADED = "not reached: settings (they cannot be loaded; see the settings area)"
RELAY_FAILED = "not reached: the relay failed (SAP is reached through it; see the relay area)"

# The settings area: the loaded settings (None: they cannot be loaded) and its results.
SettingsArea = Callable[[], tuple[_Config | None, Sequence[CheckResult]]]
# Any other area: its results, from the loaded settings.
AreaCheck = Callable[[_Config], Sequence[CheckResult]]


def not_reached(area: Area, settings_loaded: bool, earlier: Sequence[CheckResult]) -> str | None:
    """Why `area` is not run, given whether the settings loaded and the results of the areas run before it;
    None when it runs."""
    if area is Area.SETTINGS:
        return None
    if not settings_loaded:
        return SETTINGS_NOT_LOADED
    if area is Area.SAP and any(result.area is Area.RELAY and result.failed for result in earlier):
        return RELAY_FAILED
    return None


def run_preflight(
    settings_area: SettingsArea[_Config], areas: Mapping[Area, AreaCheck[_Config]], only: Collection[Area] = ()
) -> list[CheckResult]:
    """Run the settings area, then each area of `areas` that `only` names (all when empty) in the order of
    shared.core.preflight.Area, applying `not_reached`; returns every reported result in that order."""
    wanted = [area for area in Area if (not only or area in only)]
    config, settings_results = _settings(settings_area)
    loaded = config is not None
    results: list[CheckResult] = []
    if Area.SETTINGS in wanted or not loaded:
        results.extend(settings_results)
    for area in wanted:
        if area is Area.SETTINGS:
            continue
        why = not_reached(area, loaded, results)
        if why is not None:
            results.append(skipped(area, NOT_REACHED, f"the {area.value} checks", why))
            continue
        check = areas.get(area)
        if check is None:
            results.append(skipped(area, NOT_REACHED, f"the {area.value} checks", "no check of this area is wired"))
            continue
        assert config is not None  # loaded
        results.extend(_area_results(area, check, config))
    return results


def _settings(settings_area: SettingsArea[_Config]) -> tuple[_Config | None, list[CheckResult]]:
    try:
        config, results = settings_area()
    except Exception as error:  # a check that raises fails its area, never the run
        return None, [_stopped(Area.SETTINGS, error)]
    results = list(results)
    if config is None and not any(result.failed for result in results):
        # Fail closed: settings that did not load must say so, even if the area forgot to.
        results.append(
            failed(
                Area.SETTINGS,
                "start",
                "the settings load",
                "the settings did not load",
                "see the settings named above; docs/settings.md lists every setting",
            )
        )
    return config, results


def _area_results(area: Area, check: AreaCheck[_Config], config: _Config) -> list[CheckResult]:
    try:
        results = list(check(config))
    except Exception as error:  # one area's fault must not hide the others' results
        return [_stopped(area, error)]
    strays = [result for result in results if result.area is not area]
    if strays:
        # Each area answers for itself only: a stray result would count for another area's exit code.
        return [
            failed(
                area,
                "stray_results",
                f"the {area.value} checks",
                f"the check answered for {', '.join(sorted({r.area.value for r in strays}))} too",
                "a fault of the check itself: report it with this output",
            )
        ]
    if not results:
        return [
            failed(
                area,
                "no_results",
                f"the {area.value} checks",
                "the area answered no check",
                "a fault of the check itself: report it with this output",
            )
        ]
    return results


def _stopped(area: Area, error: Exception) -> CheckResult:
    # The error's type and its first line, short: the check's own message is written to be shown, an
    # unexpected one is cut so that no long SDK text (URLs, request ids) lands on the screen.
    first_line = _URL_QUERY.sub(r"\1?…", (str(error).strip().splitlines() or [""])[0])[:200]
    found = f"the check stopped: {type(error).__name__}" + (f": {first_line}" if first_line else "")
    return failed(
        area,
        "check_stopped",
        f"the {area.value} checks ran",
        found,
        "a fault of the check itself or of what it reached: run it again; if it stays, report it with this output",
    )
