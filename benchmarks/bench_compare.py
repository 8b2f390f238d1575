"""Side by side, each in one run on the same data: ingestion vs the engine's floor, dbt vs a hand-written
DuckDB floor, the report pages vs on-demand queries on PostgreSQL.

Prints every figure with its ratio and rewrites the sections
"compare-ingest", "compare-dbt" and "postgres" of docs/benchmarks.md, with the
machine's load average beside each figure (benchmarks/compare_ingest.py,
benchmarks/compare_dbt.py and benchmarks/compare_postgres.py hold the three
comparisons; the last needs a PostgreSQL server binary: `make postgres`).

    .venv/bin/python -m benchmarks.bench_compare [--calls 10000000] [--otlp-spans 1000000]
        [--pg-scales 3000 10000 ... 10000000] [--only ingest|dbt|postgres]

The defaults are the scales the targets are set at (10M calls; PostgreSQL up to
10M): on two cores about 10 min for the first two comparisons and 35 min for
the third.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="LLM calls generated for both comparisons")
    parser.add_argument("--otlp-spans", type=int, default=1_000_000, help="spans in the OTLP dataset")
    parser.add_argument("--days", type=int, default=31, help="days of the dbt dataset; the last is the incremental day")
    parser.add_argument(
        "--pg-scales",
        type=int,
        nargs="+",
        default=[3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 10_000_000],
        help="LLM calls of the PostgreSQL comparison's runs; the small ones locate its 500 ms limit",
    )
    parser.add_argument("--only", choices=("ingest", "dbt", "postgres"), default=None, help="run one comparison only")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit of the dbt floor's connection")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed after)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)

    from benchmarks import compare_dbt, compare_ingest, compare_postgres
    from benchmarks.record import record_section

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.only in (None, "ingest"):
            results = compare_ingest.compare(args.calls, args.otlp_spans, work / "ingest")
            lines = compare_ingest.report(results)
            print("\n".join(lines), flush=True)
            if not args.no_record:
                record_section("compare-ingest", "\n".join(lines))
        if args.only in (None, "dbt"):
            comparison = compare_dbt.compare(args.calls, args.days, work / "dbt", args.memory_limit)
            lines = compare_dbt.report(comparison)
            print("\n".join(lines), flush=True)
            if not args.no_record:
                record_section("compare-dbt", "\n".join(lines))
        if args.only in (None, "postgres"):
            compare_postgres.run(args.pg_scales, work=work / "postgres", record=not args.no_record)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
