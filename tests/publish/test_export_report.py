"""Export round trip: what the files say equals what the marts say."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal

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
        return conn.execute(
            f"select sum(total_cost_usd), count(*) from marts.fct_llm_calls where {where}", params
        ).fetchone()
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
    assert manifest["filters"] == {
        "start": str(start),
        "end": str(end),
        "workspace": workspace,
        "department": None,
        "agent": None,
    }
    assert Decimal(manifest["totals"]["total_cost_usd"]) == expected_cost
    assert manifest["totals"]["calls"] == expected_calls
    assert {f["path"] for f in manifest["files"]} == {
        f"{t}.{ext}"
        for t in ("cost_daily", "cost_by_agent", "cost_by_model", "cost_by_day")
        for ext in ("csv", "json", "parquet")
    }

    conn = duckdb.connect()
    try:
        for fmt, reader in (("csv", "read_csv"), ("json", "read_json"), ("parquet", "read_parquet")):
            for table, rows in manifest["tables"].items():
                path = tmp_path / "out" / f"{table}.{fmt}"
                assert conn.execute(f"select count(*) from {reader}('{path}')").fetchone()[0] == rows["rows"]
            total = conn.execute(
                f"select sum(total_cost_usd) from {reader}('{tmp_path / 'out'}/cost_by_agent.{fmt}')"
            ).fetchone()[0]
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
    agent = _first(
        published, "select agent_id from marts.rpt_top_agents where ranking_window = 'full_range' and cost_rank = 2"
    )
    assert (
        main(
            [
                "--start",
                str(first),
                "--end",
                str(last),
                "--agent",
                agent,
                "--format",
                "csv",
                "--out",
                str(tmp_path / "cli"),
            ]
        )
        == 0
    )
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


# --- PDF: the same period and scope as the data files ---------------------------------------

PDF_TOOLS = ("pdftotext", "pdftoppm", "pdfinfo")
PAGE_POINTS = {"a4": (595.3, 841.9), "letter": (612, 792)}  # portrait; Chromium rounds to its device units
DPI = 36  # enough to see where ink is; margins are 0.5 in = 18 px


@pytest.fixture(scope="module")
def pdf_site(published, pipeline_data_dir):
    """Skip (with the reason) when the site, Chromium or poppler-utils is missing."""
    from orchestration.publish.browser import ChromiumMissingError, chromium_path

    if pipeline_data_dir.site_dir is None:
        pytest.skip(f"PDF EXPORT NOT TESTED: {pipeline_data_dir.site_skip_reason}")
    try:
        chromium_path()
    except ChromiumMissingError as exc:
        pytest.skip(f"PDF EXPORT NOT TESTED: {exc}")
    missing = [tool for tool in PDF_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"PDF EXPORT NOT TESTED: {missing} missing; make browser installs poppler-utils")
    return pipeline_data_dir.site_dir


def _usd(value: str | Decimal) -> str:
    return f"${Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def _csv_rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _line_with(text: str, *cells: str) -> str | None:
    """The first line of the PDF text holding every cell of a table row."""
    return next((line for line in text.splitlines() if all(cell in line for cell in cells)), None)


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text) is not None


def _ink_outside_margins(pdf, out_dir) -> dict[str, tuple[int, int]]:
    """Each page as a PNG (pdftoppm): dark pixels in the 0.5 in margins, and on the page inside them."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(pdf), str(out_dir / pdf.stem)], check=True)
    band = int(0.5 * DPI) - 2  # a pixel of anti-aliasing either side of the margin line
    found = {}
    for png in sorted(out_dir.glob(f"{pdf.stem}-*.png")):
        with Image.open(png) as image:
            grey = image.convert("L")
            width, height = grey.size
            dark = grey.point(lambda value: 255 if value < 235 else 0)
            inside = dark.crop((band, band, width - band, height - band))
            total, within = sum(dark.histogram()[255:]), sum(inside.histogram()[255:])
        found[png.name] = (total - within, within)
    return found


def _outside_scope(settings, filters: ExportFilters) -> dict[str, set[str]]:
    """Workspaces, agents (ids and names) and models with no call in the export's period and scope."""
    where, params = filters.where()
    queries = {
        "workspace": ["workspace_id"],
        "agent": ["agent_id", "coalesce(agent_name, agent_id)"],
        "model": ["model"],
    }
    key = {"workspace": "workspace_id", "agent": "agent_id", "model": "model"}
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        found: dict[str, set[str]] = {}
        for kind, columns in queries.items():
            found[kind] = set()
            for column in columns:
                rows = conn.execute(
                    f"select distinct {column} from marts.rpt_cost_daily "
                    f"where {key[kind]} not in (select {key[kind]} from marts.rpt_cost_daily where {where})",
                    params,
                ).fetchall()
                found[kind] |= {row[0] for row in rows if row[0]}
        return found
    finally:
        conn.close()


def _pdf_exports(settings):
    """Two or three filtered exports: a workspace over part of the range (A4), a department (Letter), an agent (A4)."""
    first, last = _days(settings)
    workspace = _first(settings, "select workspace_id from marts.dim_workspaces order by call_count desc limit 1")
    department = _first(
        settings,
        "select department from marts.rpt_cost_daily group by all order by count(distinct agent_id) desc, department limit 1",
    )
    # The agent with the most recommendations, so its page has every section filled.
    agent = _first(
        settings,
        "select a.agent_id from marts.dim_agents a left join signals.recommendations r "
        "on r.scope_type = 'agent' and r.scope_id = a.agent_id group by a.agent_id order by count(r.scope_id) desc, a.agent_id limit 1",
    )
    mid = first + (last - first) // 2
    return [
        ("workspace", ExportFilters(first + dt.timedelta(days=3), mid, workspace=workspace), "a4"),
        ("department", ExportFilters(mid, last, department=department), "letter"),
        ("agent", ExportFilters(first + dt.timedelta(days=10), last - dt.timedelta(days=10), agent=agent), "a4"),
    ]


