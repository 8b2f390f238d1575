"""The PDF printer's own rules, without a browser: URLs, paper sizes, formatting, refusals."""

from __future__ import annotations

import urllib.parse
from decimal import Decimal

import pytest

from orchestration.publish.export_pdf import PAPERS, PrintError, print_export_pdf, print_url, usd_text


def test_print_url_carries_exactly_the_filters_given():
    url = print_url(
        "http://127.0.0.1:9",
        {"start": "2026-11-01", "end": "2026-11-30", "workspace": "o'brien & co", "department": None, "agent": None},
        "2026-12-01T10:00:00+00:00",
    )
    path, _, query = url.partition("?")
    assert path == "http://127.0.0.1:9/print-cost"
    assert urllib.parse.parse_qs(query) == {
        "start": ["2026-11-01"],
        "end": ["2026-11-30"],
        "workspace": ["o'brien & co"],
        "generated": ["2026-12-01T10:00:00+00:00"],
    }
    agent_url = print_url("http://h", {"start": "2026-11-01", "end": "2026-11-02", "agent": "agt_1"}, "t")
    assert agent_url.startswith("http://h/print-agent?") and "agent=agt_1" in agent_url


def test_papers_leave_room_for_the_650px_print_layout():
    # Evidence lays printed pages out 650 px wide; both papers, portrait, must hold that inside the margins.
    assert {name: paper.printable_width_px >= 650 for name, paper in PAPERS.items()} == {"a4": True, "letter": True}
    assert PAPERS["a4"].cdp_fields()["paperWidth"] == pytest.approx(8.27, abs=0.01)
    assert PAPERS["letter"].cdp_fields()["paperHeight"] == 11.0


def test_usd_text_matches_the_page_format():
    assert usd_text(Decimal("3643.2449")) == "$3,643.24"
    assert usd_text(Decimal("0.005")) == "$0.01"  # half away from zero, as the browser's number format rounds
    assert usd_text(None) == "-"


def test_refuses_without_a_site_or_its_print_pages(tmp_path):
    args = ({"start": "2026-11-01", "end": "2026-11-30"}, "t", Decimal(1), 1)
    with pytest.raises(PrintError, match="no built site"):
        print_export_pdf(tmp_path / "x.pdf", tmp_path, *args)
    (tmp_path / "index.html").write_text("<html></html>")
    with pytest.raises(PrintError, match="no print pages; rebuild the report site"):
        print_export_pdf(tmp_path / "x.pdf", tmp_path, *args)
    with pytest.raises(PrintError, match="unknown paper size"):
        print_export_pdf(tmp_path / "x.pdf", tmp_path, *args, paper="a3")
