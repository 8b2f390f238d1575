"""The hand-written floor of benchmarks/compare_dbt.py computes the same cost marts as dbt.

The dbt-versus-floor ratio means something only while the floor computes what
dbt computes: run benchmarks/floor/cost_marts.sql on a copy of the session's
pipeline warehouse (built day by day, incrementally, with an org mapping that
gives one agent its department) and compare its three tables with dbt's.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from benchmarks.compare_dbt import COMPARED, compare_marts, run_floor

pytestmark = pytest.mark.slow


def test_floor_equals_dbt_marts(pipeline_warehouse, tmp_path):
    copy = tmp_path / "warehouse_copy.duckdb"
    shutil.copyfile(pipeline_warehouse.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        run_floor(con)
        differences = compare_marts(con)
        [(mapped,)] = con.execute(
            "select count(*) from floor.rpt_cost_daily where agent_id = ? and department = ?",
            [pipeline_warehouse.agent_without_department, pipeline_warehouse.agent_mapped_department],
        ).fetchall()
    finally:
        con.close()
    assert set(differences) == set(COMPARED)
    for table, counts in differences.items():
        assert counts["dbt_rows"] > 0, f"dbt's {table} is empty: nothing was compared"
        assert (counts["dbt_only"], counts["floor_only"]) == (0, 0), f"{table} differs from dbt's: {counts}"
    assert counts["dbt_rows"] == counts["floor_rows"]
    # the org-mapping fallback is exercised, not only the trace's own department
    assert mapped > 0
