"""One machine at scale: generate, load and fully build N calls, then one incremental day, with DuckDB's
memory limit set.

    python -m benchmarks.bench_scale [--scale 1m|10m|100m|N] [--days 31] [--memory-limit 10GB] [--work DIR]
        [--remove-loaded-files] [--resume]

Each stage runs in its own child process, measured with every process it
starts (wall time, CPU time, peak RSS sampled from /proc) and followed by the
disk use of the data folder and of DuckDB's spill folder:

1. generate: the synthetic generator writes all days as Parquet into the
   landing folder; the last day is then held back;
2. load: the product's loader (`ingest_window`) loads every other day;
3. full build: `dbt build --full-refresh` (models, seeds and data tests) with
   AGENTLEDGER_DBT_MEMORY_LIMIT set, so DuckDB spills to
   AGENTLEDGER_DBT_TEMP_DIR instead of growing past it;
4. one day: the held-back day lands, is loaded, and the incremental build
   runs over that day, as the daily pipeline does.

Each finished stage's figures are kept in <work>/stages.json: after a failure,
`--resume` with the same --work folder runs only the stages left.

Prints the figures and writes the "scale-<N>" section of docs/benchmarks.md.
`make benchmarks` runs it at 1M calls. 100M is run by hand, with
`AGENTLEDGER_DBT_THREADS=1 ... --scale 100m --memory-limit 12GB --remove-loaded-files`:
about 35 min here, 35 GB of data and up to 20 GB of spill. One dbt thread,
because side-by-side models share the memory limit and spill together (four
threads filled 51 GB of spill, then the disk; docs/benchmarks.md, "100M calls").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.measure import Measured, dbt_build_command, run_measured
from benchmarks.record import parse_scale, record_section, scale_label

REPO = Path(__file__).resolve().parents[1]
START = date(2026, 7, 1)


@dataclass(frozen=True)
class Stage:
    name: str
    measured: Measured
    data_gb: float  # the data folder (landing files, warehouse) after the stage
    spill_gb: float  # DuckDB's spill folder at its largest during the stage


def folder_gb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def child(stage: str, calls: int, days: int) -> None:
    """The work of one stage, in the child process `run_measured` watches."""
    from generators import GeneratorConfig, generate_traces
    from orchestration.ingest import ingest_window
    from orchestration.settings import load_settings

    settings = load_settings()
    last = START + timedelta(days=days - 1)
    if stage == "generate":
        generate_traces(
            GeneratorConfig(calls=calls, days=days, start=START, seed=7), settings.landing_dir / "synthetic",
            progress=False,
        )  # fmt: skip
    elif stage == "load":
        ingest_window(settings, START, last - timedelta(days=1))
    elif stage == "load-day":
        ingest_window(settings, last, last)
    else:
        raise ValueError(f"unknown stage {stage!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1m", help="LLM calls generated: 1m, 10m, 100m or a number")
    parser.add_argument("--days", type=int, default=31, help="days generated; the last is the incremental day")
    parser.add_argument(
        "--memory-limit", default="10GB", help="DuckDB memory limit of the dbt builds (AGENTLEDGER_DBT_MEMORY_LIMIT)"
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed after)")
    parser.add_argument(
        "--remove-loaded-files", action="store_true",
        help="delete the landing files once loaded (the loader's ledger keeps them loaded), so that 100M calls fit "
        "in about 15 GB less disk",
    )  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true",
        help="with --work: keep the stages an earlier run of the same folder finished (their figures are in "
        "stages.json there) and run the rest",
    )  # fmt: skip
    parser.add_argument("--no-record", action="store_true", help="print only, do not write docs/benchmarks.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.resume and args.work is None:
        parser.error("--resume needs the --work folder of the run to resume")
    calls = parse_scale(args.scale)
    if args.child:
        child(args.child, calls, args.days)
        return 0

    from orchestration.dbt_invocation import window_env
    from orchestration.settings import DBT_PROJECT_DIR

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir, spill = work / "data", work / "spill"
    env = {
        **os.environ,
        "AGENTLEDGER_DATA_DIR": str(data_dir),
        "AGENTLEDGER_ENGINE": "duckdb",
        "AGENTLEDGER_DBT_MEMORY_LIMIT": args.memory_limit,
        "AGENTLEDGER_DBT_TEMP_DIR": str(spill),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    for variable in ("AGENTLEDGER_WAREHOUSE", *window_env(None)):
        env.pop(variable, None)
    python = [sys.executable, "-m", "benchmarks.bench_scale", "--scale", str(calls), "--days", str(args.days)]
    last = START + timedelta(days=args.days - 1)
    dbt = dbt_build_command(work, "dbt")
    # each finished stage's figures, so that --resume can skip it after a failure later on
    progress = work / "stages.json"
    finished = json.loads(progress.read_text()) if args.resume and progress.exists() else {}
    stages: list[Stage] = []

    def save_progress() -> None:
        progress.write_text(json.dumps(finished, indent=2))

    def stage(name: str, command: list[str], stage_env: dict[str, str], cwd: Path) -> bool:
        """Run and measure one stage; False when --resume found it finished in an earlier run."""
        if name in finished:
            stages.append(Stage(name, Measured(**finished[name]["measured"]), finished[name]["data_gb"],
                                finished[name]["spill_gb"]))  # fmt: skip
            print(f"{name}: finished in an earlier run of {work}", flush=True)
            return False
        spill_peak = 0.0

        def follow_spill() -> None:
            nonlocal spill_peak
            spill_peak = max(spill_peak, folder_gb(spill))

        log = work / f"{name.replace(' ', '-')}.log"
        measured = run_measured(command, env=stage_env, cwd=cwd, log=log, what=name, on_tick=follow_spill)
        stages.append(Stage(name, measured, folder_gb(data_dir), spill_peak))
        finished[name] = asdict(stages[-1])
        save_progress()
        print(f"{name}: {measured.seconds:,.1f} s, CPU {measured.cpu_seconds:,.1f} s, "
              f"peak RSS {measured.peak_rss_mb:,.0f} MiB, data {stages[-1].data_gb:.2f} GB", flush=True)  # fmt: skip
        return True

    landing = data_dir / "landing" / "synthetic"
    held = work / "held_back"
    try:
        if stage("generate", [*python, "--child", "generate"], env, REPO):
            [last_day_dir] = [p for p in landing.rglob(f"date={last}") if p.is_dir()]
            shutil.move(last_day_dir, held)
            finished["generate"]["last_day_dir"] = str(last_day_dir)
            save_progress()
        last_day_dir = Path(finished["generate"]["last_day_dir"])
        if stage("load", [*python, "--child", "load"], env, REPO) and args.remove_loaded_files:
            shutil.rmtree(landing)
            last_day_dir.parent.mkdir(parents=True)
        # --full-refresh: a build resumed after a failure would otherwise run the models
        # the failed attempt created incrementally, over the whole history
        stage("full build", [*dbt, "--full-refresh"], env, DBT_PROJECT_DIR)
        if held.exists():
            shutil.move(held, last_day_dir)
        stage("load one day", [*python, "--child", "load-day"], env, REPO)
        day = (last.isoformat(), last.isoformat())
        stage("one-day build", dbt, {**env, **window_env(day)}, DBT_PROJECT_DIR)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()
    # unset: the profile's own default (dbt_project/profiles.yml), not repeated here
    threads = os.environ.get("AGENTLEDGER_DBT_THREADS")
    threads_text = f"{threads} dbt thread{'s' if threads != '1' else ''}" if threads else "dbt's default threads"
    rows = "\n".join(
        f"| {s.name} | {s.measured.seconds:,.1f} | {s.measured.cpu_seconds:,.1f} | {s.measured.peak_rss_mb:,.0f} "
        f"| {s.data_gb:,.2f} | {s.spill_gb:,.2f} |"
        for s in stages
    )
    peak = max(s.measured.peak_rss_mb for s in stages)
    markdown = (
        f"## {scale_label(calls).upper()} calls on one machine (`benchmarks/bench_scale.py --scale {args.scale}`)\n\n"
        f"{calls:,} generated LLM calls over {args.days} days (seed 7), the last day held back, then loaded and "
        f"built incrementally. dbt on DuckDB with `AGENTLEDGER_DBT_MEMORY_LIMIT={args.memory_limit}` (spilling to "
        f"its own folder) and {threads_text} (`AGENTLEDGER_DBT_THREADS`). "
        "Each stage is a child process; CPU time and peak RSS cover it and every process it starts (sampled "
        "from /proc every 0.5 s); disk is the data folder (landing files, warehouse) after the stage and the "
        "spill folder at its largest during it (sampled with the rest)."
        f"{' The landing files were deleted once loaded (--remove-loaded-files).' if args.remove_loaded_files else ''}"
        "\n\n"
        "| stage | wall s | CPU s | peak RSS MiB | data GB | peak spill GB |\n|---|---:|---:|---:|---:|---:|\n"
        f"{rows}\n\nPeak RSS of any stage: {peak:,.0f} MiB. "
        f"Load average after the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."
    )
    print(markdown)
    if not args.no_record:
        record_section(f"scale-{scale_label(calls)}", markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
