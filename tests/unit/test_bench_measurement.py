"""A benchmark figure's verdict: a ceiling for overheads and ratios of cost, a floor for throughput."""

from __future__ import annotations

import pytest

from bench.common import Measurement, percentile


@pytest.mark.parametrize(
    ("value", "target", "at_least", "passed"),
    [
        (1.20, 1.25, False, True),
        (1.25, 1.25, False, True),  # "at most 1.25x" includes 1.25
        (1.26, 1.25, False, False),
        (0.95, 0.90, True, True),
        (0.90, 0.90, True, True),  # "at least 90%" includes 90%
        (0.89, 0.90, True, False),
        (3.00, None, False, None),  # reported, not checked
    ],
)
def test_a_figure_passes_against_its_ceiling_or_floor(value, target, at_least, passed):
    measurement = Measurement("x.y", value, "x", target, at_least=at_least)
    assert measurement.passed is passed
    assert measurement.line().startswith({True: "PASS", False: "FAIL", None: "INFO"}[passed])
    assert measurement.to_json()["comparison"] == (None if target is None else (">=" if at_least else "<="))


def test_percentiles_are_nearest_rank_never_interpolated():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)
