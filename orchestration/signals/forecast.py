"""30-day daily cost forecasts per scope (total, workspace, department, top agents).

Each scope is forecast with the method its backtest chose (orchestration/
signals/backtest.py: Prophet, the statsforecast methods of baselines.py, or a
plain baseline), with intervals calibrated on that method's realised errors;
a scope without a backtest gets Prophet with Prophet's own intervals.

Prophet's set-up: Prophet 1.5 with linear growth and multiplicative weekly seasonality
(weekend traffic is a share of weekday traffic, so the weekly swing grows with
the trend); no yearly or daily terms because the input is daily and spans months,
not years. Both the 80 % and the 95 % intervals come from ONE fit: Prophet's
intervals are quantiles of simulated future paths (`predictive_samples`), so we
draw the paths once and read four quantiles from them instead of fitting twice
with different `interval_width` values (half the fitting work, and the two
intervals are nested by construction).

The trend is damped beyond the last day (phi = 0.9 per day, see
`damping_factor`): three months of history cannot tell a lasting trend from a
few weeks of growth, and an undamped straight line over 30 days overshoots
whenever growth slows.

Before fitting, isolated outliers (e.g. a runaway loop's spike) are removed from
the training history as Prophet's documentation recommends: a point is dropped
when it deviates from the median of the same weekday in the surrounding weeks by
more than `outlier_mad_threshold` robust standard deviations (log scale; 3.5 is
the usual cut-off for the modified z-score of Iglewicz and Hoaglin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

SCOPE_COLUMNS = ["scope_type", "scope_id"]
FORECAST_COLUMNS = [
    "scope_type",
    "scope_id",
    "date",
    "is_history",
    "actual_cost",
    "yhat",
    "yhat_lower_80",
    "yhat_upper_80",
    "yhat_lower_95",
    "yhat_upper_95",
    "method",
    "fallback_reason",
    "selection_reason",
    "model_version",
    "trained_at",
]


@dataclass(frozen=True)
class ForecastConfig:
    """Forecast parameters (documented in docs/signals.md)."""

    horizon_days: int = 30
    min_history_days: int = 14
    top_n_agents: int = 5
    changepoint_prior_scale: float = 0.05
    changepoint_range: float = 0.8
    seasonality_prior_scale: float = 10.0
    seasonality_mode: str = "multiplicative"
    uncertainty_samples: int = 1000
    outlier_mad_threshold: float = 3.5
    trend_damping: float | None = 0.9
    seed: int = 7
    quantiles: dict[str, float] = field(
        default_factory=lambda: {
            "yhat_lower_95": 0.025,
            "yhat_lower_80": 0.10,
            "yhat_upper_80": 0.90,
            "yhat_upper_95": 0.975,
        }
    )

    @property
    def model_version(self) -> str:
        return (
            f"prophet-1.5/{self.seasonality_mode}-weekly/cps{self.changepoint_prior_scale}"
            f"/sps{self.seasonality_prior_scale}/clean{self.outlier_mad_threshold}/damp{self.trend_damping}"
        )


def quiet_prophet_logs() -> None:
    """Prophet and cmdstanpy log every fit at INFO; keep only real problems."""
    for name in ("prophet", "cmdstanpy"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        # cmdstanpy installs its own INFO console handler unless the logger
        # already has one; a NullHandler keeps it from doing so.
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
    # Prophet reports at import that plotly (an optional plotting extra) is missing.
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)


# ---------------------------------------------------------------- series


def scope_series(agent_days: pd.DataFrame, top_n_agents: int = 5) -> pd.DataFrame:
    """Daily cost per scope: total, each workspace, each department, top-N agents.

    Each scope's series runs from its first day with spend to the last day of
    the data, with missing days filled with zero cost (a day without calls
    costs nothing; leaving it out would bias the model upwards). With calls
    but no spend at all, the total's series is zeros from the first day.
    """
    if agent_days.empty:
        return pd.DataFrame(columns=SCOPE_COLUMNS + ["date", "cost"])
    frames = [agent_days.groupby("date", as_index=False)["cost"].sum().assign(scope_type="total", scope_id="total")]
    for scope_type, col in (("workspace", "workspace_id"), ("department", "department")):
        g = agent_days.groupby([col, "date"], as_index=False)["cost"].sum().rename(columns={col: "scope_id"})
        frames.append(g.assign(scope_type=scope_type))
    top = agent_days.groupby("agent_id")["cost"].sum().sort_values(ascending=False).head(top_n_agents).index
    g = agent_days[agent_days["agent_id"].isin(top)].groupby(["agent_id", "date"], as_index=False)["cost"].sum()
    frames.append(g.rename(columns={"agent_id": "scope_id"}).assign(scope_type="agent"))
    long = pd.concat(frames, ignore_index=True)[SCOPE_COLUMNS + ["date", "cost"]]
    out = fill_calendar(long)
    if not (out["scope_type"] == "total").any():
        # Calls but no spend yet (every call unpriced, failed or free): the total
        # still has a history of zeros, so its forecast row can say why there is none.
        days = pd.date_range(
            pd.to_datetime(agent_days["date"]).min(), pd.to_datetime(agent_days["date"]).max(), freq="D"
        )
        total = pd.DataFrame({"scope_type": "total", "scope_id": "total", "date": days, "cost": 0.0})
        out = pd.concat([total, out], ignore_index=True)
    return out


def fill_calendar(long: pd.DataFrame) -> pd.DataFrame:
    """Complete each scope's calendar from its first spend to the global last day."""
    long = long.copy()
    long["date"] = pd.to_datetime(long["date"])
    end = long["date"].max()
    active = long[long["cost"] > 0].groupby(SCOPE_COLUMNS)["date"].min().rename("first").reset_index()
    pieces = []
    for row in active.itertuples(index=False):  # one iteration per scope, not per row
        dates = pd.date_range(row.first, end, freq="D")
        pieces.append(pd.DataFrame({"scope_type": row.scope_type, "scope_id": row.scope_id, "date": dates}))
    if not pieces:
        return long.iloc[0:0]
    grid = pd.concat(pieces, ignore_index=True)
    out = grid.merge(long, on=SCOPE_COLUMNS + ["date"], how="left")
    out["cost"] = out["cost"].fillna(0.0)
    return out.sort_values(SCOPE_COLUMNS + ["date"]).reset_index(drop=True)


