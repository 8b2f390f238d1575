"""Print an export's report page to PDF, for exactly the export's period and scope.

The report site has two print pages, `/print-cost` and `/print-agent`, that
read their filters from the URL (`?start=&end=&workspace=&department=&agent=&generated=`).
One build of the site therefore prints any export: headless Chromium opens the
page with the export's filters, waits until every query has answered, checks
that nothing is wider than the page, turns the charts into the fixed-width
images Evidence draws for printing, checks that the page's own totals equal
the manifest's, and prints it portrait on A4 or US Letter.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

# Inches. The printable width (7.27 in on A4, 7.5 in on Letter, at 96 px/in
# 698 and 720 px) is wider than the 650 px Evidence lays printed pages out at.
MARGIN_IN = 0.5
CSS_PX_PER_IN = 96


@dataclass(frozen=True)
class Paper:
    name: str
    width_in: float
    height_in: float

    @property
    def printable_width_px(self) -> int:
        return int((self.width_in - 2 * MARGIN_IN) * CSS_PX_PER_IN)

    @property
    def printable_height_px(self) -> int:
        return int((self.height_in - 2 * MARGIN_IN) * CSS_PX_PER_IN)

    def cdp_fields(self) -> dict[str, float]:
        """Page.printToPDF's size and margin fields."""
        return {
            "paperWidth": self.width_in,
            "paperHeight": self.height_in,
            "marginTop": MARGIN_IN,
            "marginBottom": MARGIN_IN,
            "marginLeft": MARGIN_IN,
            "marginRight": MARGIN_IN,
        }


PAPERS = {"a4": Paper("a4", 210 / 25.4, 297 / 25.4), "letter": Paper("letter", 8.5, 11.0)}


class PrintError(RuntimeError):
    """The page could not be printed as asked; the message says why and what to do."""


def print_route(agent: str | None) -> str:
    return "/print-agent" if agent else "/print-cost"


def print_url(base: str, filters: dict[str, str | None], generated_at: str) -> str:
    """The print page's URL for these filters (`start`, `end`, `workspace`, `department`, `agent`)."""
    query = {key: value for key, value in filters.items() if value}
    query["generated"] = generated_at
    return f"{base}{print_route(filters.get('agent'))}?{urllib.parse.urlencode(query)}"


# The page's state: whether its filters are set (or it complains), whether any
# query is still loading, and the visible text (to see when it stops changing).
PAGE_STATE_JS = """(() => {
    const main = document.querySelector('#evidence-main-article');
    if (!main || document.readyState !== 'complete') return null;
    const problem = main.querySelector('.print-problem');
    const header = main.querySelector('.print-header');
    const loading = main.querySelectorAll('.animate-pulse, .chart-loading').length
        + (/Loading\\.\\.\\./.test(main.innerText) ? 1 : 0);
    const errors = (main.innerText.match(/(Error in Query|Catalog Error|Binder Error|Parser Error|Conversion Error|is not defined)[^\\n]*/g) || []).slice(0, 5);
    const cell = (cls) => (main.querySelector('.' + cls) || {}).innerText || '';
    return {
        problem: problem ? problem.innerText : '',
        header: !!header,
        loading,
        errors,
        text_length: main.innerText.length,
        charts: main.querySelectorAll('.chart-container').length,
        total_cost: cell('print-total-cost').trim(),
        total_calls: cell('print-total-calls').trim(),
    };
})()"""

# Elements that stick out of the page or clip their own content (a table in a
# scroll box wider than the page, say): printed, they would be cut.
OVERFLOW_JS = """(() => {
    const main = document.querySelector('#evidence-main-article');
    const limit = document.documentElement.clientWidth + 1;
    const found = [];
    for (const el of main.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden') continue;
        const clips = ['auto', 'scroll', 'hidden'].includes(style.overflowX);
        if (box.right > limit || box.left < -1 || (clips && el.scrollWidth > el.clientWidth + 1)) {
            found.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} `
                + `(left ${Math.round(box.left)}, right ${Math.round(box.right)}, content ${el.scrollWidth} in ${el.clientWidth} px)`);
        }
    }
    return found.slice(0, 10);
})()"""

