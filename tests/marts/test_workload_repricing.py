"""The what-if re-pricing mart (marts.rpt_agent_workload_repricing) on the session's warehouse.

Two checks from outside the mart: the calls an agent made on a catalog model
and tier, re-priced on that model and tier, cost what the call pricing charged
them; and a few candidates' costs recomputed call by call in Python from the
price catalog's seed file (date and time-of-day validity, long-context tiers,
cache and reasoning fallbacks), without the mart's buckets.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest

from orchestration.settings import REPO_ROOT

pytestmark = pytest.mark.slow

WINDOW_DAYS = 30  # dbt var recommendation_window_days (dbt_project.yml)
CENT = Decimal("0.01")
USAGE_FALLBACKS = {
    "input": ("input",),
    "cache_read": ("cache_read", "input"),
    "cache_write": ("cache_write", "input"),
    "output": ("output",),
    "reasoning": ("reasoning", "output"),
}


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = conn.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def warehouse(pipeline_warehouse):
    conn = duckdb.connect(str(pipeline_warehouse.warehouse_path), read_only=True)
    try:
        yield conn
    finally:
        conn.close()


def test_calls_repriced_on_the_model_and_tier_they_used_cost_what_they_cost(warehouse):
    # The used model and tier come from the call pricing itself, not from the mart.
    actual = _rows(
        warehouse,
        f"""
        with window_start as (select max(call_date) - {WINDOW_DAYS} as after_date from marts.fct_llm_calls)
        select agent_id, price_provider_id as provider, catalog_model_id as model,
               price_service_tier as tier, count(*) as calls, sum(total_cost_usd) as cost
        from intermediate.int_llm_calls_priced, window_start
        where call_date > after_date and price_source = 'catalog' and agent_id is not null
          and operation != 'embeddings'
        group by all
        """,
    )
    assert len(actual) >= 10
    mart = {
        (r["agent_id"], r["candidate_provider"], r["candidate_model"], r["candidate_service_tier"]): r
        for r in _rows(warehouse, "select * from marts.rpt_agent_workload_repricing where is_current")
    }
    assert len(mart) == len(actual)
    for row in actual:
        current = mart[(row["agent_id"], row["provider"], row["model"], row["tier"])]
        assert current["current_calls"] == row["calls"]
        assert current["current_actual_cost_usd"] == row["cost"]
        assert current["current_repriced_cost_usd"].quantize(CENT) == row["cost"].quantize(CENT)
        assert abs(current["current_repriced_cost_usd"] - row["cost"]) < Decimal("1e-9")

    # Each agent's actual cost is its whole priced generation traffic of the window.
    totals = dict(
        warehouse.execute(
            f"""
            with window_start as (select max(call_date) - {WINDOW_DAYS} as after_date from marts.fct_llm_calls)
            select agent_id, sum(total_cost_usd)
            from marts.fct_llm_calls, window_start
            where call_date > after_date and is_priced and agent_id is not null and operation != 'embeddings'
            group by agent_id
            """
        ).fetchall()
    )
    shown = dict(
        warehouse.execute(
            "select agent_id, any_value(actual_cost_usd) from marts.rpt_agent_workload_repricing group by agent_id"
        ).fetchall()
    )
    assert shown == totals


def _catalog() -> dict[tuple[str, str, str], list[dict]]:
    prices = defaultdict(list)
    with (REPO_ROOT / "seeds" / "model_prices.csv").open() as f:
        for row in csv.DictReader(f):
            prices[(row["provider_id"], row["model_id"], row["service_tier"])].append(row)
    return prices


def _seconds(hms: str) -> int:
    hours, minutes, seconds = (int(part) for part in hms.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _unit_price(rows: list[dict], usage: str, day: date, second: int, input_tokens: int) -> Decimal | None:
    """The catalog's price per million tokens of `usage` for one call: valid that day and second, and of
    the highest tier the call's input tokens are above (the base tier takes every call)."""
    for kind in USAGE_FALLBACKS[usage]:
        applicable = [
            r
            for r in rows
            if r["usage_type"] == kind
            and date.fromisoformat(r["valid_from"]) <= day < date.fromisoformat(r["valid_to"])
            and _seconds(r["daily_from"]) <= second < _seconds(r["daily_to"])
            and (int(r["tier_start_tokens"]) == 0 or input_tokens > int(r["tier_start_tokens"]))
        ]
        if applicable:
            top = max(applicable, key=lambda r: int(r["tier_start_tokens"]))
            return Decimal(top["price_per_mtok"]).quantize(Decimal("1e-9"))
    return None