def remove_outliers(y: pd.Series, threshold: float) -> pd.Series:
    """Blank out isolated spikes/dips relative to the same weekday nearby (log scale).

    The reference for each day is the median of the same weekday one and two
    weeks before and after (up to 4 points), which respects weekly seasonality
    and a slow trend. Returns a copy with outliers set to NaN.
    """
    if threshold <= 0 or len(y) < 21:
        return y.copy()
    ly = np.log1p(y.to_numpy(dtype=float))
    neighbours = np.vstack([np.roll(ly, k) for k in (-14, -7, 7, 14)]).astype(float)
    n = len(ly)
    idx = np.arange(n)
    for row, k in zip(neighbours, (-14, -7, 7, 14)):
        row[(idx - k < 0) | (idx - k >= n)] = np.nan
    ref = np.nanmedian(neighbours, axis=0)
    resid = ly - ref
    mad = np.nanmedian(np.abs(resid - np.nanmedian(resid)))
    sigma = max(1.4826 * mad, 0.05)
    out = y.astype(float).copy()
    out[np.abs(resid) > threshold * sigma] = np.nan
    return out


def detect_level_shift(
    y: pd.Series, min_segment_days: int = 7, min_shift: float = 0.3, min_t: float = 8.0
) -> int | None:
    """Index of the first day of a lasting level shift, or None.

    Prophet extrapolates a step as if it were steep growth, so a forecast is
    trained only on the days after a step. A step is told apart from ordinary
    growth by fitting, for each candidate day k, log cost = a + b*t + c*[t >= k]
    (weekday effects removed first) and keeping the k with the best fit; it
    counts when the jump c is at least `min_shift` (log scale, ~35 %) and
    `min_t` standard errors. Spikes were already blanked by `remove_outliers`.
    """
    values = y.to_numpy(dtype=float)
    n = len(values)
    if n < 2 * min_segment_days + 7:
        return None
    ok = ~np.isnan(values)
    pos = values[ok & (values > 0)]
    if len(pos) < n // 2:
        return None
    ly = np.log(values + 0.01 * np.median(pos))
    dow = np.arange(n) % 7
    weekday_effect = np.array([np.nanmedian(ly[(dow == d) & ok]) for d in range(7)])
    ly = ly - weekday_effect[dow]
    t = np.arange(n, dtype=float)
    best: tuple[float, int, float, float] | None = None
    for k in range(min_segment_days, n - min_segment_days + 1):  # ~n small least-squares fits
        design = np.column_stack([np.ones(n), t, (t >= k).astype(float)])[ok]
        target = ly[ok]
        coef, res, *_ = np.linalg.lstsq(design, target, rcond=None)
        rss = float(res[0]) if len(res) else float(np.sum((target - design @ coef) ** 2))
        if best is None or rss < best[0]:
            dof = max(len(target) - 3, 1)
            cov = np.linalg.pinv(design.T @ design) * (rss / dof)
            best = (rss, k, float(coef[2]), float(np.sqrt(max(cov[2, 2], 1e-12))))
    if best is None:
        return None
    _, k, jump, se = best
    return k if abs(jump) >= min_shift and abs(jump) / se >= min_t else None


