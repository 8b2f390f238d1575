"""The analytic marts built for real, read from the session's small warehouse.

The session's pipeline run (tests/conftest.py: 20k generated LLM calls over
60 days -> landing -> ingestion -> dbt, with every data test) is checked here
against the call-level fact the marts derive from, and dbt's unit tests run
on it. One agent's spans lose their department on the way in, so the
org_mapping fallback is exercised too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_invocation import run_dbt

pytestmark = pytest.mark.slow

MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class BuiltWarehouse:
    path: Path
    stripped_agent_id: str
    stripped_agent_department: str
    first_day: date
    last_day: date
    calls: int
    agents: int

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@pytest.fixture(scope="module")
def warehouse(pipeline_warehouse) -> BuiltWarehouse:
    return BuiltWarehouse(
        pipeline_warehouse.warehouse_path,
        pipeline_warehouse.agent_without_department,
        pipeline_warehouse.agent_mapped_department,
        pipeline_warehouse.first_day,
        pipeline_warehouse.last_day,
        pipeline_warehouse.calls,
        pipeline_warehouse.agents,
    )


def _query(warehouse: BuiltWarehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_unit_tests_pass_on_the_built_warehouse(warehouse: BuiltWarehouse, tmp_path: Path) -> None:
    """dbt's unit tests, which production runs leave to CI, on the warehouse whose data tests the pipeline ran."""
    out = run_dbt(["test", "--select", "test_type:unit"], warehouse.path, tmp_path).output
    assert "ERROR=0" in out and "FAIL" not in out.split("Finished running")[-1]
    for unit_test in (
        "attribution_shares_sum_to_one_per_parent",
        "peer_rank_percentiles_and_null_metrics",
        "caching_potential_savings_sources",
        "traces_root_agent_department_and_outcome",
        "waterfall_steps_reconcile_and_skip_unpriced_cost",
        "kpi_periods_and_previous_comparable_periods",
    ):
        assert unit_test in out, f"unit test {unit_test} did not run"


def test_fact_holds_the_generated_calls(warehouse: BuiltWarehouse) -> None:
    [(calls, priced, days)] = _query(
        warehouse, "select count(*), count(total_cost_usd), count(distinct call_date) from marts.fct_llm_calls"
    )
    assert calls == warehouse.calls
    assert priced > 0.9 * warehouse.calls
    assert days == warehouse.days


@pytest.mark.parametrize(
    ("mart", "where"),
    [
        ("rpt_cost_daily", "true"),
        ("rpt_cost_hourly", "true"),
        ("rpt_agent_daily", "true"),
        ("rpt_cost_attribution", "level = 4"),
        ("rpt_top_agents", "ranking_window = 'full_range'"),
        ("fct_traces", "true"),
    ],
)
def test_mart_cost_equals_fact_to_the_micro_dollar(warehouse: BuiltWarehouse, mart: str, where: str) -> None:
    [(mart_total, fact_total)] = _query(
        warehouse,
        f"""
        select
            (select sum(total_cost_usd) from marts.{mart} where {where}),
            (select sum(total_cost_usd) from marts.fct_llm_calls)
        """,
    )
    assert isinstance(mart_total, Decimal) and isinstance(fact_total, Decimal)
    assert fact_total > 0
    assert mart_total.quantize(MICRO) == fact_total.quantize(MICRO)
    assert mart_total == fact_total  # decimals all the way: not even a rounding difference


def test_unpriced_calls_are_counted_not_zeroed(warehouse: BuiltWarehouse) -> None:
    [(fact_unpriced, daily_unpriced, null_cost_rows)] = _query(
        warehouse,
        """
        select
            (select count(*) from marts.fct_llm_calls where not is_priced),
            (select sum(unpriced_calls) from marts.rpt_cost_daily),
            (select count(*) from marts.rpt_cost_daily where priced_calls = 0 and total_cost_usd is not null)
        """,
    )
    assert daily_unpriced == fact_unpriced
    assert null_cost_rows == 0


def test_attribution_shares_sum_to_one_within_each_parent(warehouse: BuiltWarehouse) -> None:
    rows = _query(
        warehouse,
        """
        select parent_path, sum(share_of_parent), count(*)
        from marts.rpt_cost_attribution
        where parent_path is not null and share_of_parent is not null
        group by parent_path
        """,
    )
    assert len(rows) > 20  # root, workspaces, departments and agents all have children
    bad = [(parent, total) for parent, total, _ in rows if abs(total - 1) > 1e-9]
    assert not bad, f"shares of these parents do not sum to 1: {bad[:5]}"
    levels = _query(
        warehouse, "select level, sum(share_of_total) from marts.rpt_cost_attribution group by level order by level"
    )
    assert [level for level, _ in levels] == [0, 1, 2, 3, 4]
    assert all(abs(total - 1) < 1e-9 for _, total in levels)


def test_every_agent_has_an_overview_row(warehouse: BuiltWarehouse) -> None:
    dim = {row[0] for row in _query(warehouse, "select agent_id from marts.dim_agents")}
    overview = {row[0] for row in _query(warehouse, "select agent_id from marts.rpt_agent_overview")}
    assert len(dim) == warehouse.agents
    assert dim == overview


