"""Reading signal inputs from the warehouse and writing `signals.*` tables.

Every writer replaces or appends inside one transaction, so a failed asset never
leaves a half-written table behind. Connections are opened by the caller (one
writer process per DuckDB file) and passed in; nothing here connects at import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

SIGNALS_SCHEMA = "signals"
FCT_TABLE = "marts.fct_llm_calls"


@contextmanager
def connect(warehouse_path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the working DuckDB file for the duration of a block and always close it."""
    con = duckdb.connect(str(warehouse_path), read_only=read_only)
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".", 1)
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def require_fct(con: duckdb.DuckDBPyConnection) -> None:
    if not table_exists(con, FCT_TABLE):
        raise LookupError(
            f"{FCT_TABLE} does not exist in this warehouse; build the dbt marts first "
            "(dbt build, or materialize the transform assets)."
        )


# The signals' inputs are dbt models (dbt_project/models/marts/signals), tested
# and in dbt's lineage; Python only reads them.
AGENT_DAILY_TABLE = "marts.rpt_signal_agent_daily"
AGENT_MODEL_DAILY_TABLE = "marts.rpt_signal_agent_model_daily"


def read_signal_input(
    con: duckdb.DuckDBPyConnection, table: str, where: str = "true", params: list | None = None
) -> pd.DataFrame:
    """Every row of a signal input model (filtered by `where`), or a clear error when it was never built.

    Rows come sorted on every column: the detectors sum doubles in row order,
    and a fixed order makes two runs on the same data agree to the last bit.
    """
    if not table_exists(con, table):
        raise LookupError(
            f"{table} does not exist in this warehouse; build the dbt marts first "
            "(dbt build, or materialize the warehouse assets)."
        )
    return con.execute(f"select * from {table} where {where} order by all", params or []).df()


def read_agent_days(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per agent and day with cost and the driver features (marts.rpt_signal_agent_daily)."""
    df = read_signal_input(con, AGENT_DAILY_TABLE)
    df["date"] = pd.to_datetime(df["date"])
    return df


def complete_days(agent_days: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
    """The rows of days that are over: before `today` (default the UTC date).

    Traces for today are still arriving, so today's cost is partial; fitted
    as history it reads as a collapse on the last day and drags the forecast
    and the backtest's last origin down. Forecasts start from complete days.
    """
    today = today or datetime.now(UTC).date()
    return agent_days[agent_days["date"] < pd.Timestamp(today)]


def read_agent_day_models(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Cost and tokens per agent, day and model (marts.rpt_signal_agent_model_daily)."""
    df = read_signal_input(con, AGENT_MODEL_DAILY_TABLE)
    df["date"] = pd.to_datetime(df["date"])
    return df


_V, _D, _F, _I, _T, _B = "varchar", "date", "double", "integer", "timestamp", "boolean"

# Column types of every table written here (docs/signals.md describes the
# columns). Writing through explicit casts keeps the types stable even when a
# run produces no rows, which readers such as the report site rely on.
TABLE_SCHEMAS: dict[str, dict[str, str]] = {
    "cost_forecast": {
        "scope_type": _V,
        "scope_id": _V,
        "date": _D,
        "is_history": _B,
        "actual_cost": _F,
        "yhat": _F,
        "yhat_lower_80": _F,
        "yhat_upper_80": _F,
        "yhat_lower_95": _F,
        "yhat_upper_95": _F,
        "method": _V,
        "fallback_reason": _V,
        "selection_reason": _V,
        "model_version": _V,
        "trained_at": _T,
    },
    "forecast_backtest": {
        "scope_type": _V,
        "scope_id": _V,
        "method": _V,
        "cutoff_date": _D,
        "train_days": _I,
        "test_days": _I,
        "mape": _F,
        "smape": _F,
        "coverage_80": _F,
        "coverage_95": _F,
        "calibration_errors": _I,
        "evaluated_at": _T,
    },
    "forecast_model_choice": {
        "scope_type": _V,
        "scope_id": _V,
        "method": _V,
        "cutoffs": _I,
        "median_mape": _F,
        "median_smape": _F,
        "coverage_80": _F,
        "coverage_95": _F,
        "meets_coverage": _B,
        "selected": _B,
        "reason": _V,
        "calibration_errors": _I,
        "q_lower_80": _F,
        "q_upper_80": _F,
        "q_lower_95": _F,
        "q_upper_95": _F,
        "error_offset": _F,
        "evaluated_at": _T,
    },
    "cost_anomalies": {
        "scope_type": _V,
        "scope_id": _V,
        "workspace_id": _V,
        "date": _D,
        "actual_cost": _F,
        "expected_cost": _F,
        "deviation": _F,
        "z_score": _F,
        "dollar_impact": _F,
        "severity": _V,
        "driver": _V,
        "driver_detail": _V,
        "expected_low": _F,
        "expected_high": _F,
        "driver_source": _V,
        "rule": _V,
    },
    "anomaly_detection_quality": {
        "grain": _V,
        "kind": _V,
        "labelled": _I,
        "detected": _I,
        "true_positives": _I,
        "false_positives": _I,
        "false_negatives": _I,
        "precision": _F,
        "recall": _F,
        "f1": _F,
        "evaluated_at": _T,
    },
    "budget_status": {
        "budget_id": _V,
        "scope_type": _V,
        "scope_id": _V,
        "month": _D,
        "as_of_date": _D,
        "monthly_limit_usd": _F,
        "mtd_spend_usd": _F,
        "utilisation": _F,
        "projected_month_end_usd": _F,
        "projected_utilisation": _F,
        "projection_method": _V,
        "exceeded_on": _D,
        "projected_exceed_date": _D,
        "thresholds_crossed_actual": _V,
        "thresholds_crossed_projected": _V,
        "status": _V,
        "owner": _V,
        "note": _V,
    },
    "budget_errors": {
        "source_file": _V,
        "line": _I,
        "budget_id": _V,
        "field": _V,
        "value": _V,
        "message": _V,
        "checked_at": _T,
    },
    "recommendations": {
        "rank": _I,
        "recommendation_id": _V,
        "kind": _V,
        "scope": _V,
        "scope_type": _V,
        "scope_id": _V,
        "model": _V,
        "title": _V,
        "detail": _V,
        "evidence": _V,
        "evidence_query": _V,
        "estimated_monthly_saving_usd": _F,
        "confidence": _V,
        "generated_at": _T,
    },
}


def replace_table(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Create-or-replace `signals.<table>` from a DataFrame in one transaction.

    Tables listed in TABLE_SCHEMAS are written with exactly those columns, in
    that order and with those types; a missing column is an error.
    """
    qualified = f"{SIGNALS_SCHEMA}.{table}"
    schema = TABLE_SCHEMAS.get(table)
    if schema is not None:
        missing = [c for c in schema if c not in df.columns]
        if missing:
            raise ValueError(f"signals.{table}: frame lacks column(s) {missing}; expected {list(schema)}")
        select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in schema.items())
    else:
        select = "*"
    con.execute(f"create schema if not exists {SIGNALS_SCHEMA}")
    con.register("_signals_frame", df)
    try:
        con.execute("begin transaction")
        con.execute(f"create or replace table {qualified} as select {select} from _signals_frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_signals_frame")
    return len(df)


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame | None:
    qualified = f"{SIGNALS_SCHEMA}.{table}"
    if not table_exists(con, qualified):
        return None
    return con.execute(f"select * from {qualified}").df()
