"""Dagster runs the same asset graph on Spark as on DuckDB.

One small generated dataset, copied into two data directories, goes through
the real partitioned pipeline run (`python -m orchestration.run_range`, the
Dagster job with its instance in DAGSTER_HOME: ingestion, the lake export,
the reference seeds, the daily models, the marts, the signals and publish;
not the report site, which reads the published file the same way on both
engines) once with AGENTLEDGER_ENGINE=duckdb and once with spark. On Spark
every step must run (none skipped for a missing upstream materialization),
and the published marts must hold the same rows as DuckDB's.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from engine_tables import differences, needs_spark

from generators import GeneratorConfig, generate_traces
from orchestration.dagster_dev import dagster_instance_env
from orchestration.dbt_invocation import environment
from orchestration.settings import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.spark]

START = dt.date(2026, 6, 1)
DAYS = 3
LAST = START + dt.timedelta(days=DAYS - 1)
CALLS = 1_500
RUN_TIMEOUT_S = 1_800


def _run_pipeline(data_dir: Path, engine: str) -> None:
    env = {
        **dagster_instance_env(data_dir),
        "AGENTLEDGER_ENGINE": engine,
        "AGENTLEDGER_PARTITIONS_START": "2026-01-01",
    }
    env.pop("AGENTLEDGER_WAREHOUSE", None)
    env.pop("AGENTLEDGER_ALERT_WEBHOOK_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.run_range",
            "--start",
            str(START),
            "--end",
            str(LAST),
            "--no-report-site",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"the {engine} run failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"


def _skipped_steps(home: Path) -> dict[str, list[str]]:
    """Each run's skipped steps, read from the Dagster instance the run wrote."""
    import dagster as dg

    with environment({"DAGSTER_HOME": str(home)}), dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert runs, f"no Dagster run recorded in {home}"
        skipped = {}
        for run in runs:
            assert run.status == dg.DagsterRunStatus.SUCCESS, f"run {run.run_id} ended {run.status}"
            events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SKIPPED)
            skipped[run.run_id] = sorted(e.step_key for e in events if e.step_key)
    return skipped


def test_the_pipeline_runs_on_spark_and_publishes_the_same_marts(tmp_path):
    needs_spark()
    source = tmp_path / "generated"
    generate_traces(
        GeneratorConfig(calls=CALLS, days=DAYS, start=START, seed=7), source, labels_path=None, progress=False
    )
    data = {engine: tmp_path / engine / "data" for engine in ("duckdb", "spark")}
    for engine, data_dir in data.items():
        shutil.copytree(source, data_dir / "landing" / "synthetic")
        _run_pipeline(data_dir, engine)

    skipped = _skipped_steps(data["spark"] / "dagster_home")
    assert all(steps == [] for steps in skipped.values()), f"steps skipped on Spark: {skipped}"

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for side, engine in (("duck", "duckdb"), ("spark", "spark")):
        con.execute(f"attach '{data[engine] / 'published' / 'agentledger.duckdb'}' as {side} (read_only)")
    tables = {
        side: {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = ? "
                "and schema_name in ('marts', 'signals')",
                [side],
            ).fetchall()
        }
        for side in ("duck", "spark")
    }
    assert tables["duck"] == tables["spark"], (
        f"only on duckdb: {sorted(tables['duck'] - tables['spark'])}; "
        f"only on spark: {sorted(tables['spark'] - tables['duck'])}"
    )
    marts = sorted(t for t in tables["duck"] if t.startswith("marts."))
    assert "marts.fct_llm_calls" in marts and len(marts) > 20
    [(calls,)] = con.execute("select count(*) from spark.marts.fct_llm_calls").fetchall()
    assert calls == CALLS
    problems = {table: diff for table in marts if (diff := differences(con, table))}
    assert not problems, "\n".join(f"{table}: {'; '.join(diff)}" for table, diff in problems.items())
