"""dbt against a hand-written DuckDB floor: the same cost marts, the same raw spans, timed in one run.

The floor is benchmarks/floor/cost_marts.sql: one SQL script with no dbt,
tests or contracts that computes fct_llm_calls (priced with the same banded,
effective-dated prices), rpt_cost_daily and rpt_cost_attribution from
raw.trace_spans and the seeds. Both sides start from the same warehouse
(raw spans inserted, seeds loaded); the floor runs on a copy of it in a child
process, then the full `dbt build` runs on the original, and the three marts
are compared with EXCEPT ALL both ways. Then one more day is inserted and the
one-day incremental build the daily pipeline runs is timed. The same one-day
build on a warehouse of FIXED_COST_CALLS calls (the same models and tests on
almost no data) is that build's floor: what dbt costs before any data.

    .venv/bin/python -m benchmarks.compare_dbt --calls 1000000 [--days 31] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

FLOOR_SQL = REPO / "benchmarks" / "floor" / "cost_marts.sql"
START = date(2026, 7, 1)
# the floor's three marts and everything they read, as dbt selectors
SAME_MARTS = ["+fct_llm_calls", "+rpt_cost_daily", "+rpt_cost_attribution"]
COMPARED = ("fct_llm_calls", "rpt_cost_daily", "rpt_cost_attribution")
# calls of the warehouse whose one-day build measures dbt's fixed cost
FIXED_COST_CALLS = 2_000
ORG_MAPPING_COLUMNS = ("agent_id", "department", "team", "cost_centre")


def ensure_org_mapping(con: duckdb.DuckDBPyConnection) -> None:
    """The floor reads the user's org mapping as dbt does; without a reference file it is empty on both sides."""
    con.execute("create schema if not exists reference_input")
    columns = ", ".join(f"{c} varchar" for c in ORG_MAPPING_COLUMNS)
    con.execute(f"create table if not exists reference_input.org_mapping ({columns})")


def write_model_matches(con: duckdb.DuckDBPyConnection) -> int:
    """floor.model_matches: every model-name combination of the raw LLM calls resolved by the
    genai-prices code of int_model_catalog_matches.py (SQL cannot run the catalog's matcher)."""
    from orchestration.ingest.lake import _matcher

    matcher = _matcher()
    combinations = con.execute(
        "select distinct provider, request_model, response_model from raw.trace_spans "
        "where operation in ('chat', 'text_completion', 'generate_content', 'embeddings')"
    ).fetchall()
    provider_map = dict(
        con.execute("select otel_provider, catalog_provider_id from reference.catalog_provider_map").fetchall()
    )
    custom_names = {
        (str(p).strip().lower(), str(m).strip().lower())
        for p, m in con.execute("select provider_id, model_id from reference.custom_model_prices").fetchall()
    }
    matches = matcher.resolve_all(combinations, provider_map, custom_names)
    typed = ", ".join(f"cast({name} as {sql_type}) as {name}" for name, sql_type in matcher.RESULT_COLUMNS.items())
    con.execute("create schema if not exists floor")
    con.register("resolved_matches", matches)
    try:
        con.execute(f"create or replace table floor.model_matches as select {typed} from resolved_matches")
    finally:
        con.unregister("resolved_matches")
    return len(matches)


def run_floor(con: duckdb.DuckDBPyConnection) -> None:
    """The whole floor on `con`: the model matches, then the SQL script's statements in order."""
    ensure_org_mapping(con)
    write_model_matches(con)
    for statement in split_statements(FLOOR_SQL.read_text()):
        con.execute(statement)


