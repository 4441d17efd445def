"""The go-live check's run rules as tables (shared/usecases/preflight/runner.py): settings first, relay before
SAP, every independent area runs whatever another found; and the exit code of a run (admin/preflight.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from admin import ExitCode
from admin.preflight import exit_code
from shared.core.preflight import Area, CheckResult, Verdict, failed, passed, skipped
from shared.usecases.preflight.runner import RELAY_FAILED, SETTINGS_NOT_LOADED, not_reached, run_preflight

CONFIG = object()  # the runner never looks into the settings: any object stands for loaded ones


def ok(area: Area, check: str = "probe") -> CheckResult:
    return passed(area, check, f"{area.value} {check}", "fine")


def bad(area: Area, check: str = "probe") -> CheckResult:
    return failed(area, check, f"{area.value} {check}", "broken", f"mend {area.value}")


def loaded_settings(*results: CheckResult):
    return lambda: (CONFIG, list(results) or [ok(Area.SETTINGS, "start")])


def unloadable_settings():
    return lambda: (None, [bad(Area.SETTINGS, "start")])


def areas_answering(outcomes: dict[Area, Sequence[CheckResult]], calls: list[Area] | None = None):
    def check_of(area: Area):
        def check(config: object) -> Sequence[CheckResult]:
            assert config is CONFIG
            if calls is not None:
                calls.append(area)
            return outcomes.get(area, [ok(area)])

        return check

    return {area: check_of(area) for area in Area if area is not Area.SETTINGS}


@pytest.mark.parametrize(
    ("area", "settings_loaded", "earlier", "expected"),
    [
        (Area.SETTINGS, False, [], None),
        (Area.STORAGE, False, [], SETTINGS_NOT_LOADED),
        (Area.RELAY, False, [], SETTINGS_NOT_LOADED),
        (Area.SAP, False, [], SETTINGS_NOT_LOADED),
        (Area.SALESFORCE, False, [], SETTINGS_NOT_LOADED),
        (Area.TELEMETRY, False, [], SETTINGS_NOT_LOADED),
        (Area.STORAGE, True, [bad(Area.SETTINGS, "agent_proof")], None),
        (Area.SAP, True, [ok(Area.RELAY), bad(Area.RELAY, "token")], RELAY_FAILED),
        (Area.SAP, True, [ok(Area.RELAY), skipped(Area.RELAY, "token", "t", "not relay")], None),
        (Area.SAP, True, [bad(Area.STORAGE), bad(Area.SETTINGS, "agent_proof")], None),
        (Area.SALESFORCE, True, [bad(Area.STORAGE), bad(Area.RELAY), bad(Area.SAP)], None),
        (Area.TELEMETRY, True, [bad(Area.SALESFORCE)], None),
    ],
    ids=lambda value: value.value if isinstance(value, Area) else None,
)
def test_which_area_is_reached(area, settings_loaded, earlier, expected):
    assert not_reached(area, settings_loaded, earlier) == expected


def test_settings_that_cannot_be_loaded_fail_and_every_other_area_is_not_reached():
    calls: list[Area] = []
    results = run_preflight(unloadable_settings(), areas_answering({}, calls))
    assert calls == []
    assert [(r.area, r.verdict) for r in results] == [
        (Area.SETTINGS, Verdict.FAILED),
        *((area, Verdict.SKIPPED) for area in list(Area)[1:]),
    ]
    assert all(r.found == SETTINGS_NOT_LOADED for r in results[1:])


def test_a_failed_relay_check_makes_sap_one_skipped_result_and_the_others_still_run():
    calls: list[Area] = []
    results = run_preflight(loaded_settings(), areas_answering({Area.RELAY: [ok(Area.RELAY), bad(Area.RELAY)]}, calls))
    assert calls == [Area.STORAGE, Area.RELAY, Area.SALESFORCE, Area.TELEMETRY]
    sap = [r for r in results if r.area is Area.SAP]
    assert [(r.verdict, r.found) for r in sap] == [(Verdict.SKIPPED, RELAY_FAILED)]


def test_storage_down_does_not_stop_the_salesforce_or_any_later_check():
    calls: list[Area] = []
    results = run_preflight(loaded_settings(), areas_answering({Area.STORAGE: [bad(Area.STORAGE)]}, calls))
    assert calls == [Area.STORAGE, Area.RELAY, Area.SAP, Area.SALESFORCE, Area.TELEMETRY]
    assert [r.area for r in results if r.failed] == [Area.STORAGE]


def test_results_come_in_run_order_whatever_order_the_areas_are_given_in():
    areas = dict(reversed(list(areas_answering({}).items())))
    results = run_preflight(loaded_settings(), areas)
    assert [r.area for r in results] == list(Area)


def test_only_reports_the_named_areas_and_hides_settings_that_loaded():
    calls: list[Area] = []
    results = run_preflight(
        loaded_settings(bad(Area.SETTINGS, "agent_proof")),
        areas_answering({}, calls),
        only={Area.SALESFORCE, Area.STORAGE},
    )
    assert calls == [Area.STORAGE, Area.SALESFORCE]
    assert [r.area for r in results] == [Area.STORAGE, Area.SALESFORCE]


def test_only_still_reports_settings_that_cannot_be_loaded_and_why_its_area_was_not_reached():
    results = run_preflight(unloadable_settings(), areas_answering({}), only={Area.SAP})
    assert [(r.area, r.verdict) for r in results] == [(Area.SETTINGS, Verdict.FAILED), (Area.SAP, Verdict.SKIPPED)]


def test_only_settings_runs_no_other_area():
    calls: list[Area] = []
    results = run_preflight(
        loaded_settings(ok(Area.SETTINGS, "start")), areas_answering({}, calls), only={Area.SETTINGS}
    )
    assert calls == [] and [r.area for r in results] == [Area.SETTINGS]


def test_a_check_that_raises_fails_its_own_area_only_naming_the_error():
    def broken(config: object) -> list[CheckResult]:
        raise ConnectionError("no route to host\nsecond line with more detail")

    areas = {**areas_answering({}), Area.SALESFORCE: broken}
    results = run_preflight(loaded_settings(), areas)
    [stopped] = [r for r in results if r.failed]
    assert (stopped.area, stopped.check) == (Area.SALESFORCE, "check_stopped")
    assert stopped.found == "the check stopped: ConnectionError: no route to host" and stopped.fix
    assert {r.area for r in results if r.verdict is Verdict.PASSED} >= {Area.STORAGE, Area.TELEMETRY}


def test_a_settings_area_that_raises_fails_and_nothing_else_is_reached():
    def exploding() -> tuple[object, list[CheckResult]]:
        raise RuntimeError("boom")

    results = run_preflight(exploding, areas_answering({}))
    assert results[0].area is Area.SETTINGS and results[0].failed
    assert all(r.verdict is Verdict.SKIPPED for r in results[1:])


def test_settings_that_did_not_load_without_saying_so_still_fail():
    results = run_preflight(lambda: (None, [ok(Area.SETTINGS, "start")]), areas_answering({}))
    assert Area.SETTINGS in {r.area for r in results if r.failed}


@pytest.mark.parametrize(("answer", "check"), [([], "no_results"), ([ok(Area.SAP)], "stray_results")])
def test_an_area_answering_nothing_or_for_another_area_fails_itself(answer, check):
    areas = {**areas_answering({}), Area.TELEMETRY: lambda config: answer}
    results = run_preflight(loaded_settings(), areas)
    assert [(r.area, r.check) for r in results if r.failed] == [(Area.TELEMETRY, check)]


def test_an_area_that_is_not_wired_is_skipped_not_passed():
    results = run_preflight(loaded_settings(), {})
    assert [r.verdict for r in results[1:]] == [Verdict.SKIPPED] * (len(Area) - 1)


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        ([], ExitCode.DONE),
        ([Area.SETTINGS], ExitCode.USAGE),
        ([Area.STORAGE], ExitCode.STORAGE_UNREACHABLE),
        ([Area.RELAY], ExitCode.RELAY_FAILED),
        ([Area.SAP], ExitCode.SAP_FAILED),
        ([Area.SALESFORCE], ExitCode.SALESFORCE_FAILED),
        ([Area.TELEMETRY], ExitCode.TELEMETRY_FAILED),
        ([Area.TELEMETRY, Area.SALESFORCE], ExitCode.SALESFORCE_FAILED),  # the first in run order, not in the list
        ([Area.SAP, Area.STORAGE, Area.TELEMETRY], ExitCode.STORAGE_UNREACHABLE),
        ([Area.SALESFORCE, Area.RELAY], ExitCode.RELAY_FAILED),
    ],
    ids=lambda value: "+".join(a.value for a in value) if isinstance(value, list) else None,
)
def test_the_exit_code_is_the_first_failed_area_in_run_order(failing, expected):
    results = [ok(area) for area in Area] + [bad(area) for area in failing]
    assert exit_code(results) == expected


def test_skipped_checks_alone_exit_0():
    assert exit_code([skipped(area, "x", "t", "does not apply") for area in Area]) == ExitCode.DONE


def test_every_area_has_its_own_exit_code():
    from admin.preflight import AREA_EXIT_CODES

    assert set(AREA_EXIT_CODES) == set(Area)
    assert len(set(AREA_EXIT_CODES.values())) == len(Area)
    assert ExitCode.DONE not in AREA_EXIT_CODES.values()


def test_a_stopped_checks_text_never_carries_a_urls_query():
    def leaking(config: object) -> list[CheckResult]:
        raise ValueError("POST https://app.example/api/salesforce/outbound-messages?code=fn-key-123 failed")

    [stopped] = [r for r in run_preflight(loaded_settings(), {Area.SALESFORCE: leaking}) if r.failed]
    assert "fn-key-123" not in stopped.found
    assert "https://app.example/api/salesforce/outbound-messages?…" in stopped.found
