"""Time a dropped file's way to the published marts and the report site, as a user runs it.

    python -m benchmarks.bench_freshness [--calls N] [--drops 5]

Builds a demo-sized warehouse in a temporary data directory (`agentledger
demo`: the synthetic dataset, the whole pipeline, the report site), then
starts the real Dagster daemon and webserver as `make dev` does (in their own
process group), turns the landing sensor on and drops files for today into
the landing folder one after the other, each written under a temporary name
and renamed into place. For each drop it measures:

- drop -> queryable: until the drop's calls are in `marts.fct_llm_calls` of
  `<data>/published/agentledger.duckdb`;
- drop -> site updated: until a report-site build that started after that
  publish has finished (several publishes coalesce into one build).

It prints each drop, the median and the worst, the load average, and writes
the "freshness" section of docs/benchmarks.md. CPU-heavy: a full demo run,
then a few minutes of pipeline runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.record import record_section
from orchestration.dagster_dev import BIN, dagster_dev, dagster_instance_env

REPO = Path(__file__).resolve().parents[1]
SITE_JOB = "agentledger_report_site"
QUERYABLE_TIMEOUT_S = 600
SITE_TIMEOUT_S = 900


def bench_env(data_dir: Path, calls: int) -> dict[str, str]:
    env = {**dagster_instance_env(data_dir), "AGENTLEDGER_DEMO_CALLS": str(calls)}
    env.pop("AGENTLEDGER_WAREHOUSE", None)
    return env


def make_drop(staging: Path, index: int, calls: int, now: dt.datetime) -> tuple[Path, int]:
    """One Parquet file of today's spans, all started before `now`, with ids of their own."""
    from generators import GeneratorConfig, generate_traces

    today = now.date()
    raw = staging / f"raw-{index}"
    generate_traces(
        GeneratorConfig(calls=calls, days=1, start=today, seed=1000 + index, agents=4),
        raw,
        fmt="parquet",
        progress=False,
    )
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC).replace(tzinfo=None)
    # The generator spreads calls over the whole day: squeeze them into the part already past.
    squeeze = max((now.replace(tzinfo=None) - midnight).total_seconds() - 120, 60) / 86_400
    out = staging / f"drop-{index}.parquet"
    con = duckdb.connect()
    try:
        con.execute(
            f"""
            copy (
                select * replace (
                    timestamp '{midnight:%Y-%m-%d %H:%M:%S}'
                        + to_microseconds(cast(epoch(started_at - timestamp '{midnight:%Y-%m-%d %H:%M:%S}') * 1e6
                                               * {squeeze} as bigint)) as started_at,
                    'bench{index}-' || span_id as span_id,
                    'bench{index}-' || parent_span_id as parent_span_id,
                    'bench{index}-' || trace_id as trace_id
                )
                from read_parquet('{raw}/**/*.parquet')
            ) to '{out}' (format parquet)
            """
        )
        spans = con.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]
    finally:
        con.close()
    shutil.rmtree(raw)
    return out, spans


def calls_published(published: Path, drop: Path) -> int:
    """The drop's calls in the published copy (0 while it is not there, or being swapped)."""
    if not published.exists():
        return 0
    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:
        return 0
    try:
        return con.execute(
            f"select count(*) from marts.fct_llm_calls where span_id in (select span_id from read_parquet('{drop}'))"
        ).fetchone()[0]
    except duckdb.Error:
        return 0
    finally:
        con.close()


