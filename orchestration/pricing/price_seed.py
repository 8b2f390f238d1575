"""The price seed: the genai-prices catalog flattened into one price row per validity slice.

Usage: python -m orchestration.pricing.price_seed [--output PATH]  (or `make refresh-prices`)
rewrites seeds/model_prices.csv from the installed catalog. Run it after
upgrading genai-prices, commit the CSV, then `dbt seed` (or the next
pipeline run) loads the new prices; rows carry their validity windows, so
history is re-priced correctly on the next full rebuild.

The catalog stores prices as nested objects: a model has either one
`ModelPrice` or a list of `ConditionalPrice`s (start-date or time-of-day
constraints, the last active one wins), optional `PriceVariant`s selected by a
request context (service tier, batch processing), and any price may be a
`TieredPrices` whose tiers re-price the whole request once the input tokens
exceed a threshold.

SQL cannot call the library per row, so this module asks the library itself
(`ModelInfo.get_prices`) which prices apply at every boundary the catalog
defines and writes the answers out as flat rows. Nothing is re-implemented:
the rows are what `genai_prices.calc_price` would use at that instant.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

from genai_prices import types as gp_types

from orchestration.contract import SERVICE_TIERS
from orchestration.settings import SEEDS_DIR

# Catalog price key -> usage type in the seed. Only token prices that trace
# usage can be attributed to; per-request, per-search, audio and image prices
# are outside the trace contract (docs/pricing.md, "What is not priced").
USAGE_TYPE_BY_PRICE_KEY: dict[str, str] = {
    "input_mtok": "input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "output_mtok": "output",
    "output_reasoning_mtok": "reasoning",
}
USAGE_TYPES: tuple[str, ...] = tuple(USAGE_TYPE_BY_PRICE_KEY.values())

# Service tier recorded on the span -> the catalog's price context. `default`
# means no context: the catalog's standard prices.
SERVICE_TIER_PRICE_CONTEXTS: dict[str, dict[str, str]] = {
    "batch": {"processing": "batch"},
    "priority": {"service_tier": "priority"},
    "flex": {"service_tier": "flex"},
}
assert set(SERVICE_TIER_PRICE_CONTEXTS) | {"default"} == set(SERVICE_TIERS), "contract service tiers changed"

# Open ends of the validity windows: explicit dates keep the SQL range join simple.
OPEN_START = date(1970, 1, 1)
OPEN_END = date(9999, 12, 31)
SECONDS_PER_DAY = 86_400

SEED_COLUMNS: tuple[str, ...] = (
    "provider_id",
    "model_id",
    "model_name",
    "service_tier",
    "valid_from",
    "valid_to",
    "daily_from",
    "daily_to",
    "usage_type",
    "tier_start_tokens",
    "price_per_mtok",
)


@dataclass(frozen=True, order=True)
class PriceRow:
    """One price: a usage type's rate for a model within one validity slice."""

    provider_id: str
    model_id: str
    model_name: str
    service_tier: str
    valid_from: date
    valid_to: date
    daily_from_s: int
    daily_to_s: int
    usage_type: str
    tier_start_tokens: int
    price_per_mtok: Decimal

    def as_csv_row(self) -> list[str]:
        return [
            self.provider_id,
            self.model_id,
            self.model_name,
            self.service_tier,
            self.valid_from.isoformat(),
            self.valid_to.isoformat(),
            _seconds_to_hms(self.daily_from_s),
            _seconds_to_hms(self.daily_to_s),
            self.usage_type,
            str(self.tier_start_tokens),
            format(self.price_per_mtok.normalize(), "f"),
        ]


# A resolved price set: (usage_type, tier_start_tokens, price) triples, sorted.
PriceSet = tuple[tuple[str, int, Decimal], ...]


def _seconds_to_hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _utc_seconds(value: time) -> int:
    """Seconds after UTC midnight of a (possibly offset-aware) time of day."""
    if value.tzinfo is not None:
        value = datetime.combine(date(2000, 1, 3), value).astimezone(UTC).time()
    return value.hour * 3600 + value.minute * 60 + value.second


def _constraints(model: gp_types.ModelInfo) -> Iterator[object]:
    if not isinstance(model.prices, gp_types.ModelPrice):
        for conditional in model.prices:
            yield conditional.constraint
    for variant in model.price_variants or ():
        yield variant.constraint


def _date_windows(model: gp_types.ModelInfo) -> list[tuple[date, date]]:
    starts = sorted({c.start_date for c in _constraints(model) if isinstance(c, gp_types.StartDateConstraint)})
    bounds = [OPEN_START, *[d for d in starts if d > OPEN_START], OPEN_END]
    return list(itertools.pairwise(bounds))


