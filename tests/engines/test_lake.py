"""The Spark engine's raw layer: validated spans as one Parquet folder per day, replaced whole."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import duckdb
import pytest

from generators import GeneratorConfig, generate_traces
from orchestration.ingest import ingest_window
from orchestration.ingest.lake import (
    EMPTY_DAY,
    catalog_matches_dir,
    ensure_raw_schema,
    export_raw_days,
    lake_days,
    raw_spans_dir,
)
from orchestration.settings import load_settings

START = dt.date(2026, 6, 1)


@pytest.fixture
def settings(tmp_path):
    data_dir = tmp_path / "data"
    return dataclasses.replace(
        load_settings(), data_dir=data_dir, warehouse_path=data_dir / "warehouse.duckdb", spark_dir=None
    )


def _digest(folder) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.parquet")))).hexdigest()


def test_days_are_written_partitioned_replaced_whole_and_idempotent(settings):
    generate_traces(GeneratorConfig(calls=600, days=3, start=START, seed=3), settings.landing_dir / "g", progress=False)
    ensure_raw_schema(settings)
    assert lake_days(settings) == [EMPTY_DAY]  # the placeholder that gives Spark the columns

    ingest_window(settings, START, START + dt.timedelta(days=2))
    counts = export_raw_days(settings, START, START + dt.timedelta(days=2))
    days = [START + dt.timedelta(days=i) for i in range(3)]
    assert sorted(counts) == days and lake_days(settings) == days  # the placeholder is gone

    root = raw_spans_dir(settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        raw = con.execute("select count(*), count(distinct span_id) from raw.trace_spans").fetchone()
    lake = duckdb.execute(
        f"select count(*), count(distinct span_id), count(*) filter (where cast(started_at as date) <> date) "
        f"from read_parquet('{root}/*/*.parquet', hive_partitioning = true)"
    ).fetchone()
    assert lake == (raw[0], raw[1], 0), "every span once, in the folder of its UTC day"

    before = {d: _digest(root / f"date={d}") for d in days}
    export_raw_days(settings, days[1], days[1])
    assert {d: _digest(root / f"date={d}") for d in days} == before, "re-exporting a day writes the same file"
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "no staging or retired folder is left"

    # a day whose spans are all gone loses its folder; the others stay
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("delete from raw.trace_spans where cast(started_at as date) = ?", [days[2]])
    export_raw_days(settings, days[2], days[2])
    assert lake_days(settings) == days[:2]
    assert (catalog_matches_dir(settings) / "part-00000.parquet").exists()