def split_statements(script: str) -> list[str]:
    """The script's statements (it holds no semicolon inside a string or comment)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def compare_marts(con: duckdb.DuckDBPyConnection, floor_schema: str = "floor") -> dict[str, dict[str, int]]:
    """Per compared mart: dbt's rows, the floor's rows, and the rows of each side missing from the
    other (EXCEPT ALL both ways), the floor's columns cast to dbt's column types."""
    result = {}
    for table in COMPARED:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? and table_catalog = current_database() "
            "order by ordinal_position",
            [table],
        ).fetchall()
        if not columns:
            raise RuntimeError(f"dbt's marts.{table} is missing: build the project first")
        dbt_side = "select " + ", ".join(f'"{c}"' for c, _ in columns) + f" from marts.{table}"
        floor_side = (
            "select " + ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns) + f" from {floor_schema}.{table}"
        )
        [(dbt_only,)] = con.execute(f"select count(*) from ({dbt_side} except all {floor_side})").fetchall()
        [(floor_only,)] = con.execute(f"select count(*) from ({floor_side} except all {dbt_side})").fetchall()
        [(dbt_rows,)] = con.execute(f"select count(*) from marts.{table}").fetchall()
        [(floor_rows,)] = con.execute(f"select count(*) from {floor_schema}.{table}").fetchall()
        result[table] = {"dbt_rows": dbt_rows, "floor_rows": floor_rows, "dbt_only": dbt_only, "floor_only": floor_only}
    return result


def compare_with_floor(warehouse: Path, floor_copy: Path) -> dict[str, dict[str, int]]:
    """compare_marts between dbt's warehouse and the floor's copy, attached read-only."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"attach '{floor_copy}' as floor_db (read_only)")
        return compare_marts(con, "floor_db.floor")
    finally:
        con.close()


def _floor_child(warehouse: str, memory_limit: str | None) -> None:
    con = duckdb.connect(warehouse)
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    t0, cpu0 = time.perf_counter(), time.process_time()
    run_floor(con)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    con.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": rss}))


def time_floor(warehouse: Path, memory_limit: str | None = None) -> dict:
    """The floor in a fresh child process (its own peak RSS, no memory left over from this one)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--floor-child", str(warehouse)]
    if memory_limit:
        command += ["--memory-limit", memory_limit]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class DbtComparison:
    calls: int
    day_calls: int
    floor: dict
    full: object  # bench_dbt.StepResult
    same_marts: object  # dbt run of the three marts and their parents only, no tests
    incremental: object
    fixed_cost_calls: int
    fixed_cost: object  # the same one-day build on a FIXED_COST_CALLS-call warehouse
    equality: dict[str, dict[str, int]]
    slowest_full: list[tuple[str, float]]
    slowest_incremental: list[tuple[str, float]]
    load_avg: float


def slowest(work: Path, count: int = 3) -> list[tuple[str, float]]:
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    timed = sorted(((r["unique_id"].split(".", 2)[-1], r["execution_time"]) for r in results), key=lambda x: -x[1])
    return timed[:count]


def generated_spans(calls: int, days: int, folder: Path) -> tuple[str, date]:
    """The generator's Parquet files of `calls` calls under `folder` (kept between runs), as a glob, and their last day."""
    from benchmarks.bench_dbt import calls_per_day, in_spawned_process
    from generators.config import GeneratorConfig
    from generators.traces import generate_traces

    if not (folder / "parquet").exists():
        config = GeneratorConfig(calls=calls, days=days, start=START, seed=7, agents=30)
        in_spawned_process(generate_traces, config, folder, "parquet", folder / "labels.csv")
    glob = str(folder / "parquet" / "**" / "*.parquet")
    return glob, START + timedelta(days=len(calls_per_day(glob, days)) - 1)


def one_day_build(warehouse: Path, glob: str, last_day: date, work: Path, label: str) -> tuple[int, object]:
    """Insert the last day's spans and run the daily pipeline's incremental build over it."""
    from benchmarks.bench_dbt import dbt_step, load_raw
    from orchestration.dbt_invocation import PRODUCTION_BUILD

    day_calls = load_raw(warehouse, glob, last_day, last_day)
    window = (str(last_day), str(last_day))
    return day_calls, dbt_step(["build", *PRODUCTION_BUILD], warehouse, work, label, window=window)


def fixed_cost(days: int, work: Path) -> object:
    """The one-day build on a warehouse of FIXED_COST_CALLS calls, built in full first, as the big one was."""
    from benchmarks.bench_dbt import dbt_step, load_raw

    glob, last_day = generated_spans(FIXED_COST_CALLS, days, work / "generated_fixed_cost")
    warehouse = work / "fixed_cost.duckdb"
    warehouse.unlink(missing_ok=True)
    load_raw(warehouse, glob, START, last_day - timedelta(days=1))
    dbt_step(["build"], warehouse, work, "compare_fixed_cost_build")
    _, build = one_day_build(warehouse, glob, last_day, work, "compare_fixed_cost_day")
    warehouse.unlink()
    return build