def _day_segments(model: gp_types.ModelInfo) -> list[tuple[int, int]]:
    cuts: set[int] = set()
    for c in _constraints(model):
        if isinstance(c, gp_types.TimeOfDateConstraint):
            cuts.update({_utc_seconds(c.start_time), _utc_seconds(c.end_time)})
    bounds = sorted({0, SECONDS_PER_DAY, *cuts})
    return list(itertools.pairwise(bounds))


def _price_set(model_price: gp_types.ModelPrice) -> PriceSet:
    rows: list[tuple[str, int, Decimal]] = []
    for price_key, usage_type in USAGE_TYPE_BY_PRICE_KEY.items():
        value = getattr(model_price, price_key, None)
        if value is None:
            continue
        if isinstance(value, gp_types.TieredPrices):
            rows.append((usage_type, 0, value.base))
            for tier in value.tiers:
                if tier.start <= 0:
                    raise ValueError(
                        f"genai-prices model price {price_key}: tier start {tier.start} must be > 0 "
                        "(tier 0 is reserved for the base price in seeds/model_prices.csv)"
                    )
                rows.append((usage_type, tier.start, tier.price))
        else:
            rows.append((usage_type, 0, value))
    return tuple(sorted(rows))


def _tier_contexts(model: gp_types.ModelInfo) -> dict[str, dict[str, str] | None]:
    """Service tiers this model has catalog variants for, plus the standard prices."""
    tiers: dict[str, dict[str, str] | None] = {"default": None}
    whens = [variant.when for variant in model.price_variants or ()]
    for tier, context in SERVICE_TIER_PRICE_CONTEXTS.items():
        if any(when == context for when in whens):
            tiers[tier] = context
    return tiers


def model_price_rows(provider: gp_types.Provider, model: gp_types.ModelInfo) -> list[PriceRow]:
    """Every price row of one catalog model, windows merged where prices do not change."""
    segments = _day_segments(model)
    rows: list[PriceRow] = []
    for tier, context in _tier_contexts(model).items():
        # (segment bounds) -> list of (window, price set), windows in date order
        by_segment: dict[tuple[int, int], list[tuple[date, date, PriceSet]]] = {}
        for window_from, window_to in _date_windows(model):
            merged_segments: list[tuple[int, int, PriceSet]] = []
            for seg_from, seg_to in segments:
                instant = datetime.combine(window_from, time(0), tzinfo=UTC).replace(
                    hour=seg_from // 3600, minute=seg_from % 3600 // 60, second=seg_from % 60
                )
                prices = _price_set(model.get_prices(instant, context))
                if merged_segments and merged_segments[-1][2] == prices:
                    merged_segments[-1] = (merged_segments[-1][0], seg_to, prices)
                else:
                    merged_segments.append((seg_from, seg_to, prices))
            for seg_from, seg_to, prices in merged_segments:
                windows = by_segment.setdefault((seg_from, seg_to), [])
                if windows and windows[-1][1] == window_from and windows[-1][2] == prices:
                    windows[-1] = (windows[-1][0], window_to, prices)
                else:
                    windows.append((window_from, window_to, prices))
        for (seg_from, seg_to), windows in by_segment.items():
            for window_from, window_to, prices in windows:
                for usage_type, tier_start, price in prices:
                    rows.append(
                        PriceRow(
                            provider_id=provider.id,
                            model_id=model.id,
                            model_name=model.name or model.id,
                            service_tier=tier,
                            valid_from=window_from,
                            valid_to=window_to,
                            daily_from_s=seg_from,
                            daily_to_s=seg_to,
                            usage_type=usage_type,
                            tier_start_tokens=tier_start,
                            price_per_mtok=price,
                        )
                    )
    return rows


def catalog_price_rows(providers: Iterable[gp_types.Provider] | None = None) -> list[PriceRow]:
    """All price rows of the catalog (the installed genai-prices snapshot by default), sorted."""
    if providers is None:
        from genai_prices.data import providers as bundled

        providers = bundled
    rows = [row for provider in providers for model in provider.models for row in model_price_rows(provider, model)]
    return sorted(rows, key=_sort_key)


def _sort_key(row: PriceRow) -> tuple[object, ...]:
    return (
        row.provider_id,
        row.model_id,
        row.service_tier,
        row.valid_from,
        row.daily_from_s,
        USAGE_TYPES.index(row.usage_type),
        row.tier_start_tokens,
    )


def render_csv(rows: Sequence[PriceRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SEED_COLUMNS)
    writer.writerows(row.as_csv_row() for row in rows)
    return buffer.getvalue()


def write_catalog_seed(path: Path) -> int:
    """Write the catalog seed CSV to `path`; returns the number of price rows."""
    rows = catalog_price_rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_csv(rows))
    return len(rows)


DEFAULT_OUTPUT = SEEDS_DIR / "model_prices.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate seeds/model_prices.csv from the installed genai-prices catalog."
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"CSV to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    count = write_catalog_seed(args.output)
    print(f"wrote {count} price rows from genai-prices {version('genai-prices')} to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
