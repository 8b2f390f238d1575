import numpy as np
import pandas as pd

from orchestration.signals.backtest import BacktestConfig, coverage, cutoffs_for, mape, median_mape, run_backtest, smape
from orchestration.signals.forecast import (
    ForecastConfig,
    build_forecasts,
    fill_calendar,
    linear_trend_forecast,
    remove_outliers,
    scope_series,
    seasonal_naive_forecast,
)
from signals_series import agent_days, weekly_series


def _scoped(frame: pd.DataFrame, scope_id: str = "total", scope_type: str = "total") -> pd.DataFrame:
    return frame.assign(scope_type=scope_type, scope_id=scope_id)


def test_metrics_known_values():
    a, p = np.array([100.0, 200.0, 0.0]), np.array([110.0, 180.0, 0.0])
    assert mape(a, p) == 10.0  # zero actual excluded: mean(10%, 10%)
    assert round(smape(a, p), 4) == round((2 * 10 / 210 + 2 * 20 / 380 + 0) / 3 * 100, 4)
    assert coverage(a, p - 15, p + 15) == 2 / 3


def test_seasonal_naive_repeats_last_week():
    hist = weekly_series(days=21, noise=0.0)
    fc = seasonal_naive_forecast(hist, 10)
    last_week = hist["cost"].to_numpy()[-7:]
    assert np.allclose(fc["yhat"].to_numpy(), np.concatenate([last_week, last_week[:3]]))
    assert (fc["yhat_lower_95"] <= fc["yhat_lower_80"]).all() and (fc["yhat_upper_80"] <= fc["yhat_upper_95"]).all()


def test_linear_trend_recovers_slope():
    hist = pd.DataFrame({"date": pd.date_range("2026-01-01", periods=30), "cost": 10 + 2.0 * np.arange(30)})
    fc = linear_trend_forecast(hist, 3)
    assert np.allclose(fc["yhat"].to_numpy(), [70.0, 72.0, 74.0])


def test_outlier_removal_blanks_spike_only():
    hist = weekly_series(days=56, noise=0.03)
    y = hist["cost"].copy()
    y.iloc[30] *= 6
    cleaned = remove_outliers(y, 5.0)
    assert np.isnan(cleaned.iloc[30])
    assert cleaned.drop(index=30).notna().all()


def test_fill_calendar_fills_gaps_with_zero_from_first_spend():
    long = pd.DataFrame({
        "scope_type": "agent", "scope_id": "a",
        "date": pd.to_datetime(["2026-01-03", "2026-01-05"]), "cost": [1.0, 2.0],
    })
    other = pd.DataFrame({"scope_type": "agent", "scope_id": "b", "date": pd.to_datetime(["2026-01-07"]), "cost": [3.0]})
    out = fill_calendar(pd.concat([long, other]))
    a = out[out["scope_id"] == "a"]
    assert a["date"].dt.day.tolist() == [3, 4, 5, 6, 7]
    assert a["cost"].tolist() == [1.0, 0.0, 2.0, 0.0, 0.0]


def test_scope_series_has_all_scope_types_and_top_n():
    ad = agent_days(n_agents=4, days=20)
    series = scope_series(ad, top_n_agents=2)
    counts = series.groupby("scope_type")["scope_id"].nunique().to_dict()
    assert counts == {"agent": 2, "department": 1, "total": 1, "workspace": 2}
    total = series[series["scope_type"] == "total"]["cost"].sum()
    assert np.isclose(total, ad["cost"].sum())


def test_prophet_forecast_tracks_weekly_pattern_and_intervals_nest():
    hist = _scoped(weekly_series(days=70, noise=0.03))
    out = build_forecasts(hist, ForecastConfig(uncertainty_samples=300))
    future = out[~out["is_history"]]
    assert len(future) == 30 and (future["method"] == "prophet").all()
    assert (future["yhat_lower_95"] <= future["yhat_lower_80"] + 1e-9).all()
    assert (future["yhat_lower_80"] <= future["yhat"] + 1e-9).all()
    assert (future["yhat"] <= future["yhat_upper_80"] + 1e-9).all()
    assert (future["yhat_upper_80"] <= future["yhat_upper_95"] + 1e-9).all()
    dow = pd.to_datetime(future["date"]).dt.day_of_week
    weekend, weekday = future[dow >= 5]["yhat"].mean(), future[dow < 5]["yhat"].mean()
    assert 0.3 < weekend / weekday < 0.6  # the 0.45 weekend factor is learned
    hist_rows = out[out["is_history"]]
    assert len(hist_rows) == 70 and hist_rows["actual_cost"].notna().all()


def test_short_history_gives_no_forecast_with_reason():
    hist = _scoped(weekly_series(days=10))
    out = build_forecasts(hist)
    assert (out["method"] == "none").all()
    assert (out["is_history"]).all() and len(out) == 10
    assert "shorter than the 14 days required" in out["fallback_reason"].iloc[0]


def test_zero_recent_spend_forecasts_zero():
    frame = weekly_series(days=40)
    frame.loc[frame.index[-20:], "cost"] = 0.0
    out = build_forecasts(_scoped(frame))
    future = out[~out["is_history"]]
    assert (future["method"] == "seasonal_naive").all()
    assert (future["yhat"] == 0).all()
    assert future["fallback_reason"].iloc[0] == "no spend in the last 14 days"


def test_step_change_is_followed():
    frame = weekly_series(days=84, growth_per_day=0.0, noise=0.03)
    frame.loc[frame.index[42:], "cost"] *= 2.0  # permanent doubling at day 42
    out = build_forecasts(_scoped(frame), ForecastConfig(uncertainty_samples=200))
    future = out[~out["is_history"]]
    recent_level = frame["cost"].iloc[-28:].mean()
    assert abs(future["yhat"].iloc[:28].mean() / recent_level - 1) < 0.15


def test_backtest_cutoffs_and_prophet_beats_baselines_on_weekly_growth():
    assert cutoffs_for(90, BacktestConfig()) == [45, 52, 60]
    assert cutoffs_for(40, BacktestConfig()) == []
    series = _scoped(weekly_series(days=90, noise=0.05, seed=11))
    bt = run_backtest(series, fc_config=ForecastConfig(uncertainty_samples=200))
    assert len(bt) == 9 and set(bt["method"]) == {"prophet", "seasonal_naive", "linear_trend"}
    assert set(bt["test_days"]) == {30}
    med = median_mape(bt)
    assert med["prophet"] < med["seasonal_naive"] and med["prophet"] < med["linear_trend"]


def test_sparse_history_gives_no_forecast_with_reason():
    frame = weekly_series(days=60)
    frame.loc[frame.index % 6 != 0, "cost"] = 0.0  # spend on 10 of 60 days
    out = build_forecasts(_scoped(frame))
    assert (out["method"] == "none").all() and len(out) == 60
    assert out["fallback_reason"].iloc[0] == "only 10 day(s) with spend; at least 14 are required"


def test_calls_without_any_spend_still_give_the_total_a_reason():
    """Only unpriced (or failed, or free) calls: no scope has spend, yet the total says why there is no forecast."""
    days = pd.date_range("2026-09-14", periods=3, freq="D")
    ad = pd.DataFrame({"date": days, "workspace_id": "ws", "department": "d", "agent_id": "a", "cost": 0.0})
    series = scope_series(ad)
    assert set(series["scope_type"]) == {"total"} and len(series) == 3
    fc = build_forecasts(series)
    assert set(fc["method"]) == {"none"} and fc["is_history"].all()
    assert fc["fallback_reason"].iloc[0].startswith("no spend in the 3 day(s) of data yet")
