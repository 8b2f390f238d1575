"""End to end through Dagster, in process, on a small generated dataset.

Covers the operation story: two daily partitions materialised, one re-run
(idempotent), a late file for an old day picked up by the landing sensor and
re-materialised, and a price change re-priced by a partition backfill that
changes exactly the affected calls.
"""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from generators import GeneratorConfig, generate_traces
from orchestration.dbt_invocation import environment
from orchestration.settings import SEEDS_DIR

pytestmark = pytest.mark.slow

DAY1, DAY2 = dt.date(2026, 5, 4), dt.date(2026, 5, 5)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A data dir with two generated days; the custom price seed is restored afterwards."""
    root = tmp_path_factory.mktemp("pipeline")
    data_dir = root / "data"
    custom_prices = SEEDS_DIR / "custom_model_prices.csv"
    original_prices = custom_prices.read_bytes()
    generate_traces(
        GeneratorConfig(calls=3_000, days=2, start=DAY1, seed=11, agents=6),
        data_dir / "landing" / "synthetic",
        fmt="parquet",
        labels_path=data_dir / "ground_truth" / "anomalies.csv",
    )
    env = {"AGENTLEDGER_DATA_DIR": str(data_dir), "AGENTLEDGER_PARTITIONS_START": "2026-01-01"}
    with environment(env):
        try:
            yield data_dir, custom_prices
        finally:
            # The test appends a contract price to the repository's seed (the dbt
            # assets always run the project they were defined from); put it back.
            custom_prices.write_bytes(original_prices)


@pytest.fixture(scope="module")
def run_partition(workspace):
    from orchestration.defs import ingest, warehouse
    from orchestration.resources import build_resources

    instance = dg.DagsterInstance.ephemeral()
    # The real ingest and dbt assets; the downstream signals and site are covered elsewhere.
    job = dg.define_asset_job("partitions_under_test", selection="*", executor_def=dg.in_process_executor)
    resolved = dg.Definitions.merge(
        ingest.defs, warehouse.defs, dg.Definitions(jobs=[job], resources=build_resources())
    ).resolve_job_def("partitions_under_test")

    def run(first: dt.date, last: dt.date | None = None):
        last = last or first
        result = resolved.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
            raise_on_error=True,
        )
        assert result.success
        return result

    return run


def query(data_dir: Path, sql: str):
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def day_totals(data_dir: Path) -> dict:
    rows = query(
        data_dir,
        "select call_date, count(*), sum(total_cost_usd) from marts.fct_llm_calls group by 1 order by 1",
    )
    return {day: (calls, cost) for day, calls, cost in rows}


def assert_traces_follow_the_calls(data_dir: Path) -> None:
    """The incremental trace fact holds every trace, and each one's cost and call count from the call fact."""
    [(stale, missing)] = query(
        data_dir,
        """
        with calls as (
            select trace_id, count(*) as calls, sum(total_cost_usd) as cost from marts.fct_llm_calls group by 1
        )
        select
            (select count(*) from marts.fct_traces t join calls c using (trace_id)
             where t.llm_call_count <> c.calls or t.total_cost_usd is distinct from c.cost),
            (select count(*) from (select distinct trace_id from raw.trace_spans)
             where trace_id not in (select trace_id from marts.fct_traces))
        """,
    )
    assert (stale, missing) == (0, 0)


