"""The price seed is the catalog, flattened: deterministic, current, complete for the models we see."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import Usage, calc_price

from orchestration.pricing import price_seed
from orchestration.pricing.price_seed import SEED_COLUMNS, catalog_price_rows, render_csv
from orchestration.settings import SEEDS_DIR


def _seed_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_is_deterministic_and_matches_committed_seed(tmp_path):
    first = render_csv(catalog_price_rows())
    second = render_csv(catalog_price_rows())
    assert first == second
    out = tmp_path / "model_prices.csv"
    assert price_seed.main(["--output", str(out)]) == 0
    assert out.read_text() == first
    committed = (SEEDS_DIR / "model_prices.csv").read_text()
    assert committed == first, (
        "seeds/model_prices.csv is stale for the installed genai-prices: run `make refresh-prices` and commit the CSV"
    )


def test_seed_header_and_custom_seed_shape():
    committed = (SEEDS_DIR / "model_prices.csv").read_text().splitlines()[0].split(",")
    custom = (SEEDS_DIR / "custom_model_prices.csv").read_text().splitlines()
    assert tuple(committed) == SEED_COLUMNS
    assert custom == [",".join(SEED_COLUMNS)]


def _rows_for(provider: str, model: str) -> list[dict[str, str]]:
    return [
        r
        for r in _seed_rows(render_csv(catalog_price_rows()))
        if r["provider_id"] == provider and r["model_id"] == model
    ]


def test_long_context_tier_exported_with_threshold():
    rows = [r for r in _rows_for("anthropic", "claude-sonnet-4-5") if r["service_tier"] == "default"]
    by_key = {(r["usage_type"], r["tier_start_tokens"]): Decimal(r["price_per_mtok"]) for r in rows}
    assert by_key[("input", "0")] == Decimal("3")
    assert by_key[("input", "200000")] == Decimal("6")
    assert by_key[("output", "200000")] == Decimal("22.5")


def test_time_of_day_and_service_tier_prices_exported():
    deepseek = _rows_for("deepseek", "deepseek-chat")
    windows = {(r["daily_from"], r["daily_to"], r["usage_type"]): Decimal(r["price_per_mtok"]) for r in deepseek}
    assert windows[("00:30:00", "16:30:00", "input")] == Decimal("0.27")
    assert windows[("16:30:00", "24:00:00", "input")] == Decimal("0.135")
    gpt4o_batch = [
        r for r in _rows_for("openai", "gpt-4o") if r["service_tier"] == "batch" and r["usage_type"] == "input"
    ]
    assert gpt4o_batch, "gpt-4o batch prices missing"
    # every exported batch price is the one the library uses with the batch price context
    for row in gpt4o_batch:
        at = datetime.fromisoformat(row["valid_from"]).replace(tzinfo=UTC)
        expected = calc_price(
            Usage(input_tokens=1_000_000),
            "gpt-4o",
            provider_id="openai",
            genai_request_timestamp=at,
            price_context={"processing": "batch"},
        ).total_price
        assert Decimal(row["price_per_mtok"]) == expected


def test_price_windows_do_not_overlap():
    rows = catalog_price_rows()
    slices: dict[tuple, list[tuple]] = {}
    for r in rows:
        key = (r.provider_id, r.model_id, r.service_tier, r.usage_type, r.tier_start_tokens)
        slices.setdefault(key, []).append((r.valid_from, r.valid_to, r.daily_from_s, r.daily_to_s))
    for key, windows in slices.items():
        for i, a in enumerate(windows):
            for b in windows[i + 1 :]:
                dates_overlap = a[0] < b[1] and b[0] < a[1]
                times_overlap = a[2] < b[3] and b[2] < a[3]
                assert not (dates_overlap and times_overlap), f"overlapping price windows for {key}: {a} {b}"


def test_seed_covers_every_priced_generator_model(matcher, provider_map):
    from generators.catalog import MODELS

    exported = {(r.provider_id, r.model_id) for r in catalog_price_rows()}
    for spec in MODELS:
        match = matcher.resolve_catalog_model(spec.provider, spec.request_model, spec.response_model, provider_map)
        if spec.priced:
            assert match["catalog_model_id"] is not None, f"{spec.key}: not matched in the catalog"
            assert (match["price_provider_id"], match["catalog_model_id"]) in exported, f"{spec.key}: no seed rows"
        else:
            assert match["catalog_model_id"] is None, f"{spec.key}: expected to be unpriced"