def _call_cost(rows: list[dict], call: dict) -> Decimal:
    started = call["started_at"]
    second = started.hour * 3600 + started.minute * 60 + started.second
    parts = {
        "input": call["input_tokens"] - call["cache_read_tokens"] - call["cache_write_tokens"],
        "cache_read": call["cache_read_tokens"],
        "cache_write": call["cache_write_tokens"],
        "output": call["output_tokens"] - call["reasoning_tokens"],
        "reasoning": call["reasoning_tokens"],
    }
    total = Decimal(0)
    for usage, tokens in parts.items():
        price = _unit_price(rows, usage, started.date(), second, call["input_tokens"]) or Decimal(0)
        total += Decimal(tokens) * price / Decimal(1_000_000)
    return total


def test_candidate_costs_match_pricing_each_call_from_the_catalog_file(warehouse):
    catalog = _catalog()
    # The agent with the costliest workload, and candidates of different kinds: its cheapest, a batch
    # tier, a model with a long-context tier that its calls reach if any, and a model without cache prices.
    (agent_id,) = warehouse.execute(
        "select agent_id from marts.rpt_agent_workload_repricing group by agent_id "
        "order by any_value(actual_cost_usd) desc, agent_id limit 1"
    ).fetchone()
    candidates = _rows(
        warehouse,
        """
        (select * from marts.rpt_agent_workload_repricing where agent_id = $agent and cost_rank = 1)
        union all
        (select * from marts.rpt_agent_workload_repricing
         where agent_id = $agent and candidate_service_tier = 'batch' and covers_workload
         order by candidate_provider, candidate_model limit 1)
        union all
        (select * from marts.rpt_agent_workload_repricing
         where agent_id = $agent and covers_workload order by long_context_calls desc, cost_rank limit 1)
        union all
        (select * from marts.rpt_agent_workload_repricing
         where agent_id = $agent and covers_workload and not has_cache_read_price
         order by candidate_provider, candidate_model limit 1)
        union all
        (select * from marts.rpt_agent_workload_repricing where agent_id = $agent and is_current)
        """.replace("$agent", "?"),
        [agent_id] * 5,
    )
    assert len(candidates) >= 5
    calls = _rows(
        warehouse,
        f"""
        with window_start as (select max(call_date) - {WINDOW_DAYS} as after_date from marts.fct_llm_calls)
        select started_at, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens
        from marts.fct_llm_calls, window_start
        where call_date > after_date and is_priced and agent_id = ? and operation != 'embeddings'
        """,
        [agent_id],
    )
    assert len(calls) == candidates[0]["workload_calls"]
    assert any(c["cache_read_tokens"] > 0 for c in calls), "the workload should exercise cache prices"
    for candidate in candidates:
        rows = catalog[
            (candidate["candidate_provider"], candidate["candidate_model"], candidate["candidate_service_tier"])
        ]
        expected = sum((_call_cost(rows, call) for call in calls), Decimal(0))
        got = candidate["candidate_cost_usd"]
        label = (
            f"{candidate['candidate_provider']}/{candidate['candidate_model']} {candidate['candidate_service_tier']}"
        )
        assert got is not None, label
        assert abs(got - expected) < Decimal("0.000001"), f"{label}: mart {got}, catalog file {expected}"
        assert got.quantize(CENT) == expected.quantize(CENT), label
        assert candidate["saving_usd"] == candidate["actual_cost_usd"] - got

    # The window is the last 30 days of data, as the other recent marts.
    start, end = warehouse.execute(
        "select any_value(window_start_date), any_value(window_end_date) from marts.rpt_agent_workload_repricing"
    ).fetchone()
    (last_day,) = warehouse.execute("select max(call_date) from marts.fct_llm_calls").fetchone()
    assert end == last_day and start == last_day - timedelta(days=WINDOW_DAYS - 1)
