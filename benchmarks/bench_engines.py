"""DuckDB and local Spark side by side: a full dbt build and a one-day incremental run on the same spans.

    python -m benchmarks.bench_engines [--calls 1000000] [--days 31] [--work DIR]

Needs the Spark engine (`make setup-spark`). Generates the calls with the
synthetic generator, holds the last day back, loads the rest once with the
product's loader (which also writes the day-partitioned Parquet lake Spark
reads), then times `dbt build` (models, seeds and data tests; unit tests are
DuckDB-only) on each engine, each in a child process whose CPU time and peak
RSS come from wait4(). Then the last day lands and each engine runs the
incremental build over that one day, as the daily pipeline does. Prints the
figures and writes the "engines" section of docs/benchmarks.md. DuckDB is
expected to win on one machine: the point is the shape of the cost (Spark's
fixed cost per model and test against DuckDB's cost per row).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.measure import dbt_build_command, run_measured
from benchmarks.record import record_section, scale_label

START = date(2026, 7, 1)
ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class DbtTiming:
    engine: str
    step: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def timed_dbt(settings, engine: str, window: tuple[date, date] | None, step: str, work: Path) -> DbtTiming:
    """Run one `dbt build` on `engine` in a child process; its wall and CPU time and peak RSS."""
    from orchestration.dbt_invocation import window_env
    from orchestration.settings import DBT_PROJECT_DIR

    env = {
        **os.environ,
        **window_env((window[0].isoformat(), window[1].isoformat()) if window else None),
        **settings.dbt_env(),
        "AGENTLEDGER_ENGINE": engine,
    }
    measured = run_measured(
        dbt_build_command(work, engine),
        env=env,
        cwd=DBT_PROJECT_DIR,
        log=work / f"dbt-{engine}-{step}.log",
        what=f"dbt build on {engine} ({step})",
    )
    return DbtTiming(engine, step, measured.seconds, measured.cpu_seconds, measured.peak_rss_mb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="LLM calls generated over all days")
    parser.add_argument("--days", type=int, default=31, help="days generated; the last is the incremental day")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed after)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-engines-"))
    data_dir = work / "data"
    os.environ["AGENTLEDGER_DATA_DIR"] = str(data_dir)
    os.environ.pop("AGENTLEDGER_WAREHOUSE", None)
    os.environ.pop("AGENTLEDGER_SPARK_DIR", None)
    from generators import GeneratorConfig, generate_traces
    from orchestration.ingest import ingest_window
    from orchestration.ingest.lake import export_raw_days
    from orchestration.settings import load_settings

    settings = load_settings()
    last = START + timedelta(days=args.days - 1)
    try:
        landing = settings.landing_dir / "synthetic"
        generated = generate_traces(
            GeneratorConfig(calls=args.calls, days=args.days, start=START, seed=7), landing, progress=False
        )
        [last_day_dir] = [p for p in landing.rglob(f"date={last}") if p.is_dir()]
        held = work / "held_back"
        shutil.move(last_day_dir, held)

        began = time.perf_counter()
        ingest_window(settings, START, last - timedelta(days=1))
        export_raw_days(settings, START, last - timedelta(days=1))
        load_seconds = time.perf_counter() - began
        timings = [timed_dbt(settings, engine, None, "full", work) for engine in ENGINES]

        shutil.move(held, last_day_dir)
        ingest_window(settings, last, last)
        export_raw_days(settings, last, last)
        timings += [timed_dbt(settings, engine, (last, last), "one day", work) for engine in ENGINES]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()
    driver_memory = os.environ.get("AGENTLEDGER_SPARK_DRIVER_MEMORY") or "2g"  # the profile's default
    by = {(t.engine, t.step): t for t in timings}
    rows = "\n".join(
        f"| {t.step} | {t.engine} | {t.seconds:,.1f} | {t.cpu_seconds:,.1f} | {t.peak_rss_mb:,.0f} |" for t in timings
    )
    ratios = "; ".join(
        f"{step}: Spark / DuckDB {by[('spark', step)].seconds / by[('duckdb', step)].seconds:.1f}x wall, "
        f"{by[('spark', step)].cpu_seconds / by[('duckdb', step)].cpu_seconds:.1f}x CPU"
        for step in ("full", "one day")
    )
    markdown = (
        "## DuckDB and local Spark side by side (`benchmarks/bench_engines.py`)\n\n"
        f"{generated.llm_calls:,} generated LLM calls over {args.days} days (seed 7), the last day held back; "
        f"loaded once by the product's loader, which also wrote the Parquet lake Spark reads "
        f"({load_seconds:,.0f} s for both). Each engine then runs `dbt build` (models, seeds, data tests; no "
        "unit tests) over everything, then the incremental build over the last day once it has landed. "
        f"Spark is a local session (`local[2]`, 4 shuffle partitions, driver memory {driver_memory}); "
        "CPU time and peak RSS are those of the dbt process and all its descendants, Spark's JVM included (sampled from /proc every 0.5 s).\n\n"
        "| step | engine | wall s | CPU s | peak RSS MiB |\n|---|---|---:|---:|---:|\n"
        f"{rows}\n\n{ratios}. Load average after the runs: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."
    )
    print(markdown)
    if not args.no_record:
        record_section(f"engines-{scale_label(args.calls)}", markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
