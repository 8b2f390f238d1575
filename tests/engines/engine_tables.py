"""Shared by the engine tests: skip without Spark, and compare one table's rows between two engines' copies."""

from __future__ import annotations

import shutil

import duckdb
import pytest

# Engine-neutral form of a value: decimals and doubles rounded to 1e-9.
ROUNDED = ("DECIMAL", "DOUBLE", "FLOAT", "REAL")


def needs_spark() -> None:
    pytest.importorskip("pyspark", reason="the Spark engine is not installed: run `make setup-spark`")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark: run `make setup-spark` (Debian's openjdk-17-jre-headless)")


def neutral(column: str, sql_type: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    if sql_type.startswith(ROUNDED):
        return f"round(cast({quoted} as double), 9) as {quoted}"
    if sql_type.startswith("TIMESTAMP"):
        return f"cast({quoted} as timestamp) as {quoted}"
    if sql_type in ("INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT"):
        return f"cast({quoted} as bigint) as {quoted}"
    return quoted


def differences(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Rows of `table` in one engine's copy and not the other's (EXCEPT ALL both ways)."""
    described = {
        side: dict(con.execute(f"select column_name, column_type from (describe {side}.{table})").fetchall())
        for side in ("duck", "spark")
    }
    if set(described["duck"]) != set(described["spark"]):
        return [f"columns differ: duckdb {sorted(described['duck'])} vs spark {sorted(described['spark'])}"]
    columns = sorted(described["duck"])
    problems = []
    for left, right in (("duck", "spark"), ("spark", "duck")):
        select_left = ", ".join(neutral(c, described[left][c]) for c in columns)
        select_right = ", ".join(neutral(c, described[right][c]) for c in columns)
        query = f"select {select_left} from {left}.{table} except all select {select_right} from {right}.{table}"
        extra = con.execute(f"select count(*) from ({query})").fetchone()[0]
        if extra:
            sample = con.execute(f"{query} limit 3").fetchall()
            problems.append(f"{extra} rows only on {left}, e.g. {sample}")
    return problems
