"""Rolling-origin backtest of the forecast against two baselines.

For each scope, the model is trained on the history up to a cut-off and scored
on the following `horizon_days` days (truncated at the end of the data). The
default cut-offs sit 45, 38 and 30 days before the last day, i.e. after days 45,
52 and 60 of a 90-day history, so every cut-off has at least six weeks of
training data and two to four weeks of test data. Methods: Prophet (as
configured for production), seasonal naive (same weekday last week) and a
linear-regression trend.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from orchestration.signals.forecast import (
    SCOPE_COLUMNS,
    ForecastConfig,
    linear_trend_forecast,
    forecast_scope,
    seasonal_naive_forecast,
)

METHODS = ("prophet", "seasonal_naive", "linear_trend")
BACKTEST_COLUMNS = [
    "scope_type", "scope_id", "method", "cutoff_date", "train_days", "test_days",
    "mape", "smape", "coverage_80", "coverage_95", "evaluated_at",
]


@dataclass(frozen=True)
class BacktestConfig:
    cutoff_offsets_days: tuple[int, ...] = (45, 38, 30)
    horizon_days: int = 30
    min_train_days: int = 28
    min_test_days: int = 7


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error, %, over days with non-zero actual cost."""
    mask = actual != 0
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs(actual[mask] - predicted[mask]) / np.abs(actual[mask])) * 100)


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE, %, in [0, 200]; a day where both are zero counts as 0."""
    denom = np.abs(actual) + np.abs(predicted)
    terms = np.where(denom == 0, 0.0, 2 * np.abs(actual - predicted) / np.where(denom == 0, 1, denom))
    return float(np.mean(terms) * 100) if len(terms) else float("nan")


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper))) if len(actual) else float("nan")


def cutoffs_for(n_days: int, config: BacktestConfig) -> list[int]:
    """Training lengths (in days) for a history of n_days; too-short ones are skipped."""
    lengths = sorted({n_days - off for off in config.cutoff_offsets_days})
    return [k for k in lengths if k >= config.min_train_days and n_days - k >= config.min_test_days]


def _forecast(method: str, train: pd.DataFrame, horizon: int, fc_config: ForecastConfig) -> pd.DataFrame:
    if method == "prophet":
        # The production path (outlier cleaning, level-shift handling, fallbacks).
        out, _, _ = forecast_scope(train, replace(fc_config, horizon_days=horizon))
        return out[~out["is_history"]]
    if method == "seasonal_naive":
        return seasonal_naive_forecast(train, horizon)
    if method == "linear_trend":
        return linear_trend_forecast(train, horizon)
    raise ValueError(f"unknown backtest method {method!r}; expected one of {METHODS}")


def backtest_scope(history: pd.DataFrame, config: BacktestConfig, fc_config: ForecastConfig) -> list[dict]:
    """Score every method at every cut-off on one scope's (date, cost) history."""
    history = history.sort_values("date").reset_index(drop=True)
    rows = []
    for k in cutoffs_for(len(history), config):
        train, test = history.iloc[:k], history.iloc[k : k + config.horizon_days]
        actual = test["cost"].to_numpy(dtype=float)
        for method in METHODS:
            fc = _forecast(method, train, len(test), fc_config)
            rows.append({
                "method": method,
                "cutoff_date": pd.Timestamp(train["date"].iloc[-1]).date(),
                "train_days": k,
                "test_days": len(test),
                "mape": mape(actual, fc["yhat"].to_numpy()),
                "smape": smape(actual, fc["yhat"].to_numpy()),
                "coverage_80": coverage(actual, fc["yhat_lower_80"].to_numpy(), fc["yhat_upper_80"].to_numpy()),
                "coverage_95": coverage(actual, fc["yhat_lower_95"].to_numpy(), fc["yhat_upper_95"].to_numpy()),
            })
    return rows


def run_backtest(
    series: pd.DataFrame,
    config: BacktestConfig | None = None,
    fc_config: ForecastConfig | None = None,
    scope_types: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Backtest all scopes in `series` (scope_type, scope_id, date, cost)."""
    config, fc_config = config or BacktestConfig(), fc_config or ForecastConfig()
    evaluated_at = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for (scope_type, scope_id), hist in series.groupby(SCOPE_COLUMNS, sort=True):
        if scope_types and scope_type not in scope_types:
            continue
        for row in backtest_scope(hist[["date", "cost"]], config, fc_config):
            rows.append({"scope_type": scope_type, "scope_id": scope_id, **row, "evaluated_at": evaluated_at})
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in BACKTEST_COLUMNS})
    return pd.DataFrame(rows)[BACKTEST_COLUMNS]


def median_mape(backtest: pd.DataFrame, scope_type: str = "total") -> dict[str, float]:
    """Median MAPE across cut-offs per method for one scope type (default: total)."""
    sel = backtest[backtest["scope_type"] == scope_type]
    return {m: float(v) for m, v in sel.groupby("method")["mape"].median().items()}
