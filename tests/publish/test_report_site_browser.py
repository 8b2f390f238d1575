"""The report site the real pipeline built, in real headless Chromium.

The session's pipeline run (tests/conftest.py) generated data, ran ingestion,
dbt, signals and publishing, and its report-site asset built the Evidence
site into <data>/published/site. One Chromium process then visits every page
over a local http.server and reads what the page shows.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from orchestration.publish.browser import Browser, ChromiumMissingError, chromium_path, serve_directory
from orchestration.publish.export import PAGE_READY_JS
from orchestration.publish.report_build import built_pages

pytestmark = pytest.mark.slow

STATIC_PAGES = (
    "/",
    "/usage",
    "/cost",
    "/attribution",
    "/tokens",
    "/caching",
    "/providers",
    "/what-if",
    "/forecast",
    "/anomalies",
    "/budgets",
    "/recommendations",
    "/agents",
    "/quality",
)

# What a page shows: error boxes, its first (main) chart's coloured pixels,
# table rows and the article text.
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
        errors: (text.match(/(Error in Query|Catalog Error|Binder Error|Dataset is empty|No Results|is not defined)[^\\n]*/g) || []),
        canvases: canvases.length,
        coloured,
        table_rows: Math.max(0, main.querySelectorAll('table tr').length - main.querySelectorAll('table thead tr').length - 1),
        text,
        // Tables wider than the box that scrolls them (their columns are cut off at this window width).
        clipped: [...main.querySelectorAll('table')].filter(t => {
            for (let e = t.parentElement; e && e !== main; e = e.parentElement) {
                if (getComputedStyle(e).overflowX !== 'visible') return e.scrollWidth > e.clientWidth + 1;
            }
            return false;
        }).map(t => [...t.querySelectorAll('th')].map(h => h.innerText.trim()).filter(Boolean).join(' | ')),
        publication: (document.querySelector('#publication-line') || {}).innerText || null,
    };
})()"""
# Wait until the main chart has drawn (charts animate in) or, without a chart, a table has rows.
DRAWN_JS = f"(() => {{ const s = {PAGE_STATE_JS}; return (s.coloured > 50 || (!s.canvases && s.table_rows > 0)) ? s : null; }})()"

# How the Forecast page names each forecasting method (reports/sources/agentledger/cost_forecast.sql).
METHOD_LABELS = {
    "prophet": "Prophet",
    "auto_ets": "AutoETS",
    "auto_theta": "AutoTheta",
    "auto_arima": "AutoARIMA",
    "seasonal_naive": "Seasonal naive",
    "linear_trend": "Linear trend",
}


