"""Re-price history after the price seeds change: `make reprice [START=... END=...]`.

Cost is never frozen at ingestion: every call keeps its tokens, model and
start time, so a changed catalog or a new negotiated price can be applied to
the past. This command finds the days whose calls the change affects
(comparing the seed files with the prices the warehouse last loaded), then
runs the pipeline job over exactly that partition range in one Dagster run:
the seeds reload, the incremental fact re-prices those days, and everything
downstream (marts, forecasts, signals, the published copy, the site) rebuilds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.settings import SEEDS_DIR, Settings, load_settings

PRICE_SEEDS = ("model_prices", "custom_model_prices")


@dataclass(frozen=True)
class RepriceWindow:
    first: dt.date
    last: dt.date
    changed_price_rows: int
    affected_calls: int


def _changed_models_sql(conn: duckdb.DuckDBPyConnection, seed: str, seeds_dir: Path) -> str:
    """Rows that differ between the seed file and the loaded reference table, both ways."""
    columns = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'reference' and table_name = ? order by ordinal_position",
        [seed],
    ).fetchall()
    if not columns:
        raise RuntimeError(f"reference.{seed} is not in {conn}: run the pipeline once before re-pricing")
    types = ", ".join(f"'{name}': '{dtype}'" for name, dtype in columns)
    path = seeds_dir / f"{seed}.csv"
    file_rows = f"select * from read_csv('{path}', header = true, columns = {{{types}}})"
    return (
        f"(({file_rows}) except (select * from reference.{seed})) "
        f"union all (select * from reference.{seed} except ({file_rows}))"
    )


def find_reprice_window(settings: Settings, seeds_dir: Path = SEEDS_DIR) -> RepriceWindow | None:
    """The first and last call day affected by price rows that changed since the last load."""
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        changed = " union all ".join(
            f"select provider_id, model_id, valid_from, valid_to from ({_changed_models_sql(conn, seed, seeds_dir)})"
            for seed in PRICE_SEEDS
        )
        changed_rows = conn.execute(f"select count(*) from ({changed})").fetchone()[0]
        if changed_rows == 0:
            return None
        first, last, calls = conn.execute(
            f"""
            with changed as ({changed})
            select min(c.call_date), max(c.call_date), count(distinct c.span_id)
            from marts.fct_llm_calls as c
            join changed as p
              on (
                    (c.catalog_provider_id = p.provider_id and c.catalog_model_id = p.model_id)
                    or lower(c.response_model) = lower(p.model_id)
                    or lower(c.request_model) = lower(p.model_id)
                 )
             and c.started_at >= p.valid_from
             and c.started_at < p.valid_to
            """
        ).fetchone()
    finally:
        conn.close()
    if first is None:
        return RepriceWindow(dt.date.min, dt.date.min, changed_rows, 0)
    return RepriceWindow(first, last, changed_rows, calls)


def run_reprice(first: dt.date, last: dt.date) -> bool:
    """One pipeline run over [first, last], tagged as a re-pricing."""
    from orchestration.run_range import run_range

    return run_range(first, last, tags={"agentledger/reason": "reprice"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, help="first day to re-price (default: detected)")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last day to re-price (default: detected)")
    parser.add_argument("--dry-run", action="store_true", help="print the window, run nothing")
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.start and args.end:
        first, last = args.start, args.end
        print(f"Re-pricing {first}..{last} as requested")
    else:
        window = find_reprice_window(settings)
        if window is None:
            print("The price seeds match what the warehouse last loaded: nothing to re-price.")
            return 0
        if window.affected_calls == 0:
            print(f"{window.changed_price_rows} price rows changed, but no loaded call uses them: nothing to re-price.")
            return 0
        first, last = args.start or window.first, args.end or window.last
        print(
            f"{window.changed_price_rows} price rows changed; {window.affected_calls:,} calls "
            f"from {first} to {last} are affected"
        )
    if args.dry_run:
        return 0
    ok = run_reprice(first, last)
    print(
        "Re-priced." if ok else "The re-pricing run failed; see it in the Dagster UI (make dev).",
        file=sys.stdout if ok else sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
