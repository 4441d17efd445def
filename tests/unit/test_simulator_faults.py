"""SAP_SIMULATOR_FAULTS as people type it: bare yes/no faults, and one readable line for a mistake."""

from __future__ import annotations

import logging

import pytest

from sap_simulator.faults import FLAGS, FaultPlan, FaultSettingsError
from shared.log import redact


@pytest.mark.parametrize("flag", FLAGS)
def test_a_bare_yes_no_fault_switches_it_on(flag):
    assert getattr(FaultPlan.parse(flag), flag) is True
    assert getattr(FaultPlan.parse(f" {flag.upper()} , latency_ms=5"), flag) is True
    assert getattr(FaultPlan.parse(f"{flag}=false"), flag) is False


def test_the_readme_example_down_parses_with_other_faults():
    plan = FaultPlan.parse("down,latency_ms=20,communication_before=0.1")
    assert plan.down and plan.latency_ms == 20 and plan.probabilities["communication_before"] == 0.1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("latency_ms", "SAP_SIMULATOR_FAULTS: 'latency_ms' needs a value, e.g. latency_ms=20"),
        (
            "communication_before",
            "SAP_SIMULATOR_FAULTS: 'communication_before' needs a value, e.g. communication_before=0.1",
        ),
        (
            "communication_before=2",
            "SAP_SIMULATOR_FAULTS: '2' is not a valid value for communication_before: "
            "expected a probability from 0 to 1, e.g. 0.1",
        ),
        (
            "down=maybe",
            "SAP_SIMULATOR_FAULTS: 'maybe' is not a valid value for down: "
            "expected true or false (or the bare name for true)",
        ),
        (
            "fail_next_calls=-1",
            "SAP_SIMULATOR_FAULTS: '-1' is not a valid value for fail_next_calls: "
            "expected a whole number of at least 0",
        ),
    ],
)
def test_a_bad_item_is_one_line_naming_the_setting_and_what_is_expected(text, expected):
    with pytest.raises(FaultSettingsError) as raised:
        FaultPlan.parse(text)
    assert str(raised.value) == expected
    # nothing chained: a traceback of it is the one exception, not "during handling ... another"
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__


@pytest.mark.parametrize("text", ["explode", "explode=1", "downn", "latency_ms=x", "down=maybe", "seed"])
def test_the_message_survives_the_log_redaction_filter_unchanged(text, caplog):
    with pytest.raises(FaultSettingsError) as raised:
        FaultPlan.parse(text)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("SAP_SIMULATOR_FAULTS: ")
    assert redact(message) == message
    logging.getLogger("test").error("cannot start: %s", message)
    assert "***" not in caplog.text


def test_an_unknown_fault_lists_the_known_ones_and_shows_both_forms():
    with pytest.raises(FaultSettingsError) as raised:
        FaultPlan.parse("explode")
    message = str(raised.value)
    assert "unknown fault 'explode'" in message
    assert "down" in message and "communication_before" in message and "latency_ms" in message
    assert "SAP_SIMULATOR_FAULTS=down " in message
