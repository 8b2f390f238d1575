"""Budgets: validation, runtime overrides and month-by-month status.

Budgets come from the user's `<data dir>/reference/budgets.csv` (none when the
file is absent: the product ships no budgets; docs/examples/budgets.example.csv
shows the format, and the demo installs its own) with optional runtime
overrides in `<data dir>/budgets/overrides.csv` (written by `budgets_cli`). An
override row with the same budget_id replaces the file's row; `removed = true`
disables it.

Every row is validated the same way wherever it comes from. An invalid row
(bad number, unknown scope type, bad thresholds, duplicate id) is reported as
a BudgetError naming the file, the line and the field, and left out; the
other budgets still run. A valid budget whose scope has no traffic yet is not
an error: its status is `no_traffic`, with 0 spend and a note.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.reference import budgets_path as reference_budgets_path
from orchestration.settings import Settings

BUDGET_COLUMNS = ["budget_id", "scope_type", "scope_id", "monthly_limit_usd", "alert_thresholds", "owner", "notes"]
OVERRIDE_COLUMNS = BUDGET_COLUMNS + ["removed"]
SCOPE_TYPES = ("workspace", "department", "agent")
SCOPE_COLUMN = {"workspace": "workspace_id", "department": "department", "agent": "agent_id"}
STATUS_COLUMNS = [
    "budget_id",
    "scope_type",
    "scope_id",
    "month",
    "as_of_date",
    "monthly_limit_usd",
    "mtd_spend_usd",
    "utilisation",
    "projected_month_end_usd",
    "projected_utilisation",
    "projection_method",
    "exceeded_on",
    "projected_exceed_date",
    "thresholds_crossed_actual",
    "thresholds_crossed_projected",
    "status",
    "owner",
    "note",
]
ERROR_COLUMNS = ["source_file", "line", "budget_id", "field", "value", "message"]
NO_TRAFFIC = "no_traffic"
LINE_KEY = "__line__"


class BudgetValidationError(ValueError):
    """A budget row is invalid; the message names the source, row and field."""

    def __init__(self, message: str, field: str = "", value: object = None):
        super().__init__(message)
        self.field = field
        self.value = "" if value is None else str(value)


@dataclass(frozen=True)
class BudgetError:
    """One budget row that was left out, and why."""

    source_file: str
    line: int
    budget_id: str
    field: str
    value: str
    message: str


@dataclass(frozen=True)
class BudgetSet:
    """The valid budgets, and the rows rejected on the way."""

    budgets: list[Budget]
    errors: list[BudgetError]

    def errors_frame(self) -> pd.DataFrame:
        return pd.DataFrame([e.__dict__ for e in self.errors], columns=ERROR_COLUMNS)


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


def budgets_path(settings: Settings) -> Path:
    """The user's budgets file, `<data dir>/reference/budgets.csv` (may not exist)."""
    return reference_budgets_path(settings)


def parse_thresholds(text: str, where: str) -> tuple[float, ...]:
    """'0.5|0.8|1.0' -> (0.5, 0.8, 1.0); strictly increasing, each in (0, 2]."""
    parts = [p.strip() for p in str(text or "").split("|") if p.strip()]
    if not parts:
        raise BudgetValidationError(
            f"{where}: field alert_thresholds is empty; expected e.g. '0.5|0.8|1.0'", "alert_thresholds", text
        )
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise BudgetValidationError(
            f"{where}: field alert_thresholds = {text!r} is not a '|'-separated list of numbers; expected e.g. '0.5|0.8|1.0'",
            "alert_thresholds",
            text,
        ) from None
    bad = [v for v in values if not (0 < v <= 2)]
    if bad:
        raise BudgetValidationError(
            f"{where}: field alert_thresholds = {text!r} has {bad[0]:g} outside (0, 2]", "alert_thresholds", text
        )
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise BudgetValidationError(
            f"{where}: field alert_thresholds = {text!r} is not strictly increasing", "alert_thresholds", text
        )
    return values


