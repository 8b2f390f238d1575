"""The build wrapper's own judgement of Evidence output (Evidence exits 0 on these)."""

from __future__ import annotations

import pytest

from orchestration.publish.report_build import ReportBuildError, check_sources_output, error_lines, source_filename
from orchestration.settings import REPORTS_DIR, load_settings

SOURCES_OK = """
  [Processing] agentledger
  agents ✔ Finished, wrote 6 rows.
  cost_daily ✔ Finished, wrote 1350 rows.
  alerts ✔ Finished, wrote 1 rows.
"""


def test_clean_sources_output_gives_row_counts():
    assert check_sources_output(SOURCES_OK, ["agents", "alerts", "cost_daily"], ("agents", "cost_daily")) == {
        "agents": 6,
        "cost_daily": 1350,
        "alerts": 1,
    }


def test_catalog_error_fails_with_the_offending_line():
    out = SOURCES_OK + "  budgets ✖ Error: Catalog Error: Table with name budget_status does not exist!\n"
    with pytest.raises(ReportBuildError, match="Catalog Error: Table with name budget_status") as info:
        check_sources_output(out, ["agents", "alerts", "cost_daily", "budgets"], ("agents",))
    assert "budgets.sql did not finish" in str(info.value)


def test_empty_required_source_fails():
    out = SOURCES_OK.replace("wrote 6 rows", "wrote 0 rows")
    with pytest.raises(ReportBuildError, match=r"agents\.sql returned 0 rows; expected data"):
        check_sources_output(out, ["agents", "alerts", "cost_daily"], ("agents",))


def test_empty_optional_source_fails_before_the_build_would():
    out = SOURCES_OK.replace("wrote 1 rows", "wrote 0 rows")
    with pytest.raises(ReportBuildError, match=r"alerts\.sql returned 0 rows, which Evidence cannot load"):
        check_sources_output(out, ["agents", "alerts", "cost_daily"], ("agents",))


def test_page_query_errors_are_found():
    out = "building...\nkpis | Error in Query! Binder Error: No function matches\n✓ built in 40s\n"
    assert error_lines(out) == ["kpis | Error in Query! Binder Error: No function matches"]


def test_source_filename_is_relative_to_the_source_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "d"))
    rel = source_filename(load_settings())
    assert not rel.startswith("/")
    assert (REPORTS_DIR / "sources" / "agentledger" / rel).resolve() == (
        tmp_path / "d" / "published" / "agentledger.duckdb"
    )
