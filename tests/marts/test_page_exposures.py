"""Every report page is a dbt exposure that names each table the page reads.

A page reads `agentledger.<source>` (reports/sources/agentledger/<source>.sql),
and each source file reads one table of the published file. The test checks
that the page's exposure in dbt_project/models/exposures.yml depends on that
table, so `dbt ls --select +exposure:<page>` shows the page's whole lineage.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from orchestration.settings import DBT_PROJECT_DIR, REPORTS_DIR

PAGES = REPORTS_DIR / "pages"
SOURCES = REPORTS_DIR / "sources" / "agentledger"
SOURCE_READ = re.compile(r"\bagentledger\.(?!duckdb\b)([a-z_0-9]+)")  # not the file name agentledger.duckdb
TABLE_READ = re.compile(r"\bfrom\s+(marts|signals|quality)\.([a-z_0-9]+)", re.IGNORECASE)
DEPENDENCY = re.compile(r"""(?:ref\('([a-z_0-9]+)'\)|source\('[a-z_]+',\s*'([a-z_0-9]+)'\))""")


def _exposures() -> list[dict]:
    return yaml.safe_load((DBT_PROJECT_DIR / "models" / "exposures.yml").read_text())["exposures"]


def _tables_of_source(name: str) -> set[str]:
    text = (SOURCES / f"{name}.sql").read_text()
    return {table for _, table in TABLE_READ.findall(text)}


def _page_files() -> list[Path]:
    return sorted(p for p in PAGES.rglob("*.md"))


def test_every_page_has_an_exposure_naming_it():
    described = " ".join(e["description"] for e in _exposures())
    missing = [
        p.relative_to(REPORTS_DIR.parent).as_posix()
        for p in _page_files()
        if p.relative_to(REPORTS_DIR.parent).as_posix() not in described
    ]
    assert missing == []


def test_each_exposure_depends_on_the_tables_its_page_reads():
    by_page = {}
    for exposure in _exposures():
        for path in re.findall(r"reports/pages/[^\s,)]+\.md", exposure["description"]):
            by_page[path] = exposure
    problems = []
    for page in _page_files():
        rel = page.relative_to(REPORTS_DIR.parent).as_posix()
        exposure = by_page.get(rel)
        if exposure is None:
            continue  # reported by the test above
        declared = {a or b for a, b in DEPENDENCY.findall(" ".join(exposure["depends_on"]))}
        read = set()
        for source in set(SOURCE_READ.findall(page.read_text())):
            assert (SOURCES / f"{source}.sql").exists(), f"{rel} reads agentledger.{source}, which has no source file"
            read |= _tables_of_source(source)
        if read - declared:
            problems.append(f"{exposure['name']} ({rel}) reads {sorted(read - declared)} but does not depend on them")
    assert problems == []


def test_every_source_file_is_read_by_a_page():
    read = set()
    for page in _page_files():
        read |= set(SOURCE_READ.findall(page.read_text()))
    for partial in (REPORTS_DIR / "partials").glob("*.md"):
        read |= set(SOURCE_READ.findall(partial.read_text()))
    unused = sorted(p.stem for p in SOURCES.glob("*.sql") if p.stem not in read)
    assert unused == []
