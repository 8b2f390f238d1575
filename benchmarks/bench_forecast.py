"""Forecast backtest figures: wall and CPU time, coverage of the chosen methods by scope level, errors.

Usage: python -m benchmarks.bench_forecast [--methods prophet,auto_ets,...] [--scope-types total,workspace,...]

Reads marts.fct_llm_calls of the warehouse in AGENTLEDGER_DATA_DIR (a data
directory the pipeline has run on, e.g. after `make demo`), read-only, and
runs the rolling-origin backtest of orchestration/signals/backtest.py as the
pipeline does, without writing anything. CPU time includes the child
processes (Prophet's Stan optimiser), so it means something on a busy machine
where the wall time does not. Prints the figures; docs/signals.md quotes them.
"""

from __future__ import annotations

import argparse
import resource
import time

from orchestration.settings import load_settings
from orchestration.signals.backtest import METHODS, BacktestConfig, median_mape, run_backtest
from orchestration.signals.forecast import ForecastConfig, scope_series
from orchestration.signals.io import connect, read_agent_days


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods", default=",".join(BacktestConfig().methods), help=f"comma-separated, from {', '.join(METHODS)}"
    )
    parser.add_argument("--scope-types", default="total,workspace,department,agent")
    args = parser.parse_args()
    settings = load_settings()
    with connect(settings.warehouse_path, read_only=True) as con:
        agent_days = read_agent_days(con)
    series = scope_series(agent_days, ForecastConfig().top_n_agents)
    config = BacktestConfig(methods=tuple(args.methods.split(",")))
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = run_backtest(series, config, ForecastConfig(), tuple(args.scope_types.split(",")))
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    days = series["date"].nunique()
    print(
        f"backtest: {days} days, {result.choice[['scope_type', 'scope_id']].drop_duplicates().shape[0]} scopes, "
        f"{len(config.methods)} methods: wall {wall:.1f} s, CPU {cpu:.1f} s"
    )
    choice = result.choice
    per_method = choice.groupby(["scope_type", "method"])[["median_mape", "median_smape", "coverage_80", "coverage_95"]]
    print("\nevery method, mean over the scopes of each level (MAPE, sMAPE in %; coverage as shares):")
    print(per_method.mean().round(3).to_string())
    chosen = choice[choice["selected"].astype(bool)]
    print("\nchosen methods by scope level:")
    print(
        chosen.groupby("scope_type")[["median_mape", "median_smape", "coverage_80", "coverage_95"]]
        .mean()
        .round(3)
        .to_string()
    )
    print(
        "methods chosen:",
        chosen["method"].value_counts().to_dict(),
        f"; scopes meeting the target on their own: {int(chosen['meets_coverage'].sum())} of {len(chosen)}",
    )
    print("total, median MAPE by method:", {m: round(v, 1) for m, v in median_mape(result.rows).items()})


if __name__ == "__main__":
    main()
