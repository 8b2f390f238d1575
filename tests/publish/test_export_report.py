"""Export round trip: what the files say equals what the marts say."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import duckdb
import pytest

from orchestration.publish.export import ExportError, ExportFilters, export_cost_report, main
from orchestration.settings import load_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(pipeline_data_dir):
    """Settings pointing at the session's real pipeline run (its published file and working warehouse)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AGENTLEDGER_DATA_DIR", str(pipeline_data_dir.data_dir))
    mp.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    settings = load_settings()
    assert settings.published_warehouse_path == pipeline_data_dir.published_path
    yield settings
    mp.undo()


def _first(settings, sql: str) -> str:
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _mart_total(settings, where: str, params: list) -> tuple[Decimal, int]:
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return conn.execute(f"select sum(total_cost_usd), count(*) from marts.fct_llm_calls where {where}", params).fetchone()
    finally:
        conn.close()


def _days(settings) -> tuple[dt.date, dt.date]:
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        return conn.execute("select min(call_date), max(call_date) from marts.fct_llm_calls").fetchone()
    finally:
        conn.close()


def test_export_totals_equal_the_marts_for_range_and_scope(published, tmp_path):
    first, last = _days(published)
    start, end = first + dt.timedelta(days=5), last - dt.timedelta(days=5)
    workspace = _first(published, "select workspace_id from marts.dim_workspaces order by call_count desc limit 1")
    filters = ExportFilters(start, end, workspace=workspace)
    result = export_cost_report(published, filters, out_dir=tmp_path / "out")
    expected_cost, expected_calls = _mart_total(
        published, "call_date between ? and ? and workspace_id = ?", [start, end, workspace]
    )
    assert expected_calls > 0
    assert result.total_cost_usd == expected_cost
    assert result.calls == expected_calls

    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["filters"] == {"start": str(start), "end": str(end), "workspace": workspace, "department": None, "agent": None}
    assert Decimal(manifest["totals"]["total_cost_usd"]) == expected_cost
    assert manifest["totals"]["calls"] == expected_calls
    assert {f["path"] for f in manifest["files"]} == {
        f"{t}.{ext}" for t in ("cost_daily", "cost_by_agent", "cost_by_model", "cost_by_day") for ext in ("csv", "json", "parquet")
    }

    conn = duckdb.connect()
    try:
        for fmt, reader in (("csv", "read_csv"), ("json", "read_json"), ("parquet", "read_parquet")):
            for table, rows in manifest["tables"].items():
                path = tmp_path / "out" / f"{table}.{fmt}"
                assert conn.execute(f"select count(*) from {reader}('{path}')").fetchone()[0] == rows["rows"]
            total = conn.execute(f"select sum(total_cost_usd) from {reader}('{tmp_path / 'out'}/cost_by_agent.{fmt}')").fetchone()[0]
            assert float(total) == pytest.approx(float(expected_cost), abs=1e-9)
        # Every exported daily row is inside the range and the scope.
        bad = conn.execute(
            f"select count(*) from read_parquet('{tmp_path / 'out'}/cost_daily.parquet') "
            "where call_date not between ? and ? or workspace_id <> ?",
            [start, end, workspace],
        ).fetchone()[0]
        assert bad == 0
    finally:
        conn.close()


def test_agent_scope_and_cli(published, tmp_path, capsys):
    first, last = _days(published)
    agent = _first(published, "select agent_id from marts.rpt_top_agents where ranking_window = 'full_range' and cost_rank = 2")
    assert main(["--start", str(first), "--end", str(last), "--agent", agent, "--format", "csv", "--out", str(tmp_path / "cli")]) == 0
    expected_cost, expected_calls = _mart_total(published, "agent_id = ?", [agent])
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert Decimal(manifest["totals"]["total_cost_usd"]) == expected_cost
    assert f"{expected_calls:,} calls" in capsys.readouterr().out
    assert manifest["tables"]["cost_by_agent"]["rows"] == 1


def test_bad_requests_are_clear_errors(published, tmp_path, monkeypatch):
    day = dt.date(2026, 1, 2)
    with pytest.raises(ExportError, match="is before --start"):
        export_cost_report(published, ExportFilters(day, day - dt.timedelta(days=1)), out_dir=tmp_path)
    with pytest.raises(ExportError, match="unknown export format"):
        export_cost_report(published, ExportFilters(day, day), formats=("xlsx",), out_dir=tmp_path)
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "nothing"))
    with pytest.raises(ExportError, match="does not exist; run the pipeline"):
        export_cost_report(load_settings(), ExportFilters(day, day))


def test_pdf_prints_the_pipeline_built_cost_page(published, pipeline_data_dir, tmp_path):
    from orchestration.publish.browser import ChromiumMissingError, chromium_path

    if pipeline_data_dir.site_dir is None:
        pytest.skip(f"PDF EXPORT NOT TESTED: {pipeline_data_dir.site_skip_reason}")
    try:
        chromium_path()
    except ChromiumMissingError as exc:
        pytest.skip(f"PDF EXPORT NOT TESTED: {exc}")
    first, last = _days(published)
    # No build_dir given: the export finds the site the pipeline published next to the data.
    result = export_cost_report(published, ExportFilters(first, last), formats=("csv", "pdf"), out_dir=tmp_path / "pdf")
    pdf = result.pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1
    manifest = json.loads(result.manifest_path.read_text())
    assert {"path": "cost_report.pdf", "bytes": len(pdf)} in manifest["files"]
