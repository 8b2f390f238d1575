"""What the operations view is built from: readable check names, row counts and previews, run tags.

Fast: the real dbt manifest and an in-memory DuckDB; the UI itself is
exercised in test_dagster_ui.py.
"""

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_project import agentledger_dbt_project
from orchestration.dbt_translator import DBT_TEST_NAME_KEY, with_readable_check_names
from orchestration.run_tags import coverage_tags, files_label
from orchestration.table_metadata import markdown_preview, row_counts


@pytest.fixture(scope="module")
def manifest():
    return json.loads(Path(agentledger_dbt_project.manifest_path).read_text())


def test_check_names_are_short_identifiers_unique_on_their_table(manifest):
    renamed = with_readable_check_names(manifest)
    tests = [n for n in renamed["nodes"].values() if n["resource_type"] == "test"]
    assert tests
    per_table = Counter((n["attached_node"], n["name"]) for n in tests)
    assert max(per_table.values()) == 1, [k for k, v in per_table.items() if v > 1]
    for node in tests:
        assert re.fullmatch(r"[a-z0-9_]+", node["name"]) and len(node["name"]) <= 60, node["name"]
        # dbt's own identity is left alone: selection by fully qualified name still finds the test.
        assert node["fqn"] == manifest["nodes"][node["unique_id"]]["fqn"]
    # The input manifest is not modified.
    assert all(
        n["name"] == n["unique_id"].split(".")[2] for n in manifest["nodes"].values() if n["resource_type"] == "test"
    )


def test_reconciliations_over_different_filters_keep_apart(manifest):
    renamed = with_readable_check_names(manifest)
    names = sorted(
        n["name"]
        for n in renamed["nodes"].values()
        if n["resource_type"] == "test" and (n.get("attached_node") or "").endswith(".rpt_cost_attribution")
    )
    assert "total_cost_usd_sum_matches_fct_llm_calls_level_0" in names
    assert "total_cost_usd_sum_matches_fct_llm_calls_level_4" in names


def test_dbt_checks_are_described_and_keep_the_dbt_name():
    from orchestration.defs.warehouse.assets import dbt_marts

    specs = {spec.name: spec for spec in dbt_marts.check_specs if spec.asset_key.path == ["marts", "rpt_cost_daily"]}
    spec = specs["call_date_in_dim_dates"]
    assert spec.description.startswith("Every `call_date` exists as `date_day` in `dim_dates`")
    assert spec.metadata[DBT_TEST_NAME_KEY] == "relationships_rpt_cost_daily_call_date__date_day__ref_dim_dates_"
    assert all(s.description for s in dbt_marts.check_specs)


def test_row_counts_and_preview_read_the_table():
    conn = duckdb.connect()
    conn.execute("create schema marts")
    conn.execute(
        "create table marts.rpt_x as select range as day_index, 'a|b' as label, range * 1.234567891 as cost_usd, "
        "null as note, 1 as c5, 2 as c6, 3 as c7, 4 as c8, 5 as c9, 6 as c10 from range(12)"
    )
    conn.execute("create table marts.empty_x (id integer)")
    assert row_counts(conn, {"x": '"marts"."rpt_x"', "e": '"marts"."empty_x"'}) == {"x": 12, "e": 0}
    lines = markdown_preview(conn, '"marts"."rpt_x"').splitlines()
    assert lines[0] == "| day_index | label | cost_usd | note | c5 | c6 | c7 | c8 |"
    assert lines[2] == "| 0 | a\\|b | 0 |  | 1 | 2 | 3 | 4 |"
    assert lines[3].startswith("| 1 | a\\|b | 1.23457 |")
    assert len([line for line in lines if line.startswith("| ")]) == 2 + 5
    assert lines[-1] == "2 more columns: c9, c10"


def test_coverage_tags_name_days_and_files():
    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 3)
    tags = coverage_tags(first, last, ["b.json", "a.parquet", "b.json"])
    assert tags == {
        "agentledger/days": "2026-10-01..2026-10-03",
        "agentledger/day_count": "3",
        "agentledger/files": "a.parquet, b.json",
        "agentledger/file_count": "2",
    }
    assert coverage_tags(first, first, [])["agentledger/days"] == "2026-10-01"
    assert coverage_tags(first, first, [])["agentledger/files"] == "none new"
    many = files_label(f"f{i:02d}.json" for i in range(25))
    assert many.startswith("f00.json, f01.json") and many.endswith("f09.json and 15 more")
