"""dbt build figures: full build on 1M and 10M calls, one-day incremental runs on top of each, analyst queries.

Usage: python -m benchmarks.bench_dbt [--work DIR] [--calls 10100000] [--days 101] [--select SELECTOR]

Generates traces with the synthetic generator (deterministic seed), inserts
them into raw.trace_spans with DuckDB (the loader's own cost is measured by
the ingestion benchmark, not here), then times dbt in a child process and
reads that child's peak RSS from wait4(). Each one-day incremental run adds
the next generated day (~1% of the 10M calls) and passes it as the partition
window, as the daily pipeline does: in the environment variables
AGENTLEDGER_WINDOW_MIN_DATE/MAX_DATE, not `--vars`, so that dbt parses the
project partially, and without unit tests, which Dagster leaves to CI; the
same day's work on 1M and on 10M of history shows whether the daily run grows
with the history. Then
times the analyst queries of the issue on the 10M warehouse, read-only: a
month of daily cost by agent, and one agent's detail page (overview, daily
trend, model mix, peer rank). Writes the "dbt" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from benchmarks.record import record_section
from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS, raw_table_ddl
from orchestration.dbt_invocation import CAUTIOUS_TESTS, PRODUCTION_BUILD, run_dbt

START = date(2026, 7, 1)
PRICING_SELECT = ["+fct_llm_calls", "rpt_unpriced_models"]
ANALYST_QUERIES = {
    "a month of daily cost by agent": [
        """select call_date, agent_id, sum(total_cost_usd) as cost_usd
        from marts.rpt_cost_daily
        where call_date > (select max(call_date) from marts.rpt_cost_daily) - 30
        group by call_date, agent_id order by call_date, agent_id""",
    ],
    "one agent's detail (overview, daily trend, models, peer rank)": [
        "select * from marts.rpt_agent_overview where agent_id = $agent",
        "select * from marts.rpt_agent_daily where agent_id = $agent order by call_date",
        "select * from marts.rpt_agent_models where agent_id = $agent order by total_cost_usd desc",
        "select * from marts.rpt_agent_peer_rank where agent_id = $agent",
    ],
}


@dataclass(frozen=True)
class StepResult:
    label: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    models: int
    tests: int
    failed: int


def dbt_step(
    args: list[str], warehouse: Path, work: Path, label: str, window: tuple[str, str] | None = None
) -> StepResult:
    """Run one dbt command as the pipeline does (`window` as its partition window); wall time and the child's peak RSS."""
    run = run_dbt(args, warehouse, work, window=window, label=label, check=False)
    results_path = run.target_dir / "run_results.json"
    if run.returncode != 0 and (not results_path.exists() or results_path.stat().st_mtime < time.time() - run.seconds):
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {run.returncode}); see {run.output_path}")
    results = json.loads(results_path.read_text())["results"]
    models = sum(1 for r in results if r["unique_id"].startswith("model."))
    tests = sum(1 for r in results if r["unique_id"].startswith(("test.", "unit_test.")))
    # a failing data test or model elsewhere in the project is reported, not fatal: the timing still stands
    failed = sum(1 for r in results if r["status"] in ("error", "fail"))
    return StepResult(label, run.seconds, run.cpu_seconds, run.peak_rss_mb, models, tests, failed)


@dataclass(frozen=True)
class QueryTiming:
    label: str
    statements: int
    rows: int
    first_ms: float
    median_ms: float
    p95_ms: float


def time_analyst_queries(warehouse: Path, repeats: int = 30) -> list[QueryTiming]:
    """Each question's statements on one read-only connection: the first run, then the median and p95 of `repeats`."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        [(agent,)] = conn.execute(
            "select agent_id from marts.rpt_top_agents where ranking_window = 'full_range' and cost_rank = 1"
        ).fetchall()
        timings = []
        for label, statements in ANALYST_QUERIES.items():
            samples = []
            rows = 0
            for _ in range(repeats + 1):
                began = time.perf_counter()
                rows = sum(
                    len(conn.execute(sql, {"agent": agent} if "$agent" in sql else None).fetchall())
                    for sql in statements
                )
                samples.append((time.perf_counter() - began) * 1000)
            warm = sorted(samples[1:])
            timings.append(
                QueryTiming(
                    label, len(statements), rows, samples[0], warm[len(warm) // 2], warm[int(len(warm) * 0.95) - 1]
                )
            )
        return timings
    finally:
        conn.close()


def slowest_nodes(work: Path, count: int = 8) -> tuple[float, float, list[tuple[str, float]]]:
    """From the last run's results: seconds spent in models, in tests, and the slowest models."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    models = sorted(
        ((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results if r["unique_id"].startswith("model.")),
        key=lambda item: -item[1],
    )
    tests = sum(r["execution_time"] for r in results if not r["unique_id"].startswith("model."))
    return sum(t for _, t in models), tests, models[:count]


