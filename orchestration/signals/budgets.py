"""Budgets: validation, runtime overrides and month-by-month status.

Budgets come from the `budgets` seed (seeds/budgets.csv, loaded by dbt into
reference.budgets) with optional runtime overrides in
`<data dir>/budgets/overrides.csv` (written by `budgets_cli`). An override row
with the same budget_id replaces the seed row; `removed = true` disables it.
Every row is validated the same way wherever it comes from, and an invalid row
stops the run with an error naming the file, the row and the field.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.settings import SEEDS_DIR, Settings

BUDGET_COLUMNS = ["budget_id", "scope_type", "scope_id", "monthly_limit_usd", "alert_thresholds", "owner", "notes"]
OVERRIDE_COLUMNS = BUDGET_COLUMNS + ["removed"]
SCOPE_TYPES = ("workspace", "department", "agent")
SCOPE_COLUMN = {"workspace": "workspace_id", "department": "department", "agent": "agent_id"}
SEED_PATH = SEEDS_DIR / "budgets.csv"
STATUS_COLUMNS = [
    "budget_id", "scope_type", "scope_id", "month", "as_of_date", "monthly_limit_usd", "mtd_spend_usd",
    "utilisation", "projected_month_end_usd", "projected_utilisation", "projection_method",
    "exceeded_on", "projected_exceed_date", "thresholds_crossed_actual", "thresholds_crossed_projected",
    "status", "owner",
]


class BudgetValidationError(ValueError):
    """A budget row is invalid; the message names the source, row and field."""


@dataclass(frozen=True)
class Budget:
    budget_id: str
    scope_type: str
    scope_id: str
    monthly_limit_usd: float
    thresholds: tuple[float, ...]
    owner: str
    notes: str

    @property
    def thresholds_text(self) -> str:
        return "|".join(f"{t:g}" for t in self.thresholds)


def overrides_path(settings: Settings) -> Path:
    return settings.data_dir / "budgets" / "overrides.csv"


def parse_thresholds(text: str, where: str) -> tuple[float, ...]:
    """'0.5|0.8|1.0' -> (0.5, 0.8, 1.0); strictly increasing, each in (0, 2]."""
    parts = [p.strip() for p in str(text or "").split("|") if p.strip()]
    if not parts:
        raise BudgetValidationError(f"{where}: field alert_thresholds is empty; expected e.g. '0.5|0.8|1.0'")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise BudgetValidationError(
            f"{where}: field alert_thresholds = {text!r} is not a '|'-separated list of numbers; expected e.g. '0.5|0.8|1.0'"
        ) from None
    bad = [v for v in values if not (0 < v <= 2)]
    if bad:
        raise BudgetValidationError(f"{where}: field alert_thresholds = {text!r} has {bad[0]:g} outside (0, 2]")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise BudgetValidationError(f"{where}: field alert_thresholds = {text!r} is not strictly increasing")
    return values


def validate_row(row: dict, where: str, known_scopes: dict[str, set[str]] | None) -> Budget:
    """Turn one CSV row into a Budget or raise BudgetValidationError."""
    budget_id = str(row.get("budget_id") or "").strip()
    if not budget_id:
        raise BudgetValidationError(f"{where}: field budget_id is empty; expected a unique identifier")
    where = f"{where} (budget_id={budget_id})"
    scope_type = str(row.get("scope_type") or "").strip()
    if scope_type not in SCOPE_TYPES:
        raise BudgetValidationError(f"{where}: field scope_type = {scope_type!r}; expected one of {', '.join(SCOPE_TYPES)}")
    scope_id = str(row.get("scope_id") or "").strip()
    if not scope_id:
        raise BudgetValidationError(f"{where}: field scope_id is empty; expected a {scope_type} id")
    if known_scopes is not None and scope_id not in known_scopes.get(scope_type, set()):
        raise BudgetValidationError(
            f"{where}: field scope_id = {scope_id!r} is not a known {scope_type} in the warehouse; "
            f"expected one of {sorted(known_scopes.get(scope_type, set()))[:10]}"
        )
    raw_limit = row.get("monthly_limit_usd")
    try:
        limit = float(raw_limit)
    except (TypeError, ValueError):
        raise BudgetValidationError(f"{where}: field monthly_limit_usd = {raw_limit!r} is not a number") from None
    if not np.isfinite(limit) or limit <= 0:
        raise BudgetValidationError(f"{where}: field monthly_limit_usd = {raw_limit!r}; expected a positive amount in USD")
    thresholds = parse_thresholds(row.get("alert_thresholds"), where)
    return Budget(budget_id, scope_type, scope_id, limit, thresholds,
                  str(row.get("owner") or "").strip(), str(row.get("notes") or "").strip())


def read_csv_rows(path: Path, required: list[str]) -> list[dict]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise BudgetValidationError(f"{path}: missing column(s) {missing}; expected header {','.join(required)}")
        return list(reader)


def _is_true(value: object) -> bool:
    return str(value or "").strip().lower() in ("true", "1", "yes")


def merge_rows(
    seed_rows: list[dict], override_rows: list[dict], seed_name: str = "budgets.csv", override_name: str = "overrides.csv"
) -> list[tuple[str, dict]]:
    """(where, row) pairs after applying overrides by budget_id, seed order first."""
    merged: dict[str, tuple[str, dict]] = {}
    for i, row in enumerate(seed_rows, start=2):  # line 1 is the header
        key = str(row.get("budget_id") or "").strip()
        where = f"{seed_name} line {i}"
        if key in merged:
            raise BudgetValidationError(f"{where} (budget_id={key}): duplicate budget_id; each budget must be listed once")
        merged[key or f"<line {i}>"] = (where, row)
    for i, row in enumerate(override_rows, start=2):
        key = str(row.get("budget_id") or "").strip()
        if _is_true(row.get("removed")):
            merged.pop(key, None)
        else:
            merged[key or f"<override line {i}>"] = (f"{override_name} line {i}", row)
    return list(merged.values())


def load_budgets(
    seed_path: Path = SEED_PATH,
    override_path: Path | None = None,
    known_scopes: dict[str, set[str]] | None = None,
) -> list[Budget]:
    """Seed plus overrides, validated. Raises BudgetValidationError on the first bad row."""
    seed_rows = read_csv_rows(seed_path, BUDGET_COLUMNS)
    override_rows = read_csv_rows(override_path, OVERRIDE_COLUMNS) if override_path and override_path.exists() else []
    budgets = []
    for where, row in merge_rows(seed_rows, override_rows, str(seed_path), str(override_path)):
        budgets.append(validate_row(row, where, known_scopes))
    return budgets


def known_scopes_from(agent_days: pd.DataFrame) -> dict[str, set[str]]:
    return {st: set(agent_days[col].dropna().astype(str)) for st, col in SCOPE_COLUMN.items()}


# ---------------------------------------------------------------- status

def _scope_daily(agent_days: pd.DataFrame, budget: Budget) -> pd.Series:
    col = SCOPE_COLUMN[budget.scope_type]
    sel = agent_days[agent_days[col].astype(str) == budget.scope_id]
    return sel.groupby("date")["cost"].sum()


def _forecast_daily(forecast: pd.DataFrame | None, budget: Budget) -> pd.Series | None:
    if forecast is None or forecast.empty:
        return None
    sel = forecast[(forecast["scope_type"] == budget.scope_type) & (forecast["scope_id"] == budget.scope_id)
                   & (~forecast["is_history"].astype(bool)) & forecast["yhat"].notna()]
    if sel.empty:
        return None
    return pd.Series(sel["yhat"].to_numpy(dtype=float), index=pd.to_datetime(sel["date"]))


def _first_crossing(cumulative: pd.Series, level: float) -> date | None:
    hit = cumulative[cumulative >= level]
    return hit.index[0].date() if len(hit) else None


def budget_status(
    budgets: list[Budget], agent_days: pd.DataFrame, forecast: pd.DataFrame | None = None, run_rate_days: int = 7
) -> pd.DataFrame:
    """One row per budget and calendar month covered by the data.

    Month-to-date spend is actual cost up to the last day with data (as_of).
    For the month containing as_of, the rest of the month is projected with the
    scope's forecast (signals.cost_forecast) when there is one, otherwise with
    the average of the last `run_rate_days` days (run rate). Earlier months are
    complete: their projection equals the actual.
    """
    if agent_days.empty or not budgets:
        return pd.DataFrame(columns=STATUS_COLUMNS)
    agent_days = agent_days.assign(date=pd.to_datetime(agent_days["date"]))
    as_of = agent_days["date"].max()
    months = pd.period_range(agent_days["date"].min(), as_of, freq="M")
    rows = []
    for b in budgets:  # budgets are tens of rows; the daily work inside is vectorised
        daily = _scope_daily(agent_days, b)
        fc = _forecast_daily(forecast, b)
        for month in months:
            start, end = month.start_time.normalize(), month.end_time.normalize()
            days = pd.date_range(start, min(end, as_of), freq="D")
            actual = daily.reindex(days, fill_value=0.0)
            mtd = float(actual.sum())
            method = "complete_month"
            future = pd.Series(dtype=float)
            if end > as_of:
                rest = pd.date_range(as_of + pd.Timedelta(days=1), end, freq="D")
                if fc is not None and fc.index.max() >= rest[-1]:
                    future, method = fc.reindex(rest).fillna(0.0), "forecast"
                else:
                    recent = daily.reindex(pd.date_range(as_of - pd.Timedelta(days=run_rate_days - 1), as_of), fill_value=0.0)
                    future = pd.Series(float(recent.mean()), index=rest)
                    method = f"run_rate_{run_rate_days}d"
            path = pd.concat([actual, future]).cumsum()
            projected = float(path.iloc[-1]) if len(path) else 0.0
            crossed = [t for t in b.thresholds if mtd >= t * b.monthly_limit_usd]
            crossed_proj = [t for t in b.thresholds if projected >= t * b.monthly_limit_usd]
            exceeded_on = _first_crossing(actual.cumsum(), b.monthly_limit_usd)
            proj_exceed = _first_crossing(path, b.monthly_limit_usd)
            if exceeded_on:
                status = "breached"
            elif proj_exceed:
                status = "projected_breach"
            elif crossed:
                status = "warning"
            else:
                status = "ok"
            rows.append({
                "budget_id": b.budget_id, "scope_type": b.scope_type, "scope_id": b.scope_id,
                "month": start.date(), "as_of_date": min(end, as_of).date(),
                "monthly_limit_usd": b.monthly_limit_usd, "mtd_spend_usd": mtd,
                "utilisation": mtd / b.monthly_limit_usd,
                "projected_month_end_usd": projected, "projected_utilisation": projected / b.monthly_limit_usd,
                "projection_method": method, "exceeded_on": exceeded_on, "projected_exceed_date": proj_exceed,
                "thresholds_crossed_actual": "|".join(f"{t:g}" for t in crossed),
                "thresholds_crossed_projected": "|".join(f"{t:g}" for t in crossed_proj),
                "status": status, "owner": b.owner,
            })
    out = pd.DataFrame(rows)[STATUS_COLUMNS]
    return out