def test_filtered_pdfs_agree_with_their_csvs_and_fit_the_page(published, pdf_site, tmp_path):
    for label, filters, paper in _pdf_exports(published):
        out = tmp_path / label
        result = export_cost_report(published, filters, formats=("csv", "pdf"), out_dir=out, paper=paper)
        manifest_text = result.manifest_path.read_text()
        manifest = json.loads(manifest_text)

        # The manifest names files inside the export folder and no path of this machine.
        assert all(not f["path"].startswith("/") and (out / f["path"]).is_file() for f in manifest["files"]), label
        assert str(tmp_path) not in manifest_text and str(published.data_dir) not in manifest_text, label
        pdf_name = "agent_report.pdf" if filters.agent else "cost_report.pdf"
        assert manifest["pdf"] == {"path": pdf_name, "paper": paper}

        # Portrait pages of the asked size.
        info = subprocess.run(["pdfinfo", str(result.pdf_path)], check=True, capture_output=True, text=True).stdout
        width_pt, height_pt = (float(v) for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
        want_width, want_height = PAGE_POINTS[paper]
        assert abs(width_pt - want_width) < 2 and abs(height_pt - want_height) < 2, (label, info)

        text = _pdf_text(result.pdf_path)
        # The top of the PDF: filters, data-through date, generation time, the manifest's totals.
        head = text[: text.index("By day" if not filters.agent else "Cost trend")]
        assert f"{filters.start} to {filters.end}" in head, label
        for name, value in (
            ("Workspace", filters.workspace),
            ("Department", filters.department),
            ("Agent", filters.agent),
        ):
            assert _line_with(head, name, value or "all"), (label, name)
        assert manifest["data_through"] and manifest["data_through"] in head, label
        generated = manifest["generated_at"].replace("T", " ").replace("+00:00", " UTC")
        assert generated in head, label
        assert _usd(manifest["totals"]["total_cost_usd"]) in head, label
        assert f"{manifest['totals']['calls']:,}" in head, label

        # The top rows of each table equal the CSVs (same order, same formatting as the page).
        by_model = _csv_rows(out / "cost_by_model.csv")
        assert by_model, label
        for row in by_model[:3]:
            assert _line_with(text, row["model"], f"{int(row['calls']):,}", _usd(row["total_cost_usd"])), (label, row)
        by_day = _csv_rows(out / "cost_by_day.csv")
        for row in (by_day[0], by_day[-1]):
            assert _line_with(text, row["call_date"], f"{int(row['calls']):,}", _usd(row["total_cost_usd"])), (
                label,
                row,
            )
        if not filters.agent:
            for row in _csv_rows(out / "cost_by_agent.csv")[:3]:
                assert _line_with(text, row["agent_name"], f"{int(row['calls']):,}", _usd(row["total_cost_usd"])), (
                    label,
                    row,
                )

        # Nothing outside the filter. The agent's page also ranks the agent among
        # its department's peers over the whole range, by name: those come after its period's sections.
        scoped_text = text[: text.index("Peers in the same department")] if filters.agent else text
        outside = _outside_scope(published, filters)
        assert any(outside.values()), label  # the check has something to find
        leaked = {kind: sorted(n for n in names if _mentions(scoped_text, n)) for kind, names in outside.items()}
        assert leaked == {"workspace": [], "agent": [], "model": []}, label
        if filters.agent:
            assert _line_with(text, "this agent"), label  # the peer ranking is there
            conn = duckdb.connect(str(published.published_warehouse_path), read_only=True)
            try:
                savings = conn.execute(
                    "select estimated_monthly_saving_usd from signals.recommendations "
                    "where scope_type = 'agent' and scope_id = ? order by rank",
                    [filters.agent],
                ).fetchall()
            finally:
                conn.close()
            recommendations = text[text.index("Recommendations") :]
            assert savings and all(_usd(str(saving)) in recommendations for (saving,) in savings), label

        # Every page: ink on the page, none in the 0.5 in margins (nothing clipped or pushed out).
        pages = _ink_outside_margins(result.pdf_path, tmp_path / f"{label}_pages")
        assert pages, label
        assert {name: counts[0] for name, counts in pages.items() if counts[0]} == {}, label
        assert all(counts[1] > 0 for counts in pages.values()), (label, pages)


def test_pdf_refuses_a_site_that_disagrees_with_the_published_file(published, pdf_site, tmp_path):
    """A site built from another published file would print other numbers than the CSVs: no PDF then."""
    first, last = _days(published)
    site_copy = tmp_path / "site"
    shutil.copytree(pdf_site, site_copy)
    # The site's data: drop half of the daily cost rows the page reads.
    parquet = next((site_copy / "data").rglob("rpt_cost_daily.parquet"))
    conn = duckdb.connect()
    try:
        conn.execute(
            f"copy (select * from read_parquet('{parquet}') where call_date < ?) to '{tmp_path / 'half.parquet'}' (format parquet)",
            [first + (last - first) // 2],
        )
    finally:
        conn.close()
    shutil.move(tmp_path / "half.parquet", parquet)
    with pytest.raises(ExportError, match="built from another published file"):
        export_cost_report(
            published, ExportFilters(first, last), formats=("pdf",), out_dir=tmp_path / "out", build_dir=site_copy
        )
    assert not (tmp_path / "out" / "cost_report.pdf").exists()
