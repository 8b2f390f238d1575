"""The analytic marts built for real: generator -> raw.trace_spans -> dbt seed + build.

One small generated dataset (20k LLM calls over 30 days) is loaded into a
temporary DuckDB file, the whole dbt project is built on it (models, data
tests and unit tests), and the marts are checked against the call-level fact
they derive from. One agent's spans lose their department on the way in, so
the org_mapping fallback is exercised too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from generators.config import GeneratorConfig
from generators.traces import generate_traces
from orchestration.contract import TRACE_COLUMNS, raw_table_ddl
from orchestration.reference import DEMO_REFERENCE_DIR, install_reference_files, load_org_mapping
from orchestration.settings import DBT_PROJECT_DIR, load_settings

pytestmark = pytest.mark.slow

START = date(2026, 9, 1)
DAYS = 30
CALLS = 20_000
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class BuiltWarehouse:
    path: Path
    stripped_agent_id: str
    stripped_agent_department: str
    build_output: str


def _dbt(args: list[str], env: dict[str, str], work: Path) -> subprocess.CompletedProcess[str]:
    """Run dbt on the real project, with target and logs in the temp dir (never in the repo)."""
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _mapped_agent(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """An agent present both in the spans and in the demo's org mapping, and its mapped department."""
    rows = con.execute(
        f"""
        select spans.agent_id, org.department
        from (select distinct agent_id from raw.trace_spans) as spans
        join read_csv('{DEMO_REFERENCE_DIR / 'org_mapping.csv'}', header = true, all_varchar = true) as org
            on spans.agent_id = org.agent_id
        order by spans.agent_id
        limit 1
        """
    ).fetchall()
    assert rows, "no generated agent is listed in generators/demo_reference/org_mapping.csv; expected the generator's agent ids there"
    return rows[0][0], rows[0][1]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    work = tmp_path_factory.mktemp("marts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(work))
        mp.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
        settings = load_settings()
        landing = settings.landing_dir
        generate_traces(
            GeneratorConfig(calls=CALLS, days=DAYS, start=START, seed=11, agents=20),
            landing,
            fmt="parquet",
            labels_path=work / "ground_truth" / "anomalies.csv",
            progress=False,
        )
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            con.execute("create schema if not exists raw")
            con.execute(raw_table_ddl())
            columns = ", ".join(TRACE_COLUMNS)
            con.execute(
                f"""
                insert into raw.trace_spans
                select {columns}, filename, row_number() over (partition by filename order by span_id),
                    'parquet', current_timestamp
                from read_parquet('{landing}/**/*.parquet', filename = true)
                """
            )
            agent_id, department = _mapped_agent(con)
            # Traces from other sources may lack a department: the marts must fall back to org_mapping.
            con.execute("update raw.trace_spans set department = null where agent_id = ?", [agent_id])
            # The generated agents' owners, as the demo installs them (the product ships none).
            install_reference_files(DEMO_REFERENCE_DIR, settings)
            load_org_mapping(con, settings)
        finally:
            con.close()

        env = {**os.environ, **settings.dbt_env()}
        seed = _dbt(["seed"], env, work)
        assert seed.returncode == 0, f"dbt seed failed:\n{seed.stdout[-4000:]}"
        build = _dbt(["build"], env, work)
        assert build.returncode == 0, f"dbt build failed (models, data tests or unit tests):\n{build.stdout[-8000:]}"
    return BuiltWarehouse(settings.warehouse_path, agent_id, department, build.stdout)


def _query(warehouse: BuiltWarehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_build_ran_the_marts_tests(warehouse: BuiltWarehouse) -> None:
    out = warehouse.build_output
    assert "ERROR=0" in out and "FAIL" not in out.split("Finished running")[-1]
    for unit_test in ("attribution_shares_sum_to_one_per_parent", "peer_rank_percentiles_and_null_metrics",
                      "caching_potential_savings_sources", "traces_root_agent_department_and_outcome",
                      "waterfall_steps_reconcile_and_skip_unpriced_cost", "kpi_periods_and_previous_comparable_periods"):
        assert unit_test in out, f"unit test {unit_test} did not run in dbt build"


def test_fact_holds_the_generated_calls(warehouse: BuiltWarehouse) -> None:
    [(calls, priced, days)] = _query(
        warehouse, "select count(*), count(total_cost_usd), count(distinct call_date) from marts.fct_llm_calls"
    )
    assert calls == CALLS
    assert priced > 0.9 * CALLS
    assert days == DAYS


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
    levels = _query(warehouse, "select level, sum(share_of_total) from marts.rpt_cost_attribution group by level order by level")
    assert [level for level, _ in levels] == [0, 1, 2, 3, 4]
    assert all(abs(total - 1) < 1e-9 for _, total in levels)


def test_every_agent_has_an_overview_row(warehouse: BuiltWarehouse) -> None:
    dim = {row[0] for row in _query(warehouse, "select agent_id from marts.dim_agents")}
    overview = {row[0] for row in _query(warehouse, "select agent_id from marts.rpt_agent_overview")}
    assert len(dim) == 20
    assert dim == overview


def test_analyst_query_month_of_daily_cost_by_agent(warehouse: BuiltWarehouse) -> None:
    """'Daily cost per agent for September' from the mart equals the same question asked of the fact."""
    from_mart = _query(
        warehouse,
        """
        select call_date, agent_id, sum(total_cost_usd)
        from marts.rpt_cost_daily
        where call_date between date '2026-09-01' and date '2026-09-30'
        group by call_date, agent_id
        """,
    )
    from_fact = _query(
        warehouse,
        """
        select call_date, agent_id, sum(total_cost_usd)
        from marts.fct_llm_calls
        where call_date between date '2026-09-01' and date '2026-09-30'
        group by call_date, agent_id
        """,
    )
    assert len(from_mart) > DAYS * 10
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
    assert period_end == date(2026, 9, 30) and period_start == date(2026, 9, 1)
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
