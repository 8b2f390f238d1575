"""The built report site in real headless Chromium: every page renders data, no error boxes.

Builds a small warehouse with the real dbt project, publishes it, builds the
Evidence site once for the session (about 3 GB RAM and a few minutes), then
checks every page over a local http.server.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from orchestration.publish.browser import Browser, ChromiumMissingError, chromium_path, serve_directory
from orchestration.publish.export import PAGE_READY_JS
from orchestration.publish.publish import publish_marts
from orchestration.publish.report_build import build_report_site, stage_project
from orchestration.settings import REPORTS_DIR, load_settings
from report_warehouse import build_working_warehouse

pytestmark = pytest.mark.slow

PAGE_STATE_JS = """(() => {
    const main = document.querySelector('#evidence-main-article');
    const text = main.innerText;
    const canvases = [...main.querySelectorAll('canvas')];
    // A chart with data paints coloured marks; axes, grid and labels are grey.
    let coloured = 0;
    if (canvases.length) {
        const c = canvases[0];
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 16) {
            const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
            if (a > 60 && Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
        }
    }
    return {
        errors: (text.match(/(Error in Query|Catalog Error|Binder Error|Dataset is empty|No Results)[^\\n]*/g) || []),
        canvases: canvases.length,
        coloured,
        table_rows: Math.max(0, main.querySelectorAll('table tr').length - main.querySelectorAll('table thead tr').length - 1),
        total: (document.querySelector('#overview-total-cost') || {}).innerText || null,
    };
})()"""


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    try:
        chromium_path()
    except ChromiumMissingError as exc:
        pytest.skip(f"BROWSER TESTS NOT RUN: {exc}")
    if shutil.which("npm") is None:
        pytest.skip("BROWSER TESTS NOT RUN: npm is not installed (Node 20 is required for the report site)")
    root = tmp_path_factory.mktemp("report_site")
    mp = pytest.MonkeyPatch()
    mp.setenv("AGENTLEDGER_DATA_DIR", str(root / "data"))
    mp.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    settings = load_settings()
    build_working_warehouse(settings, calls_per_day=60)
    publish_marts(settings, parquet=False)
    project = stage_project(root / "reports", REPORTS_DIR)
    result = build_report_site(settings, project_dir=project)
    yield settings, result
    mp.undo()


def _published(settings, sql: str, params: list | None = None):
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def test_every_page_renders_data_without_errors(built_site):
    settings, result = built_site
    static_pages = [p for p in result.pages_built if not p.startswith("/agents/")]
    assert {"/", "/cost", "/usage", "/attribution", "/tokens", "/caching", "/providers", "/agents", "/quality"} <= set(static_pages)
    agent_pages = [p for p in result.pages_built if p.startswith("/agents/")]
    problems = {}
    with serve_directory(result.build_dir) as base, Browser() as browser:
        for route in static_pages + agent_pages[:2]:
            with browser.page(base + route, PAGE_READY_JS, timeout_s=120) as page:
                state = page.wait_for(f"(() => {{ const s = {PAGE_STATE_JS}; return (s.coloured > 50 || s.table_rows > 0) ? s : null; }})()", 60)
                if state["errors"]:
                    problems[route] = state["errors"]
                if state["canvases"] and state["coloured"] <= 50:
                    problems[route] = f"main chart drew no data ({state})"
    assert problems == {}


def test_an_agent_page_exists_for_every_agent(built_site):
    settings, result = built_site
    agents = {r[0] for r in _published(settings, "select agent_id from marts.dim_agents")}
    assert agents
    assert {p.removeprefix("/agents/") for p in result.pages_built if p.startswith("/agents/")} == agents


def test_overview_total_equals_the_mart_total(built_site):
    settings, result = built_site
    (total,) = _published(settings, "select sum(total_cost_usd) from marts.fct_llm_calls")[0]
    with serve_directory(result.build_dir) as base, Browser() as browser:
        with browser.page(base + "/", PAGE_READY_JS, timeout_s=120) as page:
            shown = page.wait_for("(() => { const e = document.querySelector('#overview-total-cost'); "
                                  "return e && /\\$[0-9]/.test(e.innerText) ? e.innerText.trim() : null; })()", 60)
    assert shown == f"${total:,.2f}"
