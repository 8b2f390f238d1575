"""Statistical forecasting methods from statsforecast: AutoETS, AutoTheta, AutoARIMA.

These are the standard fast baselines of the forecasting literature (the
exponential-smoothing state-space family, the Theta method that won M3, and
ARIMA with automatic order selection), each with weekly seasonality
(season_length 7). Only statsforecast's model classes are used, on numpy
arrays; the DataFrame front end (`StatsForecast`) is not needed for one series
at a time.

The training history is cleaned the way the Prophet path cleans it (isolated
spikes removed, see `forecast.remove_outliers`), but these models need a gap-free
series, so a removed day takes the value of the same weekday a week earlier
(or later, in the first week).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

SEASON_LENGTH = 7
STATS_METHODS = ("auto_ets", "auto_theta", "auto_arima")
_LEVELS = {
    "yhat_lower_95": ("lo", 95),
    "yhat_lower_80": ("lo", 80),
    "yhat_upper_80": ("hi", 80),
    "yhat_upper_95": ("hi", 95),
}


def _model(method: str):
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta  # heavy import; only when forecasting

    if method == "auto_ets":
        return AutoETS(season_length=SEASON_LENGTH)
    if method == "auto_theta":
        return AutoTheta(season_length=SEASON_LENGTH)
    if method == "auto_arima":
        # Small orders keep the stepwise search to about a second on 2 cores.
        return AutoARIMA(season_length=SEASON_LENGTH, max_p=2, max_q=2, max_P=1, max_Q=1, approximation=True)
    raise ValueError(f"unknown statsforecast method {method!r}; expected one of {STATS_METHODS}")


def fill_removed_days(y: pd.Series) -> np.ndarray:
    """Replace NaN (days left out as outliers) by the same weekday one week away."""
    values = y.to_numpy(dtype=float).copy()
    n = len(values)
    for i in np.flatnonzero(np.isnan(values)):
        for j in (i - 7, i + 7, i - 14, i + 14):
            if 0 <= j < n and not np.isnan(values[j]):
                values[i] = values[j]
                break
    if np.isnan(values).any():  # no same-weekday neighbour at all: the series' median
        values[np.isnan(values)] = np.nanmedian(values) if (~np.isnan(values)).any() else 0.0
    return values


def statsforecast_forecast(history: pd.DataFrame, horizon: int, method: str, cleaned: pd.Series) -> pd.DataFrame:
    """Fit one statsforecast model on a cleaned history and forecast `horizon` days.

    `cleaned` is the cost series with outliers set to NaN. Returns date, yhat,
    the model's own 80 % and 95 % intervals (clipped at zero) and is_history.
    """
    y = fill_removed_days(cleaned)
    with warnings.catch_warnings():
        # AutoARIMA's order search warns for every candidate whose optimiser stops early; the
        # candidate is then simply not chosen, so the warning says nothing about the forecast.
        warnings.filterwarnings("ignore", message="possible convergence problem", category=UserWarning)
        result = _model(method).forecast(y=y, h=horizon, level=[80, 95])
    last = pd.to_datetime(history["date"]).max()
    out = pd.DataFrame(
        {
            "date": pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D"),
            "yhat": np.asarray(result["mean"], dtype=float),
            "is_history": False,
        }
    )
    for col, (side, level) in _LEVELS.items():
        out[col] = np.asarray(result[f"{side}-{level}"], dtype=float)
    cols = ["yhat", *_LEVELS]
    out[cols] = out[cols].clip(lower=0.0).fillna(0.0)
    return out
