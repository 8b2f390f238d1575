"""Command line: `python -m generators traces [--preset NAME] --calls N --days D --start YYYY-MM-DD --seed S --out DIR --format parquet`.

A preset (generators.config.PRESETS) fills in every size, seed and anomaly
mix; any flag given explicitly overrides it.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from generators.config import FORMATS, PRESETS
from generators.traces import generate_traces


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--start {text!r}: expected a date as YYYY-MM-DD") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generators", description="Synthetic AI-agent trace generator.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("traces", help="write a partitioned trace dataset and its anomaly ground truth")
    t.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="demo",
        help="named configuration: demo (default), tuning / validation (the detector's tuning and "
        "validation datasets: 35 agents, 120 days, another incident mix) and their -small variants",
    )
    t.add_argument("--calls", type=int, default=None, help="number of LLM (model) calls in total (demo: 300000)")
    t.add_argument("--days", type=int, default=None, help="number of days (demo: 90)")
    t.add_argument(
        "--start", type=_date, default=None, help="first day, YYYY-MM-DD (default: the run ends yesterday, UTC)"
    )
    t.add_argument("--seed", type=int, default=None, help="random seed (demo: 7)")
    t.add_argument("--out", type=Path, required=True, help="landing directory; files go to OUT/FORMAT/date=YYYY-MM-DD/")
    t.add_argument("--format", choices=FORMATS, default="parquet", help="output format (default parquet)")
    t.add_argument(
        "--labels", type=Path, default=None, help="ground-truth CSV path (default OUT/../ground_truth/anomalies.csv)"
    )
    t.add_argument("--error-rate", type=float, default=None, help="base error rate of model calls (demo: 0.05)")
    t.add_argument("--agents", type=int, default=None, help="number of agents, 5-50 realistic (demo: 20)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        given = {
            "calls": args.calls,
            "days": args.days,
            "start": args.start,
            "seed": args.seed,
            "agents": args.agents,
            "error_rate": args.error_rate,
        }
        config = replace(PRESETS[args.preset], **{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    result = generate_traces(config, args.out, fmt=args.format, labels_path=args.labels)
    took = time.perf_counter() - began
    print(
        f"wrote {len(result.files)} {result.format} file(s) under {Path(args.out) / result.format}: "
        f"{result.llm_calls} LLM calls, {result.spans} spans, {result.traces} traces, "
        f"{result.start_date}..{result.end_date}, {took:.1f} s"
    )
    print(f"ground truth: {result.labels_path} ({result.anomalies} anomalies), outages: {result.outages_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