def compare(calls: int, days: int, work: Path, memory_limit: str | None = None) -> DbtComparison:
    from benchmarks.bench_dbt import dbt_step, in_spawned_process, load_raw

    glob, last_day = generated_spans(calls, days, work / "generated")

    warehouse = work / "dbt.duckdb"
    floor_copy = work / "floor_copy.duckdb"
    for stale in (warehouse, floor_copy):
        stale.unlink(missing_ok=True)
    history_calls = load_raw(warehouse, glob, START, last_day - timedelta(days=1))
    dbt_step(["seed"], warehouse, work, "compare_seed")
    con = duckdb.connect(str(warehouse))
    ensure_org_mapping(con)
    con.close()
    shutil.copyfile(warehouse, floor_copy)
    selected_copy = work / "selected_copy.duckdb"
    shutil.copyfile(warehouse, selected_copy)

    load_before = os.getloadavg()[0]
    floor = time_floor(floor_copy, memory_limit)
    same_marts = dbt_step(["run", "--select", *SAME_MARTS], selected_copy, work, "compare_same_marts")
    selected_copy.unlink()
    full = dbt_step(["build"], warehouse, work, "compare_build")
    slowest_full = slowest(work)
    load_avg = max(load_before, os.getloadavg()[0])

    # in its own process: on Linux a child's peak RSS (wait4's ru_maxrss) starts from its parent's at the
    # fork, so DuckDB's memory here would inflate the peak RSS reported for every later dbt command
    equality = in_spawned_process(compare_with_floor, warehouse, floor_copy)
    floor_copy.unlink()

    day_calls, incremental = one_day_build(warehouse, glob, last_day, work, "compare_incremental")
    slowest_incremental = slowest(work)
    fixed_cost_build = fixed_cost(days, work)
    return DbtComparison(
        history_calls,
        day_calls,
        floor,
        full,
        same_marts,
        incremental,
        FIXED_COST_CALLS,
        fixed_cost_build,
        equality,
        slowest_full,
        slowest_incremental,
        load_avg,
    )


