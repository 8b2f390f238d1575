"""The forecast's calibrated intervals scored on data they were never tuned on.

The backtest (orchestration/signals/backtest.py) runs with its frozen
defaults on the session's `validation-small` warehouse (conftest.py, the one
the anomaly validation test reads): every method at every origin, intervals
calibrated on past cut-offs only, a method chosen per scope. The chosen
methods' mean coverage must meet the target at every scope level: 75-85 %
for the 80 % interval, at least 90 % for the 95 % one.

On the full `validation` data it does (docs/signals.md: 78.6-84.4 % and
94.0-98.1 %). On this small version the lower bounds hold, and the 80 %
interval's upper bound does not at two levels, which the strict xfail
records: the total is one scope over a handful of cut-offs, and every method
covers 86-89 % of its days (86.2 % chosen); the top-5 agents, with a third
of the full data's traffic, are so noisy that the choice (the lowest error
among the methods in the band, or overall when none is) lands on wide
intervals: every method's mean over the agents is 79-85 %, the chosen ones'
88.4 %. One scope and five scopes are too few to settle a mean coverage to
within a few points; the full validation data scores it.
"""

from __future__ import annotations

import pytest

from orchestration.signals import pipeline
from orchestration.signals.io import connect, read_table

pytestmark = pytest.mark.slow

LEVELS = ("total", "workspace", "department", "agent")


@pytest.fixture(scope="module")
def validation_backtest(validation_warehouse):
    with connect(validation_warehouse.warehouse) as con:
        meta = pipeline.refresh_backtest(con)
        return meta, read_table(con, "forecast_backtest"), read_table(con, "forecast_model_choice")


def _by_level(choice):
    chosen = choice[choice["selected"].astype(bool)]
    by_level = chosen.groupby("scope_type")[["median_mape", "coverage_80", "coverage_95"]].mean()
    return chosen, by_level


def test_calibrated_intervals_are_not_too_narrow_at_any_level(validation_backtest):
    """The user's failure mode: an interval that misses more days than it says. It holds at every level."""
    _, rows, choice = validation_backtest
    chosen, by_level = _by_level(choice)
    every = choice.groupby(["scope_type", "method"])[["median_mape", "coverage_80", "coverage_95"]].mean()
    print("\nchosen methods, mean over each level's scopes (MAPE %, coverage as shares):")
    print(by_level.round(3).to_string())
    print("methods chosen:", chosen["method"].value_counts().to_dict())
    print("every method:")
    print(every.round(3).to_string())
    assert set(by_level.index) == set(LEVELS)
    sizes = chosen.groupby("scope_type").size()
    assert sizes["total"] == 1 and sizes["agent"] == 5 and sizes["workspace"] > 1 and sizes["department"] > 1
    for level in LEVELS:
        cov80, cov95 = by_level.loc[level, "coverage_80"], by_level.loc[level, "coverage_95"]
        assert cov80 >= 0.75 and cov95 >= 0.90, (level, round(cov80, 3), round(cov95, 3))
    # Every scored cut-off was calibrated on errors realised before it.
    scored = rows.dropna(subset=["coverage_80"])
    assert len(scored) and (scored["calibration_errors"] >= 40).all()


@pytest.mark.xfail(
    strict=True,
    reason="on the small data the 80 % interval over-covers the one-scope total and the five agents "
    "by 1-4 points (module docstring; the full validation data meets the target); strict, so meeting it shows up",
)
def test_calibrated_intervals_meet_the_full_coverage_target_at_every_level(validation_backtest):
    _, _, choice = validation_backtest
    _, by_level = _by_level(choice)
    for level in LEVELS:
        cov80, cov95 = by_level.loc[level, "coverage_80"], by_level.loc[level, "coverage_95"]
        assert 0.75 <= cov80 <= 0.85 and cov95 >= 0.90, (level, round(cov80, 3), round(cov95, 3))