# ---------------------------------------------------------------- models


def damping_factor(trend_hist: np.ndarray, trend_future: np.ndarray, phi: float) -> np.ndarray:
    """Ratio that turns Prophet's linear trend extrapolation into a damped one.

    The damped trend (Gardner & McKenzie) adds phi + phi^2 + ... + phi^h times
    the last daily slope instead of h times it, so the trend levels off after
    a few half-lives; damped trends are the robust choice at month-long
    horizons in the forecasting competitions. With multiplicative seasonality
    yhat is proportional to the trend, so scaling by damped/linear is exact.
    """
    if len(trend_hist) < 2 or len(trend_future) == 0:
        return np.ones(len(trend_future))
    last = trend_hist[-1]
    h = np.arange(1, len(trend_future) + 1, dtype=float)
    slope = (trend_future - last) / h  # Prophet's slope beyond the history is constant
    damped = last + slope * phi * (1 - phi**h) / (1 - phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(trend_future) > 1e-12, damped / trend_future, 1.0)
    return np.clip(np.nan_to_num(ratio, nan=1.0), 0.0, None)


def prophet_forecast(
    history: pd.DataFrame, horizon: int, config: ForecastConfig, future_dates: pd.DatetimeIndex | None = None
) -> pd.DataFrame:
    """Fit Prophet on `history` (date, cost) and forecast `horizon` days after it.

    Returns date, yhat and the four interval bounds, clipped at zero (cost
    cannot be negative). Also returns in-sample fitted values for the history
    dates, flagged by is_history.
    """
    quiet_prophet_logs()
    from prophet import Prophet  # heavy import (Stan); only when forecasting

    quiet_prophet_logs()  # again: importing prophet resets its logger to INFO
    train = pd.DataFrame({"ds": pd.to_datetime(history["date"]).to_numpy(), "y": history["cost"].to_numpy(dtype=float)})
    train["y"] = remove_outliers(train["y"], config.outlier_mad_threshold).to_numpy()

    model = Prophet(
        growth="linear",
        yearly_seasonality=False,
        weekly_seasonality=True,
        daily_seasonality=False,
        seasonality_mode=config.seasonality_mode,
        changepoint_prior_scale=config.changepoint_prior_scale,
        changepoint_range=config.changepoint_range,
        seasonality_prior_scale=config.seasonality_prior_scale,
        interval_width=0.8,
        uncertainty_samples=config.uncertainty_samples,
    )
    model.fit(train)
    if future_dates is None:
        future_dates = pd.date_range(train["ds"].max() + pd.Timedelta(days=1), periods=horizon, freq="D")
    future = pd.DataFrame({"ds": future_dates})
    np.random.seed(config.seed)  # Prophet samples with numpy's global generator
    if config.uncertainty_samples > 0:
        samples = model.predictive_samples(future)["yhat"]
    model.uncertainty_samples = 0  # point predictions only below; intervals come from `samples`
    pred_future = model.predict(future)
    if config.uncertainty_samples <= 0:  # intervals calibrated elsewhere: the point forecast only
        samples = pred_future["yhat"].to_numpy()[:, None]
    point_future = pred_future["yhat"].to_numpy()
    pred_hist = model.predict(train[["ds"]])
    point_hist = pred_hist["yhat"].to_numpy()
    if config.trend_damping is not None:
        factor = damping_factor(pred_hist["trend"].to_numpy(), pred_future["trend"].to_numpy(), config.trend_damping)
        point_future = point_future * factor
        samples = samples * factor[:, None]
    out = pd.DataFrame({"date": future_dates, "yhat": point_future, "is_history": False})
    for col, q in config.quantiles.items():
        out[col] = np.quantile(samples, q, axis=1)
    hist = pd.DataFrame({"date": train["ds"], "yhat": point_hist, "is_history": True})
    value_cols = ["yhat", *config.quantiles]

    out[value_cols] = out[value_cols].clip(lower=0.0)
    hist["yhat"] = hist["yhat"].clip(lower=0.0)
    return pd.concat([hist, out], ignore_index=True)