def site_builds(home: Path) -> list[tuple[float, float]]:
    """(start, end) of each successful report-site run recorded in the instance."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(
            filters=dg.RunsFilter(job_name=SITE_JOB, statuses=[dg.DagsterRunStatus.SUCCESS])
        )
        return [(r.start_time, r.end_time) for r in records if r.start_time and r.end_time]


WAREHOUSE_JOB = "agentledger_warehouse"


def run_breakdown(home: Path, dropped_at: float, queryable_at: float) -> dict[str, float]:
    """Where one drop's time went, from the Dagster instance: the run that published it and its steps.

    The run is the first successful warehouse run created after the drop. Keys:
    `to run` (drop -> the sensor's run created), `start-up` (run created ->
    its first step started), each step's seconds by step name, and `to
    queryable` (the last step's end -> the benchmark saw the calls).
    """
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(
            filters=dg.RunsFilter(job_name=WAREHOUSE_JOB, statuses=[dg.DagsterRunStatus.SUCCESS])
        )
        runs = sorted(
            (r for r in records if r.create_timestamp.timestamp() >= dropped_at), key=lambda r: r.create_timestamp
        )
        if not runs:
            return {}
        run = runs[0]
        steps = sorted(
            (s for s in instance.get_run_step_stats(run.dagster_run.run_id) if s.start_time and s.end_time),
            key=lambda s: s.start_time,
        )
    created = run.create_timestamp.timestamp()
    breakdown = {"to run": created - dropped_at}
    if steps:
        breakdown["start-up"] = steps[0].start_time - created
        for step in steps:
            breakdown[step.step_key] = breakdown.get(step.step_key, 0.0) + step.end_time - step.start_time
        breakdown["to queryable"] = queryable_at - steps[-1].end_time
    return breakdown


def breakdown_table(breakdowns: list[dict[str, float]]) -> str:
    """Median seconds of each stage over the drops, in the order the stages ran."""
    stages: list[str] = []
    for breakdown in breakdowns:
        stages += [stage for stage in breakdown if stage not in stages]
    rows = [f"| {stage} | {statistics.median(b.get(stage, 0.0) for b in breakdowns):.1f} s |" for stage in stages]
    return "| stage | median |\n|---|---:|\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300_000, help="LLM calls in the demo warehouse")
    parser.add_argument("--drops", type=int, default=5, help="files dropped, one after the other")
    parser.add_argument("--drop-calls", type=int, default=220, help="LLM calls per dropped file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agentledger-bench-freshness-") as tmp:
        data_dir = Path(tmp) / "data"
        env = bench_env(data_dir, args.calls)
        started = time.monotonic()
        subprocess.run([str(BIN / "agentledger"), "demo"], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"demo warehouse ({args.calls:,} calls) built in {time.monotonic() - started:.0f} s", flush=True)

        with dagster_dev(env, data_dir / "logs" / "dagster-dev.log"):
            subprocess.run(
                [str(BIN / "dagster"), "sensor", "start", "landing_sensor"],
                cwd=REPO,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            staging = data_dir / "bench-staging"  # same file system as the landing folder: rename is atomic
            staging.mkdir()
            landing = data_dir / "landing" / "bench"
            landing.mkdir(parents=True)
            published = data_dir / "published" / "agentledger.duckdb"
            drops = []
            for index in range(1, args.drops + 1):
                drop, spans = make_drop(staging, index, args.drop_calls, dt.datetime.now(dt.UTC))
                dropped_at = time.time()
                os.replace(drop, landing / drop.name)
                copy = staging / f"ids-{index}.parquet"
                shutil.copyfile(landing / drop.name, copy)
                deadline = time.monotonic() + QUERYABLE_TIMEOUT_S
                while calls_published(published, copy) == 0:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"drop {index} not queryable after {QUERYABLE_TIMEOUT_S} s")
                    time.sleep(1)
                queryable_at = time.time()
                drops.append({"spans": spans, "dropped": dropped_at, "queryable": queryable_at})
                print(f"drop {index}: {spans} spans, queryable after {queryable_at - dropped_at:.0f} s", flush=True)

            home = Path(env["DAGSTER_HOME"])
            deadline = time.monotonic() + SITE_TIMEOUT_S
            while True:
                builds = site_builds(home)
                if any(start >= drops[-1]["queryable"] for start, _ in builds):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no report-site build after the last publish within {SITE_TIMEOUT_S} s")
                time.sleep(5)
            for d in drops:
                d["site_start"], d["site"] = min(
                    ((start, end) for start, end in builds if start >= d["queryable"]), key=lambda b: b[1]
                )
                d["breakdown"] = run_breakdown(home, d["dropped"], d["queryable"])

    load = os.getloadavg()
    to_query = [d["queryable"] - d["dropped"] for d in drops]
    to_site = [d["site"] - d["dropped"] for d in drops]
    rows = "\n".join(
        f"| {i} | {d['spans']} | {q:.0f} s | {s:.0f} s | {d['site_start'] - d['queryable']:.0f} s "
        f"| {d['site'] - d['site_start']:.0f} s |"
        for i, (d, q, s) in enumerate(zip(drops, to_query, to_site, strict=True), 1)
    )
    build_times = [round(end - start) for start, end in sorted({(d["site_start"], d["site"]) for d in drops})]
    summary = (
        f"drop -> queryable: median {statistics.median(to_query):.0f} s, worst {max(to_query):.0f} s; "
        f"drop -> site updated: median {statistics.median(to_site):.0f} s, worst {max(to_site):.0f} s; "
        f"the {len(build_times)} site build(s) that served them took {', '.join(f'{b} s' for b in build_times)}"
    )
    stages = breakdown_table([d["breakdown"] for d in drops if d["breakdown"]])
    print(summary)
    print(stages)
    print(f"load average: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    record_section(
        "freshness",
        "## Freshness (`benchmarks/bench_freshness.py`)\n\n"
        f"`agentledger demo` ({args.calls:,} calls) in a temporary data directory, then `dagster dev` (daemon and "
        f"webserver) with `landing_sensor` on; {args.drops} Parquet files of today's spans "
        f"({args.drop_calls} LLM calls each) renamed into `landing/` one after the other, each once the one "
        "before is queryable. Queryable: the drop's calls are in `marts.fct_llm_calls` of the published "
        "file. Site updated: a report-site build that started after that publish has finished. Targets: "
        "queryable in at most 60 s at the median and 90 s at the worst; site within 3 min.\n\n"
        "Publish -> build start: from the drop being queryable to the start of the report-site run that "
        "served it (waiting behind the build of an earlier publish, the sensor's look, the run queue); "
        "build: that run's start to its end.\n\n"
        "| drop | spans | drop -> queryable | drop -> site updated | publish -> build start | build |\n"
        "|---:|---:|---:|---:|---:|---:|\n"
        f"{rows}\n\n{summary}.\n\n"
        "Where the time to queryable goes (from the Dagster instance: the drop to the run the landing sensor "
        "created, the run's creation to its first step, each step, and the last step's end to the "
        "benchmark's next look at the published file):\n\n"
        f"{stages}\n\n"
        f"Load average after the runs: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
    )


if __name__ == "__main__":
    main()