def test_partitions_rerun_late_data_and_reprice(workspace, run_partition):
    data_dir, custom_prices = workspace
    # Two partitions, one run each.
    run_partition(DAY1)
    run_partition(DAY2)
    raw_by_day = dict(query(data_dir, "select started_at::date, count(*) from raw.trace_spans group by 1"))
    assert set(raw_by_day) == {DAY1, DAY2}
    first_totals = day_totals(data_dir)
    assert set(first_totals) == {DAY1, DAY2}
    assert all(calls > 0 and cost > 0 for calls, cost in first_totals.values())

    # Re-running a partition changes nothing.
    run_partition(DAY2)
    assert dict(query(data_dir, "select started_at::date, count(*) from raw.trace_spans group by 1")) == raw_by_day
    assert day_totals(data_dir) == first_totals

    # A late file for the first day: the sensor asks for exactly that day.
    generate_traces(
        GeneratorConfig(calls=200, days=1, start=DAY1, seed=99, agents=3),
        data_dir / "landing" / "late",
        fmt="jsonl",
        labels_path=data_dir / "ground_truth" / "late-anomalies.csv",
    )
    late_spans = sum(1 for f in (data_dir / "landing" / "late").rglob("*.jsonl") for _ in f.open())
    past = 1_000_000_000
    for f in (data_dir / "landing" / "late").rglob("*"):
        os.utime(f, (past, past))  # written long ago: past the sensor's debounce

    from orchestration.definitions import defs

    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), definitions=defs) as context:
        result = sensor.evaluate_tick(context)
    assert [r.tags["dagster/asset_partition_range_start"] for r in result.run_requests] == [DAY1.isoformat()]
    assert [r.tags["dagster/asset_partition_range_end"] for r in result.run_requests] == [DAY1.isoformat()]
    # A fresh instance has never built the seeds, the backtest or the forecast: the run includes them.
    selected = {k.to_user_string() for k in result.run_requests[0].asset_selection}
    assert {
        "signals/forecast_backtest",
        "signals/cost_forecast",
        "reference/model_prices",
        "raw/trace_spans",
    } <= selected
    assert "reports/site" not in selected  # the report-site job builds it after the publish

    run_partition(DAY1)
    after_late = dict(query(data_dir, "select started_at::date, count(*) from raw.trace_spans group by 1"))
    assert after_late[DAY1] == raw_by_day[DAY1] + late_spans
    assert after_late[DAY2] == raw_by_day[DAY2]
    late_totals = day_totals(data_dir)
    assert late_totals[DAY1][0] > first_totals[DAY1][0]
    assert late_totals[DAY2] == first_totals[DAY2]
    assert_traces_follow_the_calls(data_dir)

    # A contract price for one model from DAY2 on: re-pricing changes exactly those calls.
    model, provider = query(
        data_dir,
        "select response_model, provider from marts.fct_llm_calls where is_priced and call_date = "
        f"'{DAY2}' group by 1, 2 order by count(*) desc limit 1",
    )[0]
    before = dict(query(data_dir, "select span_id, total_cost_usd from marts.fct_llm_calls"))
    with custom_prices.open("a") as f:
        for usage_type in ("input", "cache_read", "cache_write", "output", "reasoning"):
            f.write(f"{provider},{model},contract,default,{DAY2},9999-12-31,00:00:00,24:00:00,{usage_type},0,0.5\n")

    from orchestration.reprice import find_reprice_window
    from orchestration.settings import load_settings

    window = find_reprice_window(load_settings())
    assert (window.first, window.last) == (DAY2, DAY2)
    run_partition(window.first, window.last)

    after = query(
        data_dir,
        "select span_id, total_cost_usd, response_model, call_date, total_tokens, price_source from marts.fct_llm_calls",
    )
    changed = {span for span, cost, *_ in after if cost != before[span]}
    repriced = {span for span, _, m, day, *_ in after if m == model and day == DAY2}
    # Failed calls report no usage: they cost nothing at either price.
    expected = {span for span, _, m, day, tokens, _ in after if span in repriced and tokens > 0}
    assert expected and changed == expected
    for span, cost, _, _, tokens, source in after:
        if span in repriced:
            assert source == "custom"
            assert float(cost) == pytest.approx(tokens * 0.5 / 1_000_000, abs=1e-9)
    assert_traces_follow_the_calls(data_dir)


def test_today_is_a_partition_and_the_first_one_is_configured_or_landed(tmp_path):
    import dataclasses

    from orchestration.partitions import build_daily_partitions, daily_partitions, first_partition_day
    from orchestration.settings import load_ingest_settings, load_settings

    today = dt.datetime.now(dt.UTC).date()
    assert daily_partitions.end_offset == 1
    assert daily_partitions.get_last_partition_key() == today.isoformat()
    assert build_daily_partitions(dt.date(2026, 5, 4)).get_first_partition_key() == "2026-05-04"

    settings = dataclasses.replace(load_settings(), data_dir=tmp_path, partitions_start="2026-05-04")
    assert first_partition_day(settings) == dt.date(2026, 5, 4)
    with pytest.raises(ValueError, match="AGENTLEDGER_PARTITIONS_START='May 4'"):
        first_partition_day(dataclasses.replace(settings, partitions_start="May 4"))

    # Unset and nothing published yet: every day the loader accepts is a partition.
    unset = dataclasses.replace(settings, partitions_start=None)
    oldest = today - dt.timedelta(days=load_ingest_settings().max_span_age_days)
    assert first_partition_day(unset, today) == oldest

    # Once published, the earliest landed call is the first partition.
    unset.published_dir.mkdir(parents=True)
    conn = duckdb.connect(str(unset.published_warehouse_path))
    conn.execute("create schema marts")
    conn.execute("create table marts.fct_llm_calls as select date '2026-09-14' + range::int as call_date from range(5)")
    conn.close()
    assert first_partition_day(unset, today) == dt.date(2026, 9, 14)
