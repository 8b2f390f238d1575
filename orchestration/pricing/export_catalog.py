"""Regenerate seeds/model_prices.csv from the installed genai-prices catalog.

Usage: python -m orchestration.pricing.export_catalog [--output PATH]

Run it after upgrading genai-prices, commit the CSV, then `dbt seed` (or the
next pipeline run) loads the new prices; rows carry their validity windows,
so history is re-priced correctly on the next full rebuild.
"""

from __future__ import annotations

import argparse
from importlib.metadata import version
from pathlib import Path

from orchestration.pricing.catalog_export import write_catalog_seed
from orchestration.settings import SEEDS_DIR

DEFAULT_OUTPUT = SEEDS_DIR / "model_prices.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"CSV to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    count = write_catalog_seed(args.output)
    print(f"wrote {count} price rows from genai-prices {version('genai-prices')} to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
