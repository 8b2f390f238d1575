"""The same dbt project on DuckDB and on Spark gives the same marts.

One generated dataset (about 20k calls over 10 days) goes through ingestion
once (validation, quarantine and ledger are the loader's, on both engines),
then dbt builds it on both engines in the two steps a deployment sees:

1. the first nine days, with one of day 9's files held back: a full build
   (seeds and models);
2. the next run: day 10 arrives with the late day-9 file, and a custom price
   for the most used model takes effect from day 9 (a re-price); an
   incremental `dbt build` over days 9-10 with the data tests, as the
   pipeline runs it (Spark overwrites those day partitions; days 1-8 keep
   the old price on both engines).

After that every table of the marts and reference schemas (the call-level
facts included) must hold the same rows on both engines: EXCEPT ALL both
ways, after casting to common types and rounding every decimal and double to
1e-9. Spark's tables are read back through their Parquet files
(orchestration/publish/spark_marts.py, as the pipeline does).

Each dbt invocation on Spark starts one local session (`local[2]`, UI off,
4 shuffle partitions: dbt_project/profiles.yml). Needs `make setup-spark`
(Java 17 and the pinned pyspark); `make test` installs both.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from engine_tables import differences, needs_spark

from generators import GeneratorConfig, generate_traces
from orchestration.dbt_invocation import window_env
from orchestration.ingest import ingest_window
from orchestration.ingest.lake import export_raw_days
from orchestration.publish.spark_marts import mirror_spark_marts
from orchestration.settings import DBT_PROJECT_DIR, SEEDS_DIR, Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.spark]

START = dt.date(2026, 6, 1)
DAYS = 10
CALLS = 20_000
SEED = 11
LATE_DAY = START + dt.timedelta(days=8)
NEW_DAY = START + dt.timedelta(days=9)
REPRICE_FROM = LATE_DAY
DBT = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[2] / ".venv")) / "bin" / "dbt"


def _dbt(project: Path, settings: Settings, engine: str, args: list[str], window: tuple[str, str] | None) -> float:
    """Run one dbt command on `engine` against the test's data; returns its wall time."""
    env = {
        **os.environ,
        **window_env(window),
        **settings.dbt_env(),
        "AGENTLEDGER_ENGINE": engine,
        "AGENTLEDGER_DATA_DIR": str(settings.data_dir),
    }
    began = time.perf_counter()
    done = subprocess.run(
        [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project), "--target-path",
         str(settings.data_dir / f"target-{engine}"), "--log-path", str(settings.data_dir / f"logs-{engine}")],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"dbt {' '.join(args)} on {engine} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    )
    return time.perf_counter() - began


