"""End to end: the real dbt project over generated traces, checked against genai-prices itself.

Slow (two dbt builds); run with `pytest -m slow tests/pricing`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from genai_prices import Usage, calc_price

from generators.config import GeneratorConfig
from generators.traces import generate_traces
from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS, raw_table_ddl
from orchestration.dbt_invocation import run_dbt
from orchestration.pricing.price_seed import SERVICE_TIER_PRICE_CONTEXTS

pytestmark = pytest.mark.slow

# The incremental models, and the dimensions and report tables built on the
# incremental aggregates: after an incremental run each must equal a full rebuild.
INCREMENTAL_MODELS = (
    "marts.fct_llm_calls",
    "marts.fct_traces",
    "marts.rpt_usage_daily_total",
    "marts.fct_usage_daily",
    "marts.fct_usage_hourly",
    "marts.fct_agent_daily",
    "marts.fct_cost_daily",
    "marts.fct_cost_hourly",
    "marts.rpt_usage_daily",
    "marts.rpt_usage_hourly",
    "marts.rpt_agent_daily",
    "marts.rpt_cost_daily",
    "marts.rpt_cost_hourly",
    "intermediate.int_span_activity_daily",
    "intermediate.int_trace_agents",
    "intermediate.int_span_attribution",
    "marts.fct_usage_sources_daily",
    "marts.rpt_usage_sources",
    "marts.fct_model_daily",
    "marts.fct_caching_daily",
    "marts.rpt_caching_roi",
    "intermediate.int_model_names_daily",
    "intermediate.int_model_catalog_matches",
    "marts.dim_models",
    "marts.dim_providers",
    "marts.dim_dates",
    "marts.dim_agents",
    "marts.dim_workspaces",
    "marts.dim_departments",
    "marts.rpt_agent_overview",
    "marts.rpt_agent_efficiency",
    "marts.rpt_agent_departments",
    "marts.rpt_token_waterfall",
    "marts.rpt_cost_by_model",
    "marts.rpt_provider_model_matrix",
    "marts.rpt_kpi_overview",
)
SELECT = [
    "--select",
    "+fct_llm_calls",
    "rpt_unpriced_models",
    *(f"+{name.split('.')[1]}" for name in INCREMENTAL_MODELS[1:]),
    "--indirect-selection",
    "cautious",
]
# Starts two days before a catalog price change (2026-10-14) so windows are crossed.
START = date(2026, 10, 12)
DAYS = 4
TOLERANCE = Decimal("0.000001")


def load_raw(warehouse: Path, parquet_glob: str, where: str = "true") -> int:
    """Insert generated spans into raw.trace_spans (contract columns plus lineage), as the loader would."""
    columns = ", ".join(TRACE_COLUMNS)
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("create schema if not exists raw")
        conn.execute(raw_table_ddl())
        before = conn.execute(f"select count(*) from {RAW_SPANS_TABLE}").fetchone()[0]
        conn.execute(
            f"""
            insert into {RAW_SPANS_TABLE}
            select {columns}, filename as _source_file, row_number() over () as _source_row,
                   'parquet' as _source_format, now() as _loaded_at
            from read_parquet('{parquet_glob}', filename = true)
            where ({where}) and span_id not in (select span_id from {RAW_SPANS_TABLE})
            """
        )
        return conn.execute(f"select count(*) from {RAW_SPANS_TABLE}").fetchone()[0] - before
    finally:
        conn.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("generated")
    config = GeneratorConfig(calls=7_000, days=DAYS, start=START, agents=12, seed=11)
    generate_traces(config, out, "parquet", progress=False)
    return str(out / "parquet" / "**" / "*.parquet")


def test_every_priced_call_matches_genai_prices(generated, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    load_raw(warehouse, generated)
    run_dbt(["build", *SELECT], warehouse, tmp_path)

    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        calls = conn.execute(
            """
            select f.span_id, f.started_at, f.service_tier, f.input_tokens, f.output_tokens,
                   f.cache_read_tokens, f.cache_write_tokens, f.reasoning_tokens, f.total_cost_usd,
                   f.catalog_provider_id, m.matched_model_ref, f.price_source
            from marts.fct_llm_calls as f
            inner join intermediate.int_model_catalog_matches as m
                on f.provider is not distinct from m.provider
                and f.request_model is not distinct from m.request_model
                and f.response_model is not distinct from m.response_model
            where f.is_priced
            """
        ).fetchall()
        unpriced = conn.execute(
            "select distinct provider, request_model, total_cost_usd is null from marts.fct_llm_calls where not is_priced"
        ).fetchall()
        unpriced_report = conn.execute(
            "select provider, model, calls from marts.rpt_unpriced_models order by model"
        ).fetchall()
        long_context = conn.execute("select count(*) from marts.fct_llm_calls where is_long_context_tier").fetchone()[0]
    finally:
        conn.close()

    assert len(calls) >= 5_000
    assert {c[11] for c in calls} == {"catalog"}
    mismatches = []
    for span_id, started_at, tier, inp, out, cr, cw, _reasoning, total, provider_id, model_ref, _ in calls:
        expected = calc_price(
            Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw),
            model_ref,
            provider_id=provider_id,
            genai_request_timestamp=started_at,
            price_context=SERVICE_TIER_PRICE_CONTEXTS.get(tier),
        ).total_price
        if abs(expected - total) > TOLERANCE:
            mismatches.append((span_id, model_ref, tier, inp, out, cr, cw, str(total), str(expected)))
    assert mismatches == [], f"{len(mismatches)} calls priced differently from genai-prices, e.g. {mismatches[:5]}"
    # the generator's two self-hosted models are the unpriced ones, with null (not zero) costs
    assert {(p, m) for p, m, _ in unpriced} == {("vllm", "acme-support-llama-3.1-70b-ft"), ("vllm", "acme-embed-v2")}
    assert all(is_null for _, _, is_null in unpriced)
    assert [m for _, m, _ in unpriced_report] == ["acme-embed-v2", "acme-support-llama-3.1-70b-ft"]
    assert long_context > 0, "the generated data should cross a long-context threshold"


def test_incremental_run_equals_full_rebuild(generated, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    last_day = START + timedelta(days=DAYS - 1)
    # first load: all but the last day, and hold back a slice of the day before as late data
    held_back = f"(started_at >= date '{last_day}' or (started_at >= date '{last_day - timedelta(days=1)}' and span_id like '%a'))"
    first = load_raw(warehouse, generated, f"not {held_back}")
    run_dbt(["build", *SELECT], warehouse, tmp_path)
    late = load_raw(warehouse, generated)
    assert first > 0 and late > 0

    vars_ = json.dumps({"min_date": str(last_day), "max_date": str(last_day)})
    run_dbt(["run", *SELECT, "--vars", vars_], warehouse, tmp_path)
    conn = duckdb.connect(str(warehouse))
    try:
        for model in INCREMENTAL_MODELS:
            conn.execute(f"create table main.{model.replace('.', '__')}_incremental as select * from {model}")
    finally:
        conn.close()

    run_dbt(["run", *SELECT, "--full-refresh"], warehouse, tmp_path)
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        differences = {
            model: conn.execute(
                f"""select (select count(*) from (select * from main.{model.replace(".", "__")}_incremental
                                                  except all select * from {model})),
                           (select count(*) from (select * from {model}
                                                  except all select * from main.{model.replace(".", "__")}_incremental))"""
            ).fetchone()
            for model in INCREMENTAL_MODELS
        }
        rows = conn.execute("select count(*) from marts.fct_llm_calls").fetchone()[0]
        traces = conn.execute("select count(*) from marts.fct_traces").fetchone()[0]
        raw_traces = conn.execute("select count(distinct trace_id) from raw.trace_spans").fetchone()[0]
        model_spans = conn.execute(
            "select count(*) from raw.trace_spans where operation in ('chat', 'text_completion', 'generate_content', 'embeddings')"
        ).fetchone()[0]
    finally:
        conn.close()
    assert differences == dict.fromkeys(INCREMENTAL_MODELS, (0, 0))
    assert traces == raw_traces
    assert rows == model_spans