def seasonal_naive_forecast(history: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Same weekday last week, repeated; intervals widen with sqrt(weeks ahead).

    Interval quantiles are empirical quantiles of the in-sample week-on-week
    differences, which is the textbook interval for this baseline.
    """
    y = history["cost"].to_numpy(dtype=float)
    last = pd.to_datetime(history["date"]).max()
    dates = pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D")
    if len(y) < 7:
        season = np.full(7, y.mean() if len(y) else 0.0)
    else:
        season = y[-7:]
    yhat = season[np.arange(horizon) % 7]
    diffs = y[7:] - y[:-7] if len(y) > 7 else np.zeros(1)
    weeks_ahead = np.sqrt(np.arange(horizon) // 7 + 1)
    out = pd.DataFrame({"date": dates, "yhat": yhat, "is_history": False})
    for col, q in ForecastConfig().quantiles.items():
        out[col] = yhat + np.quantile(diffs, q) * weeks_ahead
    cols = ["yhat", *ForecastConfig().quantiles]
    out[cols] = out[cols].clip(lower=0.0)
    return out


def linear_trend_forecast(history: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Ordinary least squares on day number; normal intervals from residual spread.

    Hand-written with numpy's lstsq because the model is two parameters and
    pulling in a regression library for it would add a dependency for nothing.
    """
    from scipy.stats import norm

    y = history["cost"].to_numpy(dtype=float)
    t = np.arange(len(y), dtype=float)
    design = np.column_stack([np.ones_like(t), t])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma = resid.std(ddof=2) if len(y) > 2 else 0.0
    tf = np.arange(len(y), len(y) + horizon, dtype=float)
    yhat = coef[0] + coef[1] * tf
    last = pd.to_datetime(history["date"]).max()
    out = pd.DataFrame(
        {
            "date": pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D"),
            "yhat": yhat,
            "is_history": False,
        }
    )
    for col, q in ForecastConfig().quantiles.items():
        out[col] = yhat + norm.ppf(q) * sigma
    cols = ["yhat", *ForecastConfig().quantiles]
    out[cols] = out[cols].clip(lower=0.0)
    return out


# ---------------------------------------------------------------- per scope


def forecast_scope(
    history: pd.DataFrame, config: ForecastConfig, method: str = "prophet"
) -> tuple[pd.DataFrame, str, str | None]:
    """Forecast one scope with `method`; returns (rows, method used, fallback_reason).

    `method` is `prophet` (the default), one of the statsforecast methods
    (`auto_ets`, `auto_theta`, `auto_arima`: same cleaning and level-shift
    handling as Prophet) or a plain baseline (`seasonal_naive`,
    `linear_trend`: the textbook method on the raw history).

    Rules: fewer than `min_history_days` days since the first spend, or
    fewer days with any spend (sparse) -> no forecast (rows are the history
    only, with the reason); no spend in the last
    `min_history_days` days -> seasonal naive (a flat zero forecast, which is
    what Prophet's trend would only approximate badly); a lasting level shift
    -> Prophet on the days since the shift, or seasonal naive when fewer than
    `min_history_days` remain; Prophet failure -> seasonal naive with the error
    as reason. The reason column also notes a shortened training window.
    """
    history = history.sort_values("date")
    n_days = len(history)
    if n_days and float(history["cost"].sum()) == 0.0:
        reason = f"no spend in the {n_days} day(s) of data yet (every call is unpriced, failed or free)"
        return history.iloc[0:0].assign(is_history=False), "none", reason
    if n_days < config.min_history_days:
        reason = f"history of {n_days} day(s) is shorter than the {config.min_history_days} days required"
        return history.iloc[0:0].assign(is_history=False), "none", reason
    spend_days = int((history["cost"] > 0).sum())
    if spend_days < config.min_history_days:
        reason = f"only {spend_days} day(s) with spend; at least {config.min_history_days} are required"
        return history.iloc[0:0].assign(is_history=False), "none", reason
    recent = history["cost"].to_numpy()[-config.min_history_days :]
    if float(np.sum(recent)) == 0.0:
        reason = f"no spend in the last {config.min_history_days} days"
        return seasonal_naive_forecast(history, config.horizon_days), "seasonal_naive", reason
    if method == "seasonal_naive":
        return seasonal_naive_forecast(history, config.horizon_days), "seasonal_naive", None
    if method == "linear_trend":
        return linear_trend_forecast(history, config.horizon_days), "linear_trend", None
    reason = None
    shift = detect_level_shift(remove_outliers(history["cost"].reset_index(drop=True), config.outlier_mad_threshold))
    if shift is not None:
        since = pd.Timestamp(history["date"].iloc[shift]).date()
        days_since = n_days - shift
        if days_since < config.min_history_days:
            reason = f"level shift on {since}: only {days_since} day(s) since, fewer than {config.min_history_days}"
            return seasonal_naive_forecast(history, config.horizon_days), "seasonal_naive", reason
        history = history.iloc[shift:]
        reason = f"level shift on {since}: trained on the {days_since} days since"
    try:
        if method == "prophet":
            return prophet_forecast(history, config.horizon_days, config), "prophet", reason
        from orchestration.signals.baselines import statsforecast_forecast

        cleaned = remove_outliers(history["cost"].reset_index(drop=True), config.outlier_mad_threshold)
        return statsforecast_forecast(history, config.horizon_days, method, cleaned), method, reason
    except Exception as exc:  # Stan or a state-space optimiser can fail on degenerate series
        reason = f"{method} failed: {type(exc).__name__}: {exc}"[:300]
        return seasonal_naive_forecast(history, config.horizon_days), "seasonal_naive", reason


def method_version(method: str, config: ForecastConfig) -> str:
    """Settings string of a method, for the model_version column."""
    if method == "prophet":
        return config.model_version
    if method in ("auto_ets", "auto_theta", "auto_arima"):
        return f"statsforecast-2.1.1/{method}/season7/clean{config.outlier_mad_threshold}"
    return method


def build_forecasts(
    series: pd.DataFrame,
    config: ForecastConfig | None = None,
    trained_at: datetime | None = None,
    choice: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecast every scope in `series` (scope_type, scope_id, date, cost).

    `choice` is the backtest's `signals.forecast_model_choice`: a scope with a
    selected method is forecast with it and gets intervals calibrated on that
    method's realised backtest errors; any other scope gets Prophet (the
    default) with Prophet's own intervals. Output has the
    `signals.cost_forecast` columns: history rows carry the actual cost (and
    the in-sample fit where the method has one), future rows the forecast.
    """
    from orchestration.signals.backtest import calibrated_bounds  # backtest imports this module

    config = config or ForecastConfig()
    trained_at = trained_at or datetime.now(UTC).replace(tzinfo=None)
    chosen = {}
    if choice is not None and len(choice):
        for row in choice[choice["selected"].astype(bool)].itertuples(index=False):
            chosen[(row.scope_type, row.scope_id)] = row
    parts = []
    for (scope_type, scope_id), hist in series.groupby(SCOPE_COLUMNS, sort=True):
        hist = hist[["date", "cost"]].sort_values("date").reset_index(drop=True)
        pick = chosen.get((scope_type, scope_id))
        calibrate = pick is not None and not np.isnan(pick.q_lower_80) and not np.isnan(pick.q_upper_95)
        if calibrate:
            requested, selection = pick.method, f"chosen by backtest: {pick.reason}"
            rows, method, reason = forecast_scope(hist, replace(config, uncertainty_samples=0), requested)
        else:
            requested = "prophet"
            selection = "the default (Prophet, its own intervals): " + (
                pick.reason if pick is not None else "no backtest for this scope (history too short)"
            )
            rows, method, reason = forecast_scope(hist, config)
        future_mask = ~rows["is_history"] if len(rows) else pd.Series(dtype=bool)
        if calibrate and method == requested and future_mask.any():
            future = rows[future_mask].copy()
            h = np.arange(1, len(future) + 1)
            yhat = future["yhat"].to_numpy(dtype=float)
            for level in ("80", "95"):
                q = (getattr(pick, f"q_lower_{level}"), getattr(pick, f"q_upper_{level}"))
                future[f"yhat_lower_{level}"], future[f"yhat_upper_{level}"] = calibrated_bounds(
                    yhat, h, q, pick.error_offset
                )
            rows = pd.concat([rows[~future_mask], future], ignore_index=True)
            version = method_version(method, config) + "/conformal"
        else:
            version = method_version(method, config)
        actual = hist.rename(columns={"cost": "actual_cost"})
        actual["is_history"] = True
        fitted = rows[rows["is_history"]][["date", "yhat"]] if len(rows) else pd.DataFrame(columns=["date", "yhat"])
        actual = actual.merge(fitted, on="date", how="left")
        future = rows[~rows["is_history"]].assign(actual_cost=np.nan)
        part = pd.concat([actual, future], ignore_index=True)
        part["scope_type"], part["scope_id"] = scope_type, scope_id
        part["method"], part["fallback_reason"] = method, reason
        part["selection_reason"] = selection if method == requested else None
        part["model_version"] = version
        part["trained_at"] = trained_at
        parts.append(part)
    if not parts:
        return empty_forecast_frame()
    out = pd.concat(parts, ignore_index=True)
    for col in FORECAST_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out = out[FORECAST_COLUMNS]
    out["date"] = pd.to_datetime(out["date"]).dt.date
    out["fallback_reason"] = out["fallback_reason"].astype("string")
    out["selection_reason"] = out["selection_reason"].astype("string")
    return out


def empty_forecast_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope_type": pd.Series(dtype="string"),
            "scope_id": pd.Series(dtype="string"),
            "date": pd.Series(dtype="datetime64[s]"),
            "is_history": pd.Series(dtype=bool),
            **{
                c: pd.Series(dtype=float)
                for c in ["actual_cost", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
            },
            "method": pd.Series(dtype="string"),
            "fallback_reason": pd.Series(dtype="string"),
            "selection_reason": pd.Series(dtype="string"),
            "model_version": pd.Series(dtype="string"),
            "trained_at": pd.Series(dtype="datetime64[us]"),
        }
    )