def _copy_project(tmp: Path) -> Path:
    """The dbt project and its seeds, so the re-price can change a seed without touching the repository."""
    root = tmp / "project"
    shutil.copytree(
        DBT_PROJECT_DIR, root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    shutil.copytree(SEEDS_DIR, root / "seeds")
    return root / "dbt_project"


def _reprice(seeds: Path, con: duckdb.DuckDBPyConnection) -> str:
    """Add a custom price (from REPRICE_FROM) for the most used chat model; returns it."""
    provider, model = con.execute(
        "select provider, coalesce(response_model, request_model) from raw.trace_spans "
        "where operation = 'chat' group by all order by count(*) desc limit 1"
    ).fetchone()
    path = seeds / "custom_model_prices.csv"
    with path.open(newline="") as f:
        header = next(csv.reader(f))
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        for usage_type, price in (("input", "0.123456789"), ("output", "1.5")):
            writer.writerow(
                {
                    "provider_id": provider,
                    "model_id": model,
                    "model_name": model,
                    "service_tier": "default",
                    "valid_from": REPRICE_FROM.isoformat(),
                    "usage_type": usage_type,
                    "tier_start_tokens": 0,
                    "price_per_mtok": price,
                }
            )
    return f"{provider}/{model}"


def test_marts_are_equal_on_duckdb_and_spark(tmp_path):
    needs_spark()
    data_dir = tmp_path / "data"
    held = tmp_path / "held_back"
    settings = dataclasses.replace(load_settings(), data_dir=data_dir, warehouse_path=data_dir / "warehouse.duckdb")
    settings = dataclasses.replace(settings, spark_dir=data_dir / "spark")
    project = _copy_project(tmp_path)
    seeds = project.parent / "seeds"
    generate_traces(
        GeneratorConfig(calls=CALLS, days=DAYS, start=START, seed=SEED),
        settings.landing_dir / "synthetic",
        labels_path=tmp_path / "anomalies.csv",
        progress=False,
    )
    # Day 10 arrives with the second run, and so does one of day 9's files (late data).
    day_dirs = {p.name: p for p in (settings.landing_dir / "synthetic").rglob("date=*") if p.is_dir()}
    held.mkdir()
    shutil.move(day_dirs[f"date={NEW_DAY}"], held / "new")
    late_files = sorted(day_dirs[f"date={LATE_DAY}"].glob("*"))
    assert late_files, f"the generator wrote no file for {LATE_DAY}"
    (held / "late").mkdir()
    late_target = late_files[-1] if len(late_files) > 1 else None
    if late_target is not None:
        shutil.move(late_target, held / "late" / late_target.name)

    timings: dict[str, float] = {}

    def build(label: str, args: list[str], window: tuple[str, str] | None) -> None:
        for engine in ("duckdb", "spark"):
            timings[f"{label} {engine}"] = _dbt(project, settings, engine, args, window)

    # 1. the first nine days (day 9 incomplete): a full build
    ingest_window(settings, START, LATE_DAY)
    export_raw_days(settings, START, LATE_DAY, seeds)
    build("full", ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"], None)

    # 2. the next day, the late file and a new price: an incremental run over days 9-10
    shutil.move(held / "new", day_dirs[f"date={NEW_DAY}"])
    if late_target is not None:
        shutil.move(held / "late" / late_target.name, late_target)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        repriced = _reprice(seeds, con)
    ingest_window(settings, LATE_DAY, NEW_DAY)
    export_raw_days(settings, LATE_DAY, NEW_DAY, seeds)
    build("incremental", ["build", "--exclude-resource-type", "unit_test"], (LATE_DAY.isoformat(), NEW_DAY.isoformat()))

    spark_copy = dataclasses.replace(settings, warehouse_path=tmp_path / "spark_marts.duckdb")
    mirror_spark_marts(spark_copy, settings.data_dir / "target-spark" / "manifest.json", kept_in_spark=frozenset())

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{settings.warehouse_path}' as duck (read_only)")
    con.execute(f"attach '{spark_copy.warehouse_path}' as spark (read_only)")
    tables = {
        side: {
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = ? "
                "and schema_name in ('marts', 'reference')",
                [side],
            ).fetchall()
        }
        for side in ("duck", "spark")
    }
    assert tables["duck"] == tables["spark"], (
        f"tables only on duckdb: {sorted(tables['duck'] - tables['spark'])}; "
        f"only on spark: {sorted(tables['spark'] - tables['duck'])}"
    )
    assert "marts.fct_llm_calls" in tables["duck"] and len(tables["duck"]) > 30
    for side in ("duck", "spark"):
        custom = dict(
            con.execute(
                f"select call_date >= ?, count(*) filter (where price_source = 'custom') "
                f"from {side}.marts.fct_llm_calls group by all",
                [REPRICE_FROM],
            ).fetchall()
        )
        assert custom.get(True, 0) > 0 and custom.get(False, 0) == 0, (
            f"{side}: the custom price for {repriced} from {REPRICE_FROM} priced {custom} calls (after, before)"
        )

    problems = {table: diff for table in sorted(tables["duck"]) if (diff := differences(con, table))}
    print("dbt seconds:", {k: round(v, 1) for k, v in timings.items()})
    assert not problems, "\n".join(f"{table}: {'; '.join(diff)}" for table, diff in problems.items())
