"""Throughput and memory of the synthetic trace generator.

Each size runs in its own child process so the peak RSS reported is that
run's alone. Prints calls/s, wall time, CPU time and peak RSS, then records
them in the "generator" section of docs/benchmarks.md.

    .venv/bin/python -m benchmarks.bench_generator [--sizes 1000000 10000000] [--no-record]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

RUNS = (
    ("parquet", 1_000_000),
    ("parquet", 10_000_000),
    ("otlp", 600_000),  # about one million spans
    ("parquet", 300_000),  # the demo dataset
)


def child(fmt: str, calls: int, out: Path) -> dict:
    from generators.config import GeneratorConfig
    from generators.traces import generate_traces

    config = GeneratorConfig(calls=calls, days=90, start=date(2026, 1, 1), seed=7)
    wall, cpu = time.perf_counter(), time.process_time()
    result = generate_traces(config, out / "landing", fmt=fmt, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = sum(p.stat().st_size for p in result.files)
    return {
        "format": fmt,
        "calls": result.llm_calls,
        "spans": result.spans,
        "files": len(result.files),
        "wall_s": wall,
        "cpu_s": cpu,
        "calls_per_s": result.llm_calls / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": size,
    }


def run_child(fmt: str, calls: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="agentledger-bench-gen-") as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_generator", "--child", fmt, str(calls), tmp],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[1],
        )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {fmt} {calls} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(rows: list[dict], load: tuple[float, float, float]) -> str:
    lines = [
        "## Synthetic trace generator",
        "",
        "`python -m benchmarks.bench_generator`: 90 days, 20 agents, seed 7; each run in a fresh process.",
        "",
        "| format | LLM calls | spans | files | wall s | CPU s | calls/s | peak RSS MiB | output MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['format']} | {r['calls']:,} | {r['spans']:,} | {r['files']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
            f"| {r['calls_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | {r['bytes'] / 2**20:.0f} |"
        )
    lines += [
        "",
        f"Load average when the run started: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) on "
        f"{os.cpu_count()} cores. CPU s counts all threads; on an otherwise idle machine wall time approaches CPU s / cores.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "CALLS", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="*", type=int, help="parquet sizes only, instead of the default runs")
    parser.add_argument("--no-record", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.child:
        fmt, calls, out = args.child
        print(json.dumps(child(fmt, int(calls), Path(out))))
        return 0
    runs = [("parquet", n) for n in args.sizes] if args.sizes else list(RUNS)
    load = os.getloadavg()
    rows = []
    for fmt, calls in runs:
        row = run_child(fmt, calls)
        rows.append(row)
        print(
            f"{fmt:8s} {row['calls']:>11,} calls {row['spans']:>11,} spans  wall {row['wall_s']:6.1f} s  "
            f"cpu {row['cpu_s']:6.1f} s  {row['calls_per_s']:>10,.0f} calls/s  peak RSS {row['peak_rss_mb']:6.0f} MiB",
            flush=True,
        )
    if not args.no_record:
        from benchmarks.record import record_section

        record_section("generator", markdown(rows, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