def validate_row(row: dict, where: str) -> Budget:
    """Turn one CSV row into a Budget or raise BudgetValidationError (with the field at fault).

    The scope id is not checked against the warehouse: a budget set up before
    its scope's first call is valid and shows `no_traffic` until traffic comes.
    """
    budget_id = str(row.get("budget_id") or "").strip()
    if not budget_id:
        raise BudgetValidationError(f"{where}: field budget_id is empty; expected a unique identifier", "budget_id", "")
    where = f"{where} (budget_id={budget_id})"
    scope_type = str(row.get("scope_type") or "").strip()
    if scope_type not in SCOPE_TYPES:
        raise BudgetValidationError(
            f"{where}: field scope_type = {scope_type!r}; expected one of {', '.join(SCOPE_TYPES)}",
            "scope_type",
            scope_type,
        )
    scope_id = str(row.get("scope_id") or "").strip()
    if not scope_id:
        raise BudgetValidationError(f"{where}: field scope_id is empty; expected a {scope_type} id", "scope_id", "")
    raw_limit = row.get("monthly_limit_usd")
    try:
        limit = float(raw_limit)
    except (TypeError, ValueError):
        raise BudgetValidationError(
            f"{where}: field monthly_limit_usd = {raw_limit!r} is not a number", "monthly_limit_usd", raw_limit
        ) from None
    if not np.isfinite(limit) or limit <= 0:
        raise BudgetValidationError(
            f"{where}: field monthly_limit_usd = {raw_limit!r}; expected a positive amount in USD",
            "monthly_limit_usd",
            raw_limit,
        )
    thresholds = parse_thresholds(row.get("alert_thresholds"), where)
    return Budget(
        budget_id,
        scope_type,
        scope_id,
        limit,
        thresholds,
        str(row.get("owner") or "").strip(),
        str(row.get("notes") or "").strip(),
    )


def read_csv_rows(path: Path, required: list[str]) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise BudgetValidationError(
                f"{path} line 1: missing column(s) {missing}; expected header {','.join(required)}",
                ",".join(missing),
                ",".join(reader.fieldnames or []),
            )
        rows = []
        for row in reader:
            rows.append({**row, LINE_KEY: reader.line_num})  # the physical line, for error messages
        return rows


def _is_true(value: object) -> bool:
    return str(value or "").strip().lower() in ("true", "1", "yes")


def merge_rows(
    file_rows: list[dict],
    override_rows: list[dict],
    file_name: str = "budgets.csv",
    override_name: str = "overrides.csv",
) -> list[tuple[str, dict]]:
    """(where, row) pairs after applying overrides by budget_id, file order first.

    Raises on a budget_id listed twice in the budgets file (strict callers);
    `read_budgets` reports it instead.
    """
    pairs, errors = _merge(file_rows, override_rows, file_name, override_name)
    if errors:
        raise BudgetValidationError(errors[0].message, errors[0].field, errors[0].value)
    return [(where, row) for where, _, row in pairs]


def _merge(file_rows, override_rows, file_name, override_name):
    merged: dict[str, tuple[str, tuple[str, int], dict]] = {}
    errors: list[BudgetError] = []
    for i, row in enumerate(file_rows, start=2):  # line 1 is the header
        i = row.get(LINE_KEY, i)
        key = str(row.get("budget_id") or "").strip()
        where = f"{file_name} line {i}"
        if key and key in merged:
            errors.append(
                BudgetError(
                    file_name,
                    i,
                    key,
                    "budget_id",
                    key,
                    f"{where} (budget_id={key}): duplicate budget_id; each budget must be listed once "
                    f"(the first row, {merged[key][0]}, is used)",
                )
            )
            continue
        merged[key or f"<line {i}>"] = (where, (file_name, i), row)
    for i, row in enumerate(override_rows, start=2):
        i = row.get(LINE_KEY, i)
        key = str(row.get("budget_id") or "").strip()
        if _is_true(row.get("removed")):
            merged.pop(key, None)
        else:
            merged[key or f"<override line {i}>"] = (f"{override_name} line {i}", (override_name, i), row)
    return list(merged.values()), errors


def read_budgets(budgets_file: Path | None, override_path: Path | None = None) -> BudgetSet:
    """Budgets file plus overrides: every valid budget, and every rejected row with its reason.

    Never raises for the content of the files: a missing budgets file means no
    budgets, a file without the expected header contributes one error (line 1)
    and no rows.
    """
    errors: list[BudgetError] = []

    def rows_of(path: Path | None, columns: list[str]) -> list[dict]:
        if path is None or not path.exists():
            return []
        try:
            return read_csv_rows(path, columns)
        except BudgetValidationError as exc:
            errors.append(BudgetError(str(path), 1, "", exc.field, exc.value, str(exc)))
            return []

    file_rows = rows_of(budgets_file, BUDGET_COLUMNS)
    override_rows = rows_of(override_path, OVERRIDE_COLUMNS)
    pairs, merge_errors = _merge(file_rows, override_rows, str(budgets_file), str(override_path))
    errors.extend(merge_errors)
    budgets = []
    for where, (source, line), row in pairs:
        try:
            budgets.append(validate_row(row, where))
        except BudgetValidationError as exc:
            errors.append(
                BudgetError(source, line, str(row.get("budget_id") or "").strip(), exc.field, exc.value, str(exc))
            )
    return BudgetSet(budgets, errors)


