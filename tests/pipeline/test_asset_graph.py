"""Snapshot of the Dagster graph: catches accidental rewiring.

A change to the graph that is meant shows up as a diff of
tests/pipeline/snapshots/asset_graph.json; regenerate it with
`AGENTLEDGER_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/pipeline/test_asset_graph.py`
and review the diff like code.
"""

import json
import os
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def describe(defs) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitioned": node.partitions_def is not None,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "schedules": sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_asset_graph_matches_snapshot(defs):
    current = describe(defs)
    if os.environ.get("AGENTLEDGER_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected


def test_every_asset_is_grouped_described_and_owned(defs):
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.description, f"{spec.key.to_user_string()} has no description"
        assert spec.owners, f"{spec.key.to_user_string()} has no owner"


def test_writers_share_the_single_duckdb_writer_pool(defs):
    from orchestration.partitions import DUCKDB_WRITER_POOL

    graph = defs.resolve_asset_graph()
    writers = {"raw/trace_spans", "marts/fct_llm_calls", "marts/rpt_cost_daily", "reference/model_prices"}
    for key in graph.get_all_asset_keys():
        if key.to_user_string() in writers:
            assets_def = graph.get(key).assets_def
            pools = {op.pool for op in assets_def.node_def.iterate_op_defs()}
            assert pools == {DUCKDB_WRITER_POOL}, key


def test_pipeline_job_runs_in_one_process(defs):
    job = defs.resolve_job_def("agentledger_pipeline")
    assert job.executor_def.name == "in_process"


def test_schedule_requests_yesterdays_partition(defs):
    import datetime as dt

    import dagster as dg

    from orchestration.defs.automation.definitions import nightly_schedule

    when = dt.datetime(2026, 3, 15, 2, 30, tzinfo=dt.UTC)
    with dg.build_schedule_context(scheduled_execution_time=when) as context:
        request = nightly_schedule(context)
    assert request.partition_key == "2026-03-14"