# Evidence redraws every chart as a fixed-width image when it hears this event
# (its own print path); printing waits until each chart has its image.
BEFORE_PRINT_JS = "window.dispatchEvent(new Event('export-beforeprint')); true"
AFTER_PRINT_JS = "window.dispatchEvent(new Event('export-afterprint')); true"
CHARTS_AS_IMAGES_JS = """(() => {
    const charts = [...document.querySelectorAll('#evidence-main-article .chart-container')];
    return charts.every((c) => c.querySelector('img[src^="data:image"]'));
})()"""


def usd_text(amount: Decimal | None) -> str:
    """The manifest's total as the page formats it (`$1,234.56`, halves rounded away from zero like Intl.NumberFormat)."""
    if amount is None:
        return "-"
    return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def _wait_until_settled(page: Any, timeout_s: float) -> dict[str, Any]:
    """Poll until the header is there, nothing loads and the text is the same twice in a row."""
    deadline = time.monotonic() + timeout_s
    previous: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        state = page.evaluate(PAGE_STATE_JS)
        if state and state["problem"]:
            raise PrintError(f"{page.url}: the print page says: {state['problem']}")
        if state and state["errors"]:
            raise PrintError(f"{page.url}: the print page shows errors: {state['errors']}")
        if state and state["header"] and state["loading"] == 0 and state["total_calls"]:
            if previous == state:
                return state
            previous = state
        time.sleep(1.0)
    raise PrintError(f"{page.url}: the page did not finish loading within {timeout_s} s (last state {state})")


def print_export_pdf(
    out: Path,
    build_dir: Path,
    filters: dict[str, str | None],
    generated_at: str,
    expected_total_usd: Decimal | None,
    expected_calls: int,
    paper: str = "a4",
    timeout_s: float = 180,
) -> Path:
    """Print the export's page from the built site `build_dir` to `out`.

    Fails (PrintError) rather than write a PDF whose totals differ from the
    manifest's, which happens when the site was built from an older published file.
    """
    from orchestration.publish.browser import Browser, serve_directory

    if paper not in PAPERS:
        raise PrintError(f"unknown paper size {paper!r}; expected one of {sorted(PAPERS)}")
    size = PAPERS[paper]
    if not (build_dir / "index.html").exists():
        raise PrintError(f"{build_dir} has no built site; run the report build before exporting a PDF")
    if not any((build_dir / name).exists() for name in ("print-cost.html", "print-cost")):
        raise PrintError(
            f"{build_dir} has no print pages; rebuild the report site (python -m orchestration.publish.report_build)"
        )

    with (
        serve_directory(build_dir) as base,
        Browser(width=size.printable_width_px, height=size.printable_height_px) as browser,
    ):
        url = print_url(base, filters, generated_at)
        with browser.page(url, "document.readyState === 'complete'", timeout_s, media="print") as page:
            state = _wait_until_settled(page, timeout_s)
            want_cost, want_calls = usd_text(expected_total_usd), f"{expected_calls:,}"
            if (state["total_cost"], state["total_calls"]) != (want_cost, want_calls):
                raise PrintError(
                    f"the report site shows {state['total_cost']} over {state['total_calls']} calls for this export, "
                    f"the published file {want_cost} over {want_calls}: the site was built from another published file; "
                    "rebuild it (python -m orchestration.publish.report_build) and export again"
                )
            overflowing = page.evaluate(OVERFLOW_JS)
            if overflowing:
                raise PrintError(f"{url}: content wider than the {size.name} page would be cut: {overflowing}")
            page.evaluate(BEFORE_PRINT_JS)
            if state["charts"]:
                page.wait_for(CHARTS_AS_IMAGES_JS, timeout_s)
            page.print_pdf(out, landscape=False, paper=size.cdp_fields())
            page.evaluate(AFTER_PRINT_JS)
    return out