def _published(path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def site(pipeline_data_dir):
    """(pipeline outputs, base URL, one Chromium) shared by every test of this module."""
    if pipeline_data_dir.site_dir is None:
        pytest.skip(f"BROWSER TESTS NOT RUN: {pipeline_data_dir.site_skip_reason}")
    try:
        chromium_path()
    except ChromiumMissingError as exc:
        pytest.skip(f"BROWSER TESTS NOT RUN: {exc}")
    # 1280 px: the narrowest common laptop window, at which no table may be cut off.
    with serve_directory(pipeline_data_dir.site_dir) as base, Browser(width=1280, height=900) as browser:
        yield pipeline_data_dir, base, browser


def _state(browser: Browser, url: str) -> dict:
    """The page's state once its queries ran, its main chart drew and the data-through line
    (fetched after load) showed; on a timeout, what it showed."""
    with browser.page(url, PAGE_READY_JS, timeout_s=120) as page:
        try:
            page.wait_for(DRAWN_JS, 60)
            page.wait_for("!!document.querySelector('#publication-line')", 20)
        except Exception:  # report what the page shows rather than a bare timeout
            pass
        return page.evaluate(PAGE_STATE_JS)


def _big_value(text: str, title: str) -> str | None:
    """The figure a BigValue shows under `title` in the page text."""
    found = re.search(rf"^{re.escape(title)}\s*\n\s*(\S+)", text, re.MULTILINE)
    return found.group(1) if found else None


def _problems(state: dict) -> str | None:
    if state["errors"]:
        return f"error box: {state['errors']}"
    if state["canvases"] and state["coloured"] <= 50:
        return f"main chart drew no data (coloured pixels {state['coloured']})"
    if not state["canvases"] and state["table_rows"] == 0:
        return "no chart and no table rows"
    return None


def test_every_page_renders_its_data_without_errors(site):
    pipeline, base, browser = site
    built = set(built_pages(pipeline.site_dir))
    assert set(STATIC_PAGES) <= built
    (data_through,) = _published(pipeline.published_path, "select max(call_date) from marts.rpt_cost_daily")[0]
    problems, texts = {}, {}
    for route in STATIC_PAGES:
        state = _state(browser, base + route)
        texts[route] = state["text"]
        if (problem := _problems(state)) is not None:
            problems[route] = problem
        elif state["clipped"]:
            problems[route] = f"tables cut off at 1280 px: {state['clipped']}"
        elif not (state["publication"] or "").startswith(f"Data through {data_through.isoformat()}, published "):
            problems[route] = f"data-through line: {state['publication']!r}"
    assert problems == {}

    # The default range is the whole history, so there is no previous period: every comparison says "—".
    for title in ("Total cost", "LLM calls", "Tokens", "Active agents"):
        assert re.search(rf"^{re.escape(title)}\s*\n\s*\S+\s*\n\s*—", texts["/"], re.MULTILINE), title

    # The Forecast page says for every scope what its forecast is, in words.
    for scope_type, scope_id, method, reason, selection in _published(
        pipeline.published_path,
        "select distinct scope_type, scope_id, method, fallback_reason, selection_reason from signals.cost_forecast",
    ):
        if method == "none":
            expected = f"no forecast: {reason}"
        elif selection is None:
            expected = f"{METHOD_LABELS[method]} (fallback): {reason}"
        else:
            expected = METHOD_LABELS[method] + (f", {reason}" if reason else "") + f"; {selection}"
        assert expected in texts["/forecast"], f"{scope_type} {scope_id}: {expected!r} not on the Forecast page"

    # Empty signal tables are said in words, never left as a blank section.
    (alerts,) = _published(pipeline.published_path, "select count(*) from signals.alerts")[0]
    assert ("No alerts" in texts["/budgets"]) == (alerts == 0)
    (quarantined,) = _published(pipeline.published_path, "select count(*) from quality.quarantine_summary")[0]
    assert ("Nothing quarantined" in texts["/quality"]) == (quarantined == 0)

    # The top recommendation is listed with its estimated saving.
    title, saving = _published(
        pipeline.published_path,
        "select title, estimated_monthly_saving_usd from signals.recommendations where rank = 1",
    )[0]
    assert title in texts["/recommendations"]
    assert f"${saving:,.2f}" in texts["/recommendations"]

    # Ledger totals on the Data quality page equal the published ledger.
    (rows_read,) = _published(pipeline.published_path, "select sum(rows_read) from quality.ingestion_ledger")[0]
    assert _big_value(texts["/quality"], "Rows read") == f"{rows_read:,}"

    # The anomaly count over the full range equals the published table.
    (anomalies,) = _published(pipeline.published_path, "select count(*) from signals.cost_anomalies")[0]
    assert anomalies > 0
    assert _big_value(texts["/anomalies"], "Anomalous days") == f"{anomalies:,}"


def test_an_agent_page_for_every_agent_renders_its_data(site):
    pipeline, base, browser = site
    agents = {r[0] for r in _published(pipeline.published_path, "select agent_id from marts.dim_agents")}
    assert agents
    agent_pages = {p.removeprefix("/agents/") for p in built_pages(pipeline.site_dir) if p.startswith("/agents/")}
    assert agent_pages == agents
    problems = {}
    for agent_id in sorted(agents):
        state = _state(browser, f"{base}/agents/{agent_id}")
        if (problem := _problems(state)) is not None:
            problems[agent_id] = problem
    assert problems == {}


def test_choosing_a_forecast_scope_redraws_the_page_for_it(site):
    pipeline, base, browser = site
    # The most expensive forecast agent: its name is what the scope selector offers.
    label, method, reason = _published(
        pipeline.published_path,
        "select 'Agent: ' || coalesce(a.agent_name, f.scope_id), any_value(f.method), any_value(f.fallback_reason) "
        "from signals.cost_forecast f left join marts.dim_agents a on f.scope_id = a.agent_id "
        "where f.scope_type = 'agent' group by all order by sum(f.actual_cost) desc limit 1",
    )[0]
    with browser.page(base + "/forecast", PAGE_READY_JS, timeout_s=120) as page:
        page.evaluate("[...document.querySelectorAll('button')].find(b => b.innerText.includes('Scope')).click()")
        # The option list is long and virtualised: search for the scope, then pick it.
        page.wait_for("!!document.querySelector('input[placeholder=\"Scope\"]')", 10)
        page.evaluate(
            "(() => { const i = document.querySelector('input[placeholder=\"Scope\"]'); "
            f"i.value = {label!r}; i.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
        )
        page.wait_for(
            f"[...document.querySelectorAll('[role=option]')].some(e => e.innerText.trim() === {label!r})", 10
        )
        page.evaluate(
            f"[...document.querySelectorAll('[role=option]')].find(e => e.innerText.trim() === {label!r}).click()"
        )
        heading = page.wait_for(
            f"(() => {{ const h = [...document.querySelectorAll('h2')].find(h => h.innerText.startsWith({label!r})); "
            "return h ? h.innerText : null; })()",
            60,
        )
        status = page.evaluate("document.querySelector('#forecast-status').innerText")
        state = page.wait_for(DRAWN_JS, 60)
    assert heading == f"{label}: daily cost and forecast"
    expected = "No forecast:" if method == "none" else METHOD_LABELS[method]
    assert status.startswith(expected)
    if reason:
        assert reason in status
    assert state["coloured"] > 50


def test_overview_total_equals_the_mart_total(site):
    pipeline, base, browser = site
    (total,) = _published(pipeline.published_path, "select sum(total_cost_usd) from marts.fct_llm_calls")[0]
    with browser.page(base + "/", PAGE_READY_JS, timeout_s=120) as page:
        shown = page.wait_for(
            "(() => { const e = document.querySelector('#overview-total-cost'); "
            "return e && /\\$[0-9]/.test(e.innerText) ? e.innerText.trim() : null; })()",
            60,
        )
    assert shown == f"${total:,.2f}"


def _candidate_label(provider: str, model: str, tier: str) -> str:
    """How the pages name a candidate (reports/sources/agentledger/rpt_agent_workload_repricing.sql)."""
    return f"{provider} / {model}" + ("" if tier == "default" else f" ({tier})")


def test_what_if_page_and_agent_panel_show_the_cheapest_candidates(site):
    pipeline, base, browser = site
    # The page opens on the agent whose workload cost the most.
    agent_id, actual = _published(
        pipeline.published_path,
        "select agent_id, any_value(actual_cost_usd) from marts.rpt_agent_workload_repricing "
        "group by agent_id order by 2 desc, agent_id limit 1",
    )[0]
    provider, model, tier, cost, saving = _published(
        pipeline.published_path,
        "select candidate_provider, candidate_model, candidate_service_tier, candidate_cost_usd, saving_usd "
        "from marts.rpt_agent_workload_repricing where agent_id = ? and cost_rank = 1",
        [agent_id],
    )[0]
    state = _state(browser, base + "/what-if")
    assert _problems(state) is None, _problems(state)
    text = state["text"]
    assert _big_value(text, "What it cost") == f"${actual:,.2f}"
    assert _big_value(text, "Cheapest candidate") == f"${cost:,.2f}"
    assert _big_value(text, "Saving at most") == f"${saving:,.2f}"
    assert _candidate_label(provider, model, tier) in text

    # The agent's own page lists its cheapest cheaper alternative and links its print page for the dates shown.
    cheaper = _published(
        pipeline.published_path,
        "select candidate_provider, candidate_model, candidate_service_tier from marts.rpt_agent_workload_repricing "
        "where agent_id = ? and covers_workload and saving_usd > 0 and not is_current "
        "order by candidate_cost_usd limit 1",
        [agent_id],
    )
    with browser.page(f"{base}/agents/{agent_id}", PAGE_READY_JS, timeout_s=120) as page:
        href = page.wait_for(
            "(() => { const a = document.querySelector('#agent-print-link'); "
            "return a && /start=\\d/.test(a.getAttribute('href')) ? a.getAttribute('href') : null; })()",
            60,
        )
        panel = page.evaluate(PAGE_STATE_JS)["text"]
    first_day, last_day = _published(
        pipeline.published_path,
        "select min(call_date), max(call_date) from marts.rpt_cost_daily where agent_id = ?",
        [agent_id],
    )[0]
    assert href == f"/print-agent?agent={agent_id}&start={first_day.isoformat()}&end={last_day.isoformat()}"
    assert (
        f"agentledger export --start {first_day.isoformat()} --end {last_day.isoformat()} --agent {agent_id}" in panel
    )
    assert "Cheaper alternatives for this workload" in panel
    if cheaper:
        assert _candidate_label(*cheaper[0]) in panel
    else:
        assert "No cheaper catalog model or tier" in panel

    # The cost page links the whole-range cost report.
    first_day, last_day = _published(
        pipeline.published_path, "select min(call_date), max(call_date) from marts.rpt_cost_daily"
    )[0]
    with browser.page(base + "/cost", PAGE_READY_JS, timeout_s=120) as page:
        href = page.wait_for(
            "(() => { const a = document.querySelector('#cost-print-link'); "
            "return a && /start=\\d/.test(a.getAttribute('href')) ? a.getAttribute('href') : null; })()",
            60,
        )
    assert href == f"/print-cost?start={first_day.isoformat()}&end={last_day.isoformat()}"