def load_budgets(budgets_file: Path | None, override_path: Path | None = None) -> list[Budget]:
    """Budgets file plus overrides, validated; raises BudgetValidationError on the first bad row (strict)."""
    result = read_budgets(budgets_file, override_path)
    if result.errors:
        first = result.errors[0]
        raise BudgetValidationError(first.message, first.field, first.value)
    return result.budgets


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
    sel = forecast[
        (forecast["scope_type"] == budget.scope_type)
        & (forecast["scope_id"] == budget.scope_id)
        & (~forecast["is_history"].astype(bool))
        & forecast["yhat"].notna()
    ]
    if sel.empty:
        return None
    return pd.Series(sel["yhat"].to_numpy(dtype=float), index=pd.to_datetime(sel["date"]))


def _first_crossing(cumulative: pd.Series, level: float) -> date | None:
    hit = cumulative[cumulative >= level]
    return hit.index[0].date() if len(hit) else None


def budget_status(
    budgets: list[Budget],
    agent_days: pd.DataFrame,
    forecast: pd.DataFrame | None = None,
    run_rate_days: int = 7,
    today: date | None = None,
) -> pd.DataFrame:
    """One row per budget and calendar month covered by the data.

    Month-to-date spend is actual cost up to the last day with data (as_of).
    For the month containing as_of, the rest of the month is projected with the
    scope's forecast (signals.cost_forecast) when there is one, otherwise with
    the average of the last `run_rate_days` days (run rate). Earlier months are
    complete: their projection equals the actual.

    A budget whose scope has no call in the data is `no_traffic` (0 spend, a
    note saying so) rather than an error: it may simply be newer than its
    scope's first call. With no data at all, each budget gets one such row for
    the current month (`today`, default the UTC date).
    """
    if not budgets:
        return pd.DataFrame(columns=STATUS_COLUMNS)
    if agent_days.empty:
        month = pd.Timestamp(today or pd.Timestamp.now(tz="UTC").date()).to_period("M")
        return pd.DataFrame([_no_traffic_row(b, month, None, "no calls are loaded yet") for b in budgets])[
            STATUS_COLUMNS
        ]
    agent_days = agent_days.assign(date=pd.to_datetime(agent_days["date"]))
    as_of = agent_days["date"].max()
    months = pd.period_range(agent_days["date"].min(), as_of, freq="M")
    rows = []
    for b in budgets:  # budgets are tens of rows; the daily work inside is vectorised
        daily = _scope_daily(agent_days, b)
        if daily.empty:
            note = (
                f"no calls for {b.scope_type} {b.scope_id!r} in the loaded data "
                f"({agent_days['date'].min().date()} to {as_of.date()}); check the id if traffic was expected"
            )
            rows.extend(
                _no_traffic_row(b, month, min(month.end_time.normalize(), as_of).date(), note) for month in months
            )
            continue
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
                    recent = daily.reindex(
                        pd.date_range(as_of - pd.Timedelta(days=run_rate_days - 1), as_of), fill_value=0.0
                    )
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
            in_month = daily[(daily.index >= start) & (daily.index <= end)]
            rows.append(
                {
                    "budget_id": b.budget_id,
                    "scope_type": b.scope_type,
                    "scope_id": b.scope_id,
                    "month": start.date(),
                    "as_of_date": min(end, as_of).date(),
                    "monthly_limit_usd": b.monthly_limit_usd,
                    "mtd_spend_usd": mtd,
                    "utilisation": mtd / b.monthly_limit_usd,
                    "projected_month_end_usd": projected,
                    "projected_utilisation": projected / b.monthly_limit_usd,
                    "projection_method": method,
                    "exceeded_on": exceeded_on,
                    "projected_exceed_date": proj_exceed,
                    "thresholds_crossed_actual": "|".join(f"{t:g}" for t in crossed),
                    "thresholds_crossed_projected": "|".join(f"{t:g}" for t in crossed_proj),
                    "status": status,
                    "owner": b.owner,
                    "note": None if len(in_month) else f"no calls for this {b.scope_type} in this month",
                }
            )
    out = pd.DataFrame(rows)[STATUS_COLUMNS]
    return out


def _no_traffic_row(b: Budget, month: pd.Period, as_of: date | None, note: str) -> dict:
    return {
        "budget_id": b.budget_id,
        "scope_type": b.scope_type,
        "scope_id": b.scope_id,
        "month": month.start_time.date(),
        "as_of_date": as_of,
        "monthly_limit_usd": b.monthly_limit_usd,
        "mtd_spend_usd": 0.0,
        "utilisation": 0.0,
        "projected_month_end_usd": 0.0,
        "projected_utilisation": 0.0,
        "projection_method": NO_TRAFFIC,
        "exceeded_on": None,
        "projected_exceed_date": None,
        "thresholds_crossed_actual": "",
        "thresholds_crossed_projected": "",
        "status": NO_TRAFFIC,
        "owner": b.owner,
        "note": note,
    }
