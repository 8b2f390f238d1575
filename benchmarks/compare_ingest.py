"""Ingestion against the engine's floor: the same files, the bare DuckDB read beside the validated load.

Canonical Parquet: a bare `insert into <table of raw.trace_spans' schema>
select ... from read_parquet(...)` (no typing, rules, quarantine, ledger or
dedupe), then the full load (`ingest_window`). OTLP JSON Lines: DuckDB's own
`read_json` of the same files unnested into a flat span table (ids, times,
status and the attributes as a map, no validation), then the full OTLP load.
Each side runs in its own child process on a fresh warehouse, so wall time
and peak RSS belong to it alone.

    .venv/bin/python -m benchmarks.compare_ingest --calls 1000000 --otlp-spans 1000000 [--work DIR]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _parquet_floor(data_dir: Path, con) -> int:
    from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS, raw_table_ddl

    con.execute("create schema if not exists raw")
    con.execute(raw_table_ddl())
    glob = data_dir / "landing" / "**" / "*.parquet"
    con.execute(
        f"""
        insert into {RAW_SPANS_TABLE}
        select {", ".join(TRACE_COLUMNS)}, filename, file_row_number, 'parquet', now()
        from read_parquet('{glob}', filename = true, file_row_number = true, hive_partitioning = false)
        """
    )
    return con.execute(f"select count(*) from {RAW_SPANS_TABLE}").fetchone()[0]


def _otlp_floor(data_dir: Path, con) -> int:
    files = [str(p) for p in sorted((data_dir / "landing").rglob("*")) if p.is_file() and ".json" in p.name]
    con.execute(
        f"""
        create table flat_spans as
        with requests as (
            select unnest(resourceSpans) as rs
            from read_json({files!r}, format = 'newline_delimited', maximum_object_size = 33554432)
        ),
        scopes as (select unnest(rs.scopeSpans) as ss from requests),
        spans as (select unnest(ss.spans) as s from scopes)
        select
            s.traceId as trace_id,
            s.spanId as span_id,
            s.parentSpanId as parent_span_id,
            s.name as name,
            s.startTimeUnixNano as start_ns,
            s.endTimeUnixNano as end_ns,
            s.status.code as status_code,
            -- each attribute value as its OTLP JSON object (stringValue, intValue, ...)
            map_from_entries([(a.key, to_json(a.value)) for a in s.attributes]) as attributes
        from spans
        """
    )
    return con.execute("select count(*) from flat_spans").fetchone()[0]


def _floor_child(kind: str, data_dir: str) -> None:
    import duckdb

    path = Path(data_dir)
    con = duckdb.connect(str(path / "floor.duckdb"))
    t0, cpu0 = time.perf_counter(), time.process_time()
    rows = (_parquet_floor if kind == "parquet" else _otlp_floor)(path, con)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    con.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "rows": rows, "peak_rss_mb": rss}))


def time_floor(kind: str, data_dir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--floor-child", kind, str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class IngestComparison:
    name: str
    source: str
    floor: dict
    loader: dict
    target_ratio: float | None
    target_rate: float | None

    @property
    def floor_rate(self) -> float:
        return self.floor["rows"] / self.floor["seconds"]

    @property
    def loader_rate(self) -> float:
        return self.loader["rows_read"] / self.loader["seconds"]

    @property
    def ratio(self) -> float:
        return self.loader_rate / self.floor_rate

    @property
    def cpu_ratio(self) -> float:
        """Loader over floor in rows per CPU-second: what the ratio would be on an otherwise idle machine."""
        return (self.loader["rows_read"] / self.loader["cpu_seconds"]) / (
            self.floor["rows"] / self.floor["cpu_seconds"]
        )


def compare_one(name: str, kind: str, size: int, data_dir: Path) -> IngestComparison:
    from benchmarks.bench_ingest import _load, _otlp_dataset, _parquet_dataset

    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    source = (_parquet_dataset if kind == "parquet" else _otlp_dataset)(data_dir, size)
    shutil.rmtree(data_dir / "ground_truth", ignore_errors=True)
    load_before = os.getloadavg()[0]
    floor = time_floor(kind, data_dir)
    floor["load_avg"] = max(load_before, os.getloadavg()[0])
    (data_dir / "floor.duckdb").unlink()
    load_before = os.getloadavg()[0]
    loader = _load(data_dir)
    loader["load_avg"] = max(load_before, os.getloadavg()[0])
    if kind == "parquet":
        return IngestComparison(name, source, floor, loader, 0.75, None)
    return IngestComparison(name, source, floor, loader, None, 100_000)


def compare(calls: int, otlp_spans: int, work: Path) -> list[IngestComparison]:
    results = []
    for name, kind, size in (("canonical Parquet", "parquet", calls), ("OTLP JSON Lines", "otlp", otlp_spans)):
        data_dir = work / kind
        result = compare_one(name, kind, size, data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        results.append(result)
        print_one(result)
    return results


def print_one(c: IngestComparison) -> None:
    print(
        f"{c.name} ({c.source}): floor {c.floor['rows']:,} rows in {c.floor['seconds']:.1f} s = {c.floor_rate:,.0f} rows/s "
        f"(peak RSS {c.floor['peak_rss_mb']:,.0f} MiB, load avg {c.floor['load_avg']:.1f}); loader "
        f"{c.loader['rows_read']:,} rows in {c.loader['seconds']:.1f} s = {c.loader_rate:,.0f} rows/s "
        f"(peak RSS {c.loader['peak_rss_mb']:,.0f} MiB, load avg {c.loader['load_avg']:.1f}); "
        f"ratio loader/floor {c.ratio:.2f}x wall, {c.cpu_ratio:.2f}x per CPU-second",
        flush=True,
    )


def report(results: list[IngestComparison]) -> list[str]:
    lines = [
        "## Side by side: ingestion vs the engine's floor (`benchmarks/bench_compare.py`)",
        "",
        "The same files, each side in its own child process on a fresh warehouse. Parquet floor: a bare",
        "`insert into` a table of `raw.trace_spans`' schema `select ... from read_parquet(...)`. OTLP floor: DuckDB's",
        "`read_json` of the same files unnested into a flat span table (ids, times, status, attributes as a key -> JSON value map), no",
        "validation. Loader: `ingest_window` (typing, rules, quarantine, ledger, span_id dedupe, user-id hashing).",
        "Targets: Parquet loader >= 0.75x its floor; OTLP loader >= 100k spans/s on 1M spans; peak RSS < 4 GB.",
        "",
        "| dataset | side | rows | wall s | rows/s | CPU s | rows per CPU-s | peak RSS MiB | 1-min load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in results:
        lines.append(
            f"| {c.name} | floor | {c.floor['rows']:,} | {c.floor['seconds']:.1f} | {c.floor_rate:,.0f} "
            f"| {c.floor['cpu_seconds']:.1f} | {c.floor['rows'] / c.floor['cpu_seconds']:,.0f} "
            f"| {c.floor['peak_rss_mb']:,.0f} | {c.floor['load_avg']:.1f} |"
        )
        lines.append(
            f"| {c.name} | loader | {c.loader['rows_read']:,} | {c.loader['seconds']:.1f} | {c.loader_rate:,.0f} "
            f"| {c.loader['cpu_seconds']:.1f} | {c.loader['rows_read'] / c.loader['cpu_seconds']:,.0f} "
            f"| {c.loader['peak_rss_mb']:,.0f} | {c.loader['load_avg']:.1f} |"
        )
    lines.append("")
    for c in results:
        rss = max(c.floor["peak_rss_mb"], c.loader["peak_rss_mb"])
        if c.target_ratio is not None:
            verdict = "met" if c.ratio >= c.target_ratio else "missed"
            target = f"against >= {c.target_ratio}x ({verdict}), {c.cpu_ratio:.2f}x in rows per CPU-second"
        else:
            verdict = "met" if c.loader_rate >= c.target_rate else f"missed, {c.loader_rate / c.target_rate:.0%} of it"
            target = (
                f"({c.cpu_ratio:.2f}x in rows per CPU-second); loader {c.loader_rate:,.0f} spans/s against "
                f">= {c.target_rate:,.0f} ({verdict}), {c.loader['rows_read'] / c.loader['cpu_seconds']:,.0f} spans per CPU-second"
            )
        lines.append(
            f"- {c.name}: loader / floor {c.ratio:.2f}x {target}; peak RSS at most {rss:,.0f} MiB "
            f"({'within' if rss < 4096 else 'above'} 4 GB). Data: {c.source}."
        )
    return lines + ["", *NOTES]


# What a profile of the OTLP load shows (the loader's statements timed one by one, then DuckDB's
# per-operator profile of one file's staging statement); kept beside the figures it explains.
NOTES = [
    "Where the OTLP load's time goes: the per-file staging statement (`insert into _stage.batch ...`,",
    "two files at a time on separate cursors) is about 97% of the load; keys, dedupe, the insert into",
    "`raw.trace_spans`, ledger and commit share the rest. DuckDB's operator profile of one file's staging",
    "statement (one thread, 3,013 spans in 20 request lines): `json_transform` of each line into the typed",
    "request struct about 24 us per span, the unnest of resourceSpans / scopeSpans into one row per span",
    "about 23 us, the attribute lookups into contract columns about 14 us, the typing and rules of the",
    "contract columns about 10 us; planning the 45 KB statement takes about 0.15 s per file. The 1M-span",
    "load above spends 50-55 us of CPU per span in all, so two idle cores top out near 40k spans/s: the",
    "100k spans/s target needs a parser several times faster than DuckDB's JSON functions, whose own",
    "`read_json` of the same files (the floor) is slower still. On a shared machine the wall-clock rate",
    "falls with the load average; rows per CPU-second is the figure to compare across runs, and for",
    "Parquet the stricter one: the loader's rows per CPU-second against the floor's is the ratio an idle",
    "machine would show.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="LLM calls in the Parquet dataset")
    parser.add_argument("--otlp-spans", type=int, default=1_000_000, help="spans in the OTLP dataset")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed after)")
    parser.add_argument("--floor-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_child:
        _floor_child(*args.floor_child)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-ingest-"))
    try:
        results = compare(args.calls, args.otlp_spans, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