def test_analyst_query_month_of_daily_cost_by_agent(warehouse: BuiltWarehouse) -> None:
    """'Daily cost per agent for a month' from the mart equals the same question asked of the fact."""
    month = [warehouse.first_day, warehouse.first_day + timedelta(days=29)]
    from_mart = _query(
        warehouse,
        """
        select call_date, agent_id, sum(total_cost_usd)
        from marts.rpt_cost_daily
        where call_date between ? and ?
        group by call_date, agent_id
        """,
        month,
    )
    from_fact = _query(
        warehouse,
        """
        select call_date, agent_id, sum(total_cost_usd)
        from marts.fct_llm_calls
        where call_date between ? and ?
        group by call_date, agent_id
        """,
        month,
    )
    assert len(from_mart) > 30 * 10
    assert {(d, a): c for d, a, c in from_mart} == {(d, a): c for d, a, c in from_fact}


def test_analyst_query_one_agents_detail(warehouse: BuiltWarehouse) -> None:
    """The top agent by cost: its overview, model mix and ranking agree with the fact."""
    [(top_agent, rank_cost)] = _query(
        warehouse,
        "select agent_id, total_cost_usd from marts.rpt_top_agents where ranking_window = 'full_range' and cost_rank = 1",
    )
    [(fact_agent, fact_cost, fact_calls, fact_errors)] = _query(
        warehouse,
        """
        select agent_id, sum(total_cost_usd), count(*), sum(case when is_error then 1 else 0 end)
        from marts.fct_llm_calls
        group by agent_id
        order by sum(total_cost_usd) desc nulls last
        limit 1
        """,
    )
    assert (top_agent, rank_cost) == (fact_agent, fact_cost)
    [(calls, error_calls, cost, share)] = _query(
        warehouse,
        "select calls, error_calls, total_cost_usd, share_of_total_cost from marts.rpt_agent_overview where agent_id = ?",
        [top_agent],
    )
    assert (calls, error_calls, cost) == (fact_calls, fact_errors, fact_cost)
    assert 0 < share < 1
    models = _query(
        warehouse,
        "select provider, model, calls, total_cost_usd, share_of_agent_cost from marts.rpt_agent_models where agent_id = ?",
        [top_agent],
    )
    assert sum(row[2] for row in models) == fact_calls
    assert sum(row[3] for row in models if row[3] is not None) == fact_cost
    assert abs(sum(row[4] for row in models if row[4] is not None) - 1) < 1e-9
    [(peer_cost_percentile,)] = _query(
        warehouse, "select cost_percentile from marts.rpt_agent_peer_rank where agent_id = ?", [top_agent]
    )
    assert peer_cost_percentile == 1.0


def test_department_falls_back_to_org_mapping(warehouse: BuiltWarehouse) -> None:
    departments = _query(
        warehouse,
        "select distinct department from marts.rpt_cost_daily where agent_id = ?",
        [warehouse.stripped_agent_id],
    )
    assert departments == [(warehouse.stripped_agent_department,)]
    [(from_mapping, calls)] = _query(
        warehouse,
        "select calls_department_from_mapping, calls from marts.rpt_agent_departments where agent_id = ?",
        [warehouse.stripped_agent_id],
    )
    assert from_mapping == calls > 0


def test_token_waterfall_reconciles_with_the_fact(warehouse: BuiltWarehouse) -> None:
    steps = dict(
        _query(
            warehouse,
            """
            select step, sum(tokens)
            from marts.rpt_token_waterfall
            where period_grain = 'month' and scope = 'total'
            group by step
            """,
        )
    )
    [(input_tokens, cache_read, cache_write, output_tokens, reasoning)] = _query(
        warehouse,
        """
        select sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens)
        from marts.fct_llm_calls
        """,
    )
    assert steps["input_total"] == input_tokens
    assert steps["cache_read"] == cache_read and steps["cache_write"] == cache_write
    assert steps["cache_read"] + steps["cache_write"] + steps["uncached_input"] == input_tokens
    assert steps["output_total"] == output_tokens and steps["reasoning"] == reasoning
    assert steps["reasoning"] + steps["visible_output"] == output_tokens


def test_kpi_overview_last_30_days_matches_the_fact(warehouse: BuiltWarehouse) -> None:
    [(period_start, period_end, calls, cost)] = _query(
        warehouse,
        "select period_start, period_end, calls, total_cost_usd from marts.rpt_kpi_overview where period = 'last_30_days'",
    )
    assert period_end == warehouse.last_day and period_start == warehouse.last_day - timedelta(days=29)
    [(fact_calls, fact_cost)] = _query(
        warehouse,
        "select count(*), sum(total_cost_usd) from marts.fct_llm_calls where call_date between ? and ?",
        [period_start, period_end],
    )
    assert (calls, cost) == (fact_calls, fact_cost)


@pytest.mark.parametrize(
    ("table", "bad_value"),
    [
        ("marts.rpt_cost_daily", "null as agent_id"),  # not null
        ("marts.rpt_cost_daily", "-1 as calls"),  # non-negative
        ("marts.fct_llm_calls", "'pending' as status"),  # accepted values
        ("marts.rpt_cost_attribution", "2.0 as share_of_parent"),  # row invariant
    ],
)
def test_contract_constraints_reject_bad_rows(warehouse: BuiltWarehouse, table: str, bad_value: str) -> None:
    """The marts' row-level rules are enforced by the engine where the row is written, not tested after."""
    con = duckdb.connect(str(warehouse.path))
    try:
        con.execute("begin")
        with pytest.raises(duckdb.ConstraintException):
            con.execute(f"insert into {table} select * replace ({bad_value}) from {table} limit 1")
        con.execute("rollback")
    finally:
        con.close()
