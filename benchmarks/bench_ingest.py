"""Ingestion throughput: canonical Parquet and OTLP JSON into raw.trace_spans.

Generates the data (the synthetic generator for Parquet; OTLP JSON Lines from
the generator when it can write them, else built with DuckDB SQL), then loads
each dataset into a fresh warehouse in a child process so wall time and peak
RSS belong to the load alone. Prints the figures and records them in the
"ingest" section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_ingest.py [--calls 10000000] [--otlp-spans 1000000] [--workdir DIR]
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
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

START = date(2026, 9, 1)


def _child(data_dir: str) -> None:
    """Load everything under <data_dir>/landing and print the figures as JSON."""
    os.environ["AGENTLEDGER_DATA_DIR"] = data_dir
    from orchestration.ingest import ingest_window
    from orchestration.settings import load_settings

    settings = load_settings()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    summary = ingest_window(settings, None, None)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rows_read": summary.rows_read,
                "rows_loaded": summary.rows_loaded,
                "rows_quarantined": summary.rows_quarantined,
                "files": summary.files_seen,
                "peak_rss_mb": rss,
            }
        )
    )


def _load(data_dir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(data_dir)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _parquet_dataset(data_dir: Path, calls: int) -> str:
    from generators.config import GeneratorConfig
    from generators.traces import generate_traces

    result = generate_traces(
        GeneratorConfig(calls=calls, days=30, start=START), data_dir / "landing", fmt="parquet", progress=False
    )
    return f"synthetic generator, {calls:,} LLM calls ({result.spans:,} spans) over 30 days, {len(result.files)} files"


def _otlp_dataset_sql(data_dir: Path, spans: int, per_line: int = 50) -> str:
    """OTLP JSON Lines built with DuckDB: chat spans with current GenAI attributes and a content event."""
    import duckdb

    target = data_dir / "landing" / "otlp"
    target.mkdir(parents=True, exist_ok=True)
    files = 10
    con = duckdb.connect()
    for f in range(files):
        n = spans // files
        con.execute(f"""
        copy (
          with s as (
            select i, i // {per_line} as line,
              1788220800000000000 + (i * 2591) % (30 * 86400) * 1000000000 as start_ns
            from range({f * n}, {(f + 1) * n}) t(i)
          ),
          spans as (
            select line, list({{
              'traceId': printf('%032x', i // 5), 'spanId': printf('%016x', i), 'parentSpanId': '',
              'name': 'chat', 'kind': 3,
              'startTimeUnixNano': start_ns::VARCHAR, 'endTimeUnixNano': (start_ns + 850000000)::VARCHAR,
              'attributes': [
                {{'key': 'gen_ai.operation.name', 'value': {{'stringValue': 'chat'}}}},
                {{'key': 'gen_ai.provider.name', 'value': {{'stringValue': 'openai'}}}},
                {{'key': 'gen_ai.request.model', 'value': {{'stringValue': 'gpt-4o'}}}},
                {{'key': 'gen_ai.response.model', 'value': {{'stringValue': 'gpt-4o-2024-08-06'}}}},
                {{'key': 'gen_ai.usage.input_tokens', 'value': {{'stringValue': null, 'intValue': (1000 + i % 4000)::VARCHAR}}}},
                {{'key': 'gen_ai.usage.output_tokens', 'value': {{'stringValue': null, 'intValue': (50 + i % 700)::VARCHAR}}}},
                {{'key': 'gen_ai.usage.cache_read.input_tokens', 'value': {{'stringValue': null, 'intValue': (i % 900)::VARCHAR}}}},
                {{'key': 'gen_ai.agent.name', 'value': {{'stringValue': 'agent-' || (i % 20)}}}},
                {{'key': 'gen_ai.conversation.id', 'value': {{'stringValue': 'conv-' || (i // 8)}}}},
                {{'key': 'user.id', 'value': {{'stringValue': 'user-' || (i % 500)}}}},
                {{'key': 'gen_ai.input.messages', 'value': {{'stringValue': repeat('lorem ipsum ', 20)}}}}
              ],
              'events': [{{'name': 'gen_ai.choice', 'timeUnixNano': start_ns::VARCHAR}}],
              'status': {{'code': 0}}
            }} order by i) as spans
            from s group by line
          )
          select to_json({{'resourceSpans': [{{
              'resource': {{'attributes': [
                  {{'key': 'service.namespace', 'value': {{'stringValue': 'ws-' || (line % 7)}}}},
                  {{'key': 'deployment.environment.name', 'value': {{'stringValue': 'production'}}}}]}},
              'scopeSpans': [{{'scope': {{'name': 'bench', 'version': '1'}}, 'spans': spans}}]}}]}})::VARCHAR as line
          from spans order by line
        ) to '{target / f"part-{f:05d}.otlp.jsonl"}' (format csv, header false, quote '', escape '', delimiter '\\x01')
        """)
    con.close()
    return f"DuckDB SQL, {spans:,} chat spans, {per_line} spans per ExportTraceServiceRequest line, {files} files"


def _otlp_dataset(data_dir: Path, spans: int) -> str:
    try:
        from generators.config import GeneratorConfig
        from generators.traces import generate_traces

        calls = int(spans / 1.67)
        result = generate_traces(
            GeneratorConfig(calls=calls, days=30, start=START), data_dir / "landing", fmt="otlp", progress=False
        )
        return f"synthetic generator, {result.spans:,} spans, {len(result.files)} files"
    except Exception as exc:  # the generator's OTLP writer may be unavailable; the load is what is measured
        shutil.rmtree(data_dir / "landing", ignore_errors=True)
        print(
            f"generator OTLP output unavailable ({type(exc).__name__}); building OTLP with DuckDB SQL", file=sys.stderr
        )
        return _otlp_dataset_sql(data_dir, spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="LLM calls in the Parquet dataset")
    parser.add_argument("--otlp-spans", type=int, default=1_000_000, help="spans in the OTLP dataset")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="scratch folder (default: a temp dir, removed after)"
    )
    parser.add_argument("--no-record", action="store_true", help="print only, do not write docs/benchmarks.md")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the generated landing data in --workdir and reuse it on the next run"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    rows = []
    try:
        for name, make, size in (
            ("canonical Parquet", _parquet_dataset, args.calls),
            ("OTLP JSON Lines", _otlp_dataset, args.otlp_spans),
        ):
            data_dir = work / name.split()[0].lower()
            described = data_dir / "dataset.txt"
            t0 = time.perf_counter()
            if args.reuse and described.exists():
                source = described.read_text().strip()
                for stale in data_dir.glob("warehouse.duckdb*"):
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
                data_dir.mkdir(parents=True)
                source = make(data_dir, size)
                shutil.rmtree(data_dir / "ground_truth", ignore_errors=True)
                described.write_text(source)
            gen_s = time.perf_counter() - t0
            load_before = os.getloadavg()[0]
            figures = _load(data_dir)
            figures["load_avg"] = max(load_before, os.getloadavg()[0])
            rate = figures["rows_read"] / figures["seconds"]
            print(
                f"{name}: {figures['rows_read']:,} rows in {figures['seconds']:.1f} s = {rate:,.0f} rows/s "
                f"({figures['rows_read'] / figures['cpu_seconds']:,.0f} rows per CPU-second), "
                f"peak RSS {figures['peak_rss_mb']:,.0f} MiB, load average {figures['load_avg']:.1f} "
                f"(data ready in {gen_s:.0f} s: {source})",
                flush=True,
            )
            rows.append((name, source, figures, rate))
            if not args.reuse:
                shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.no_record:
        return
    from benchmarks.record import record_section

    lines = [
        "## Ingestion (`benchmarks/bench_ingest.py`)",
        "",
        "Landing files into `raw.trace_spans` with validation, quarantine, ledger and span_id dedupe, one",
        "`ingest_window(settings, None, None)` call per dataset on a fresh warehouse. Targets: Parquet >= 1M rows/s,",
        "OTLP >= 100k spans/s, peak RSS < 4 GB.",
        "",
        "| dataset | rows read | loaded | quarantined | wall s | rows/s | CPU s | rows per CPU-s | peak RSS MiB | 1-min load avg | data |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, source, f, rate in rows:
        lines.append(
            f"| {name} | {f['rows_read']:,} | {f['rows_loaded']:,} | {f['rows_quarantined']:,} | {f['seconds']:.1f} "
            f"| {rate:,.0f} | {f['cpu_seconds']:.1f} | {f['rows_read'] / f['cpu_seconds']:,.0f} | {f['peak_rss_mb']:,.0f} "
            f"| {f['load_avg']:.1f} | {source} |"
        )
    targets = {"canonical Parquet": 1_000_000, "OTLP JSON Lines": 100_000}
    lines.append("")
    for name, _, f, rate in rows:
        target = targets[name]
        verdict = "met" if rate >= target else f"missed, {rate / target:.0%} of the target"
        lines.append(
            f"- {name}: {rate:,.0f} rows/s against >= {target:,} ({verdict}); "
            f"{f['rows_read'] / f['cpu_seconds']:,.0f} rows per CPU-second; peak RSS {f['peak_rss_mb']:,.0f} MiB "
            f"({'within' if f['peak_rss_mb'] < 4096 else 'above'} the 4 GB limit)."
        )
    lines += ["", *NOTES]
    record_section("ingest", "\n".join(lines))


# What the profile of a load shows; kept beside the figures they explain.
NOTES = [
    "Where the time goes (per-statement timings of the 10M-call Parquet load and of the ~1M-span OTLP load):",
    "for Parquet, rows go from the files straight into `raw.trace_spans` in one INSERT ... SELECT that types",
    "and validates them on the way; that statement is about four fifths of the CPU, and a bare",
    "`insert ... select` of the same files without any typing or validation costs nearly as much (DuckDB",
    "compressing the columns it writes), which bounds a two-core machine at about 0.9M rows/s. Most of the",
    "rest is the keys pass (file, day and span_id/row hashes of every row; hashing the whole row makes it",
    "decode every column, so a corrupt file fails where it can be quarantined alone: about 7 CPU-s of the",
    "10M-call load) and the span_id collision aggregate (about 4 CPU-s). For OTLP, staging the request",
    "lines (one `json_transform` per line, then the nested-list work that turns requests into spans) is",
    "about nine tenths of the load, some 30 us of CPU per span; one file's statement runs on one core, so",
    "files are staged two at a time on separate cursors.",
    "The load average column matters: on two shared cores, a load average of 8 leaves a load about a",
    "quarter of the machine, which is why rows per CPU-second is shown beside the wall-clock rate.",
]


if __name__ == "__main__":
    main()