def built_models(work: Path) -> list[str]:
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return sorted(r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model."))


def in_spawned_process(function, *args):
    """function(*args) in a fresh process. Memory this process allocated (DuckDB's
    buffers, the generator's frames) would stay here, and a dbt child forked
    from this process would report it as its own peak RSS."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def load_raw(warehouse: Path, parquet_glob: str, first_day: date, last_day: date) -> int:
    """Insert generated spans of [first_day, last_day] into raw.trace_spans; returns model calls added."""
    return in_spawned_process(_insert_raw, warehouse, parquet_glob, first_day, last_day)


def _insert_raw(warehouse: Path, parquet_glob: str, first_day: date, last_day: date) -> int:
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("create schema if not exists raw")
        conn.execute(raw_table_ddl())
        before = conn.execute(
            f"select count(*) from {RAW_SPANS_TABLE} where operation in ('chat','text_completion','generate_content','embeddings')"
        ).fetchone()[0]
        conn.execute(
            f"""
            insert into {RAW_SPANS_TABLE}
            select {", ".join(TRACE_COLUMNS)}, filename, row_number() over (), 'parquet', now()
            from read_parquet('{parquet_glob}', filename = true, hive_partitioning = false)
            where started_at >= date '{first_day}' and started_at < date '{last_day + timedelta(days=1)}'
            """
        )
        after = conn.execute(
            f"select count(*) from {RAW_SPANS_TABLE} where operation in ('chat','text_completion','generate_content','embeddings')"
        ).fetchone()[0]
        return after - before
    finally:
        conn.close()


def calls_per_day(parquet_glob: str, days: int) -> list[int]:
    return in_spawned_process(_count_calls_per_day, parquet_glob, days)


def _count_calls_per_day(parquet_glob: str, days: int) -> list[int]:
    rows = duckdb.sql(
        f"""
        select cast(started_at as date) as d, count(*) from read_parquet('{parquet_glob}')
        where operation in ('chat','text_completion','generate_content','embeddings')
        group by d order by d
        """
    ).fetchall()
    return [n for _, n in rows][:days]


def first_days_with(calls: list[int], target: int) -> int:
    total = 0
    for i, n in enumerate(calls):
        total += n
        if total >= target:
            return i + 1
    return len(calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch directory (default: a temp dir, removed after)"
    )
    parser.add_argument("--calls", type=int, default=10_100_000, help="calls to generate (10M plus one ~100k day)")
    parser.add_argument("--days", type=int, default=101)
    parser.add_argument("--small", type=int, default=1_000_000, help="call count of the smaller full build")
    parser.add_argument("--select", default=None, help="dbt selector for the full builds (default: the whole project)")
    parser.add_argument(
        "--generated", type=Path, default=None, help="reuse a generated parquet dataset (OUT dir of the generator)"
    )
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_dbt_"))
    work.mkdir(parents=True, exist_ok=True)
    select = ["--select", *args.select.split()] if args.select else []
    try:
        generated = args.generated or work / "generated"
        if args.generated is None:
            from generators.config import GeneratorConfig
            from generators.traces import generate_traces

            config = GeneratorConfig(calls=args.calls, days=args.days, start=START, seed=7, agents=30)
            in_spawned_process(generate_traces, config, generated, "parquet", work / "labels.csv")
        glob = str(generated / "parquet" / "**" / "*.parquet")
        per_day = calls_per_day(glob, args.days)
        last_day = START + timedelta(days=len(per_day) - 1)
        small_days = first_days_with(per_day, args.small)

        figures: list[tuple[str, int, StepResult]] = []
        # 1M: a fresh warehouse with the first days
        small = work / "small.duckdb"
        small_calls = load_raw(small, glob, START, START + timedelta(days=small_days - 1))
        dbt_step(["seed"], small, work, "seed_small")
        figures.append(("full build", small_calls, dbt_step(["build", *select], small, work, "build_small")))
        # the same one-day run as on 10M below, on a tenth of the history: the
        # daily run's cost should follow the day's volume, not the history's
        next_day = START + timedelta(days=small_days)
        small_day_calls = load_raw(small, glob, next_day, next_day)
        figures.append(
            (
                "incremental, one day, whole build as the daily run does it, on top of the smaller build",
                small_day_calls,
                dbt_step(
                    ["build", *select, *PRODUCTION_BUILD],
                    small,
                    work,
                    "incremental_build_small",
                    window=(str(next_day), str(next_day)),
                ),
            )
        )
        small.unlink()

        # 10M: everything but the last day, then the last day incrementally
        big = work / "big.duckdb"
        big_calls = load_raw(big, glob, START, last_day - timedelta(days=1))
        dbt_step(["seed"], big, work, "seed_big")
        figures.append(("full build", big_calls, dbt_step(["build", *select], big, work, "build_big")))
        models_full = built_models(work)
        day_calls = load_raw(big, glob, last_day, last_day)
        window = (str(last_day), str(last_day))
        figures.append(
            (
                "incremental, one day, pricing models (+fct_llm_calls)",
                day_calls,
                dbt_step(
                    ["run", "--select", *PRICING_SELECT, *CAUTIOUS_TESTS],
                    big,
                    work,
                    "incremental_pricing",
                    window=window,
                ),
            )
        )
        figures.append(
            (
                "incremental, one day, whole build as the daily run does it (models and data tests), on top of the larger build",
                day_calls,
                dbt_step(["build", *select, *PRODUCTION_BUILD], big, work, "incremental_build", window=window),
            )
        )
        daily_models_s, daily_tests_s, daily_slowest = slowest_nodes(work)
        queries = time_analyst_queries(big)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    lines = [
        "## dbt (benchmarks/bench_dbt.py)",
        "",
        "Synthetic traces (generator seed 7, 30 agents) inserted into raw.trace_spans, then dbt in a child "
        "process; wall time and that process's peak RSS. Targets: 10M full build < 3 min; one-day incremental < 20 s.",
        "",
        "| step | model calls | wall time | CPU time | peak RSS | models | tests | failed nodes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, calls, step in figures:
        lines.append(
            f"| {label} | {calls:,} | {step.seconds:.1f} s | {step.cpu_seconds:.1f} s | {step.peak_rss_mb:,.0f} MiB "
            f"| {step.models} | {step.tests} | {step.failed} |"
        )
    lines += [
        "",
        f"Where the one-day run's time goes (dbt's own timings; two dbt threads, so they overlap): models "
        f"{daily_models_s:.1f} s, data tests {daily_tests_s:.1f} s; the rest of the wall time is dbt starting and "
        "parsing the project (partially: the window comes in environment variables, not vars). Slowest models: "
        + ", ".join(f"`{name}` {seconds:.1f} s" for name, seconds in daily_slowest)
        + ".",
    ]
    lines += [
        "",
        f"Analyst queries on the 10M warehouse (read-only DuckDB connection, target < 100 ms; first run, then median "
        f"and p95 of {30} runs):",
        "",
        "| question | statements | rows | first run | median | p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for q in queries:
        lines.append(
            f"| {q.label} | {q.statements} | {q.rows:,} | {q.first_ms:.1f} ms | {q.median_ms:.1f} ms | {q.p95_ms:.1f} ms |"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines += [
        "",
        f"Machine load average at the end of the run (1, 5, 15 min): {load} on {os.cpu_count()} cores; "
        "other jobs sharing the machine inflate the wall times.",
    ]
    lines += ["", f"Models in the full build ({len(models_full)}): " + ", ".join(f"`{m}`" for m in models_full) + "."]
    markdown = "\n".join(lines)
    print(markdown)
    record_section("dbt", markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