def report(c: DbtComparison) -> list[str]:
    """Print the figures and return the docs section's markdown lines."""
    ratio = c.full.seconds / c.floor["seconds"]
    same_ratio = c.same_marts.seconds / c.floor["seconds"]
    cpu_ratio = c.full.cpu_seconds / c.floor["cpu_seconds"] if c.floor["cpu_seconds"] else float("nan")
    equal = all(v["dbt_only"] == 0 and v["floor_only"] == 0 for v in c.equality.values())
    print(
        f"dbt vs floor on {c.calls:,} calls: floor {c.floor['seconds']:.1f} s (CPU {c.floor['cpu_seconds']:.1f} s, "
        f"peak RSS {c.floor['peak_rss_mb']:,.0f} MiB); full dbt build {c.full.seconds:.1f} s (CPU {c.full.cpu_seconds:.1f} s, "
        f"peak RSS {c.full.peak_rss_mb:,.0f} MiB, {c.full.models} models, {c.full.tests} tests, {c.full.failed} failed); "
        f"ratio dbt/floor {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (target <= 1.5x); load average {c.load_avg:.1f}",
        flush=True,
    )
    print(
        f"dbt run of the same three marts and their parents only (no tests): {c.same_marts.seconds:.1f} s "
        f"(CPU {c.same_marts.cpu_seconds:.1f} s, {c.same_marts.models} models); ratio to the floor {same_ratio:.2f}x"
    )
    for table, v in c.equality.items():
        print(
            f"  {table}: dbt {v['dbt_rows']:,} rows, floor {v['floor_rows']:,}; only in dbt {v['dbt_only']}, "
            f"only in floor {v['floor_only']}"
        )
    fixed_ratio = c.incremental.seconds / c.fixed_cost.seconds
    print(
        f"one-day incremental build ({c.day_calls:,} calls): {c.incremental.seconds:.1f} s "
        f"(target <= 20 s, {c.incremental.seconds / 20:.2f}x of it); the same build on a "
        f"{c.fixed_cost_calls:,}-call warehouse (dbt's fixed cost) {c.fixed_cost.seconds:.1f} s, ratio {fixed_ratio:.2f}x"
    )
    print("slowest nodes of the full build: " + ", ".join(f"{n} {s:.1f} s" for n, s in c.slowest_full))
    print("slowest nodes of the one-day build: " + ", ".join(f"{n} {s:.1f} s" for n, s in c.slowest_incremental))

    lines = [
        "## Side by side: dbt vs a hand-written DuckDB floor (`benchmarks/bench_compare.py`)",
        "",
        "The same raw spans (synthetic generator, seed 7, 30 agents) and seeds; the floor is",
        "`benchmarks/floor/cost_marts.sql`, one script with no dbt, tests or contracts computing `fct_llm_calls`",
        "(same banded, effective-dated prices), `rpt_cost_daily` and `rpt_cost_attribution`, run on a copy of the",
        "warehouse in its own process; then the full `dbt build` (every model and data test of the project) on the",
        "original. Targets: dbt <= 1.5x the floor; one-day incremental build <= 20 s.",
        "",
        "| side | LLM calls | wall s | CPU s | peak RSS MiB | what it builds | 1-min load avg |",
        "|---|---:|---:|---:|---:|---|---:|",
        f"| hand-written floor | {c.calls:,} | {c.floor['seconds']:.1f} | {c.floor['cpu_seconds']:.1f} "
        f"| {c.floor['peak_rss_mb']:,.0f} | 3 tables | {c.load_avg:.1f} |",
        f"| full `dbt build` | {c.calls:,} | {c.full.seconds:.1f} | {c.full.cpu_seconds:.1f} | {c.full.peak_rss_mb:,.0f} "
        f"| {c.full.models} models, {c.full.tests} tests ({c.full.failed} failed) | {c.load_avg:.1f} |",
        f"| `dbt run` of the same 3 marts and their parents, no tests | {c.calls:,} | {c.same_marts.seconds:.1f} "
        f"| {c.same_marts.cpu_seconds:.1f} | {c.same_marts.peak_rss_mb:,.0f} | {c.same_marts.models} models | {c.load_avg:.1f} |",
        f"| one-day incremental build | {c.day_calls:,} | {c.incremental.seconds:.1f} | {c.incremental.cpu_seconds:.1f} "
        f"| {c.incremental.peak_rss_mb:,.0f} | {c.incremental.models} models, {c.incremental.tests} tests | {os.getloadavg()[0]:.1f} |",
        f"| the same one-day build on a {c.fixed_cost_calls:,}-call warehouse (dbt's fixed cost) "
        f"| {c.fixed_cost_calls:,} | {c.fixed_cost.seconds:.1f} | {c.fixed_cost.cpu_seconds:.1f} "
        f"| {c.fixed_cost.peak_rss_mb:,.0f} | {c.fixed_cost.models} models, {c.fixed_cost.tests} tests "
        f"| {os.getloadavg()[0]:.1f} |",
        "",
        f"- Ratio dbt / floor: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU against <= 1.5x "
        f"({'met' if ratio <= 1.5 else 'missed'}). The dbt build computes the whole project (every mart, dimension",
        "  and data test), the floor only the three marts compared, so the ratio bounds what dbt costs over",
        "  plain SQL from above.",
        f"- Like for like (`dbt run --select {' '.join(SAME_MARTS)}`, no tests): {same_ratio:.2f}x the floor.",
        f"- One-day incremental build: {c.incremental.seconds:.1f} s against <= 20 s "
        f"({'met' if c.incremental.seconds <= 20 else 'missed'}); {fixed_ratio:.2f}x its floor, the same models and "
        f"tests on a {c.fixed_cost_calls:,}-call warehouse ({c.fixed_cost.seconds:.1f} s: dbt's start-up, and each "
        "node's compile, statements and commit).",
        f"- Results {'equal' if equal else 'DIFFER'} (EXCEPT ALL both ways, the floor's columns cast to dbt's types): "
        + "; ".join(
            f"`{t}` {v['dbt_rows']:,} rows, {v['dbt_only']} only in dbt, {v['floor_only']} only in the floor"
            for t, v in c.equality.items()
        )
        + ".",
        "- Slowest nodes of the full build: " + ", ".join(f"`{n}` {s:.1f} s" for n, s in c.slowest_full) + ".",
        "- Slowest nodes of the one-day build: "
        + ", ".join(f"`{n}` {s:.1f} s" for n, s in c.slowest_incremental)
        + ".",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=31, help="generated days; the last is the incremental day")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed after)")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit of the floor's connection")
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_child:
        _floor_child(args.floor_child, args.memory_limit)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-dbt-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = compare(args.calls, args.days, work, args.memory_limit)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
