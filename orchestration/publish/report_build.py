"""Build the Evidence report site from the published marts file.

Evidence exits 0 when a source query hits a missing table ("Catalog Error")
or a page query fails ("Error in Query!", the page then shows an error box),
so this wrapper reads the output itself and fails on those markers, and on a
required source that came back empty. It also points the source at the
published file of the current settings (`EVIDENCE_SOURCE__agentledger__filename`
must be relative to the source folder: the driver joins it to that folder).

Like everything else a run writes, the site lives under the data directory:
the Evidence project is staged into `<data>/report_project/` (its `.evidence/`
and `build/` state stays there, so builds for two data directories never share
a folder and the checked-out `reports/` stays clean) and the finished build is
swapped in whole as `<data>/published/site/`, next to the file it was built from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.publish.publish import swap_directory
from orchestration.settings import REPORTS_DIR, Settings

SOURCE_NAME = "agentledger"
LOCK_STAMP = ".agentledger-lock.sha256"

# Source queries the site cannot do without: an empty result means the
# pipeline did not produce data and the site would render blank charts. Every
# other source may legitimately be empty on real data (no anomaly, alert or
# recommendation; no budgets configured; a clean load with nothing
# quarantined; a history too short to backtest) and its page says so in words.
REQUIRED_SOURCES = (
    "rpt_cost_daily",
    "rpt_usage_daily",
    "rpt_kpi_overview",
    "dim_agents",
    "rpt_agent_efficiency",
    "rpt_agent_peer_rank",
    "cost_forecast",
    "ingestion_ledger",
)

ERROR_MARKERS = (
    "Error in Query",
    "Catalog Error",
    "Binder Error",
    "Parser Error",
    "Conversion Error",
    "Invalid Input Error",
    "Out of Memory Error",
    "IO Error",
    "Failed to load",
    "is not defined",
    "Unexpected token",
    "[vite-plugin-svelte] Error",
    "ERR_",
)
# Lines that contain a marker word but are not failures.
BENIGN_PATTERNS = (re.compile(r"^\s*$"),)
SOURCE_DONE = re.compile(r"^\s*(?P<name>[\w-]+) ✔ Finished, wrote (?P<rows>\d+) rows", re.MULTILINE)


class ReportBuildError(RuntimeError):
    """The site did not build cleanly; the message carries the offending output lines."""


@dataclass(frozen=True)
class ReportBuildResult:
    build_dir: Path
    pages_built: list[str]
    source_rows: dict[str, int]
    duration_s: float

    @property
    def pages_count(self) -> int:
        return len(self.pages_built)


def _lock_digest(project_dir: Path) -> str:
    return hashlib.sha256((project_dir / "package-lock.json").read_bytes()).hexdigest()


def ensure_node_modules(project_dir: Path = REPORTS_DIR, timeout_s: float = 600) -> bool:
    """`npm ci` when node_modules is missing or the lock file changed; True when it ran."""
    modules = project_dir / "node_modules"
    stamp = modules / LOCK_STAMP
    digest = _lock_digest(project_dir)
    if modules.is_dir() and stamp.exists() and stamp.read_text().strip() == digest:
        return False
    _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], project_dir, _env(), timeout_s, "npm ci")
    stamp.write_text(digest + "\n")
    return True


def source_filename(settings: Settings, project_dir: Path = REPORTS_DIR) -> str:
    """The published file as a path relative to the source folder (absolute paths are not honoured)."""
    return os.path.relpath(settings.published_warehouse_path, project_dir / "sources" / SOURCE_NAME)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DO_NOT_TRACK": "1",
            "EVIDENCE_TELEMETRY": "false",
            "NODE_OPTIONS": env.get("NODE_OPTIONS", "--max-old-space-size=4096"),
            "CI": "true",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
        }
    )
    env.update(extra or {})
    return env


# The site build (Node, Vite, Evidence's DuckDB queries) runs at a lower CPU
# priority: on a small machine it shares the cores with the next drop's
# warehouse run, whose time to queryable data matters more than the site's.
# An idle machine gives it every core all the same.
SITE_BUILD_NICENESS = 10


def _lowered_priority(cmd: list[str]) -> list[str]:
    nice = shutil.which("nice")
    return [nice, "-n", str(SITE_BUILD_NICENESS), *cmd] if nice else cmd


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout_s: float, label: str) -> str:
    try:
        proc = subprocess.run(
            _lowered_priority(cmd),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        tail = exc.output or b""
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        raise ReportBuildError(
            f"{label} in {cwd} timed out after {timeout_s:.0f}s; last output:\n{tail[-3000:]}"
        ) from exc
    if proc.returncode != 0:
        raise ReportBuildError(f"{label} in {cwd} exited with {proc.returncode}:\n{proc.stdout[-5000:]}")
    return proc.stdout


def error_lines(output: str) -> list[str]:
    """Lines of Evidence output that report a query or compile failure."""
    found = []
    for line in output.splitlines():
        if any(marker in line for marker in ERROR_MARKERS) and not any(p.search(line) for p in BENIGN_PATTERNS):
            found.append(line.strip())
    return found


def source_queries(project_dir: Path = REPORTS_DIR) -> list[str]:
    return sorted(p.stem for p in (project_dir / "sources" / SOURCE_NAME).glob("*.sql"))


def check_sources_output(
    output: str, expected: list[str], required: tuple[str, ...] = REQUIRED_SOURCES
) -> dict[str, int]:
    """Row counts per source query; raises when one failed, is missing or a required one is empty."""
    problems = [f"  {line}" for line in error_lines(output)]
    rows = {m["name"]: int(m["rows"]) for m in SOURCE_DONE.finditer(output)}
    for name in expected:
        if name not in rows:
            problems.append(f"  source query sources/{SOURCE_NAME}/{name}.sql did not finish (no 'wrote N rows' line)")
        elif name in required and rows[name] == 0:
            problems.append(
                f"  source query sources/{SOURCE_NAME}/{name}.sql returned 0 rows; "
                "expected data (was the pipeline run and the marts published?)"
            )
        elif rows[name] == 0:
            # Evidence 39 writes an unreadable Parquet file for an empty result
            # and `npm run build` then dies on it; say which query and what to do.
            problems.append(
                f"  source query sources/{SOURCE_NAME}/{name}.sql returned 0 rows, which Evidence cannot load; "
                "expected at least a placeholder row (see the is_placeholder pattern in the optional sources)"
            )
    if problems:
        raise ReportBuildError("`npm run sources` reported problems:\n" + "\n".join(problems))
    return rows


def built_pages(build_dir: Path) -> list[str]:
    """Routes of the prerendered pages (Evidence's own api/settings/explore excluded)."""
    routes = []
    for html in sorted(build_dir.rglob("*.html")):
        rel = html.relative_to(build_dir).as_posix()
        if rel.startswith(("api/", "settings", "explore", "_app/")):
            continue
        route = "/" + rel.removesuffix("index.html").removesuffix(".html")
        routes.append(route.rstrip("/") or "/")
    return routes


PUBLICATION_FILE = "publication.json"
PROJECT_FILES = ("package.json", "package-lock.json", "evidence.plugins.yaml", "evidence.settings.json")
PROJECT_FOLDERS = ("sources", "pages", "partials", "components", "static")


def site_dir(settings: Settings) -> Path:
    """Where the built report site is published: `<data>/published/site`."""
    return settings.published_dir / "site"


def project_workdir(settings: Settings) -> Path:
    """The staged Evidence project the build runs in: `<data>/report_project`."""
    return settings.data_dir / "report_project"


def stage_project(target: Path, project_dir: Path = REPORTS_DIR) -> Path:
    """Copy the Evidence project (not its build state) to `target`, sharing node_modules.

    Source, page and partial folders are replaced, not merged, so a page
    deleted from the project does not linger in the staged copy.
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(project_dir / name, target / name)
    for folder in PROJECT_FOLDERS:
        shutil.rmtree(target / folder, ignore_errors=True)
        if (project_dir / folder).is_dir():
            shutil.copytree(project_dir / folder, target / folder)
    link = target / "node_modules"
    if not link.exists():
        link.symlink_to((project_dir / "node_modules").resolve(), target_is_directory=True)
    return target


def _swap_in(new_dir: Path, final_dir: Path) -> None:
    """Replace `final_dir` by `new_dir` with renames; a server sees either site whole.

    The build may sit on another filesystem: it is first moved beside
    `final_dir`, so that the swap itself is swap_directory's two renames.
    """
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = final_dir.with_name(f".{final_dir.name}.{uuid.uuid4().hex[:8]}.new")
    shutil.move(str(new_dir), staged)  # same filesystem in practice: a rename
    swap_directory(staged, final_dir)


def _stage_and_run_sources(
    settings: Settings, timeout_s: float, project_dir: Path, required_sources: tuple[str, ...]
) -> tuple[Path, dict[str, str], dict[str, int]]:
    if not settings.published_warehouse_path.exists():
        raise ReportBuildError(
            f"published file {settings.published_warehouse_path} does not exist; publish the marts first"
        )
    ensure_node_modules(project_dir, timeout_s)
    workdir = stage_project(project_workdir(settings), project_dir)
    env = _env({f"EVIDENCE_SOURCE__{SOURCE_NAME}__filename": source_filename(settings, workdir)})
    out = _run(["npm", "run", "sources"], workdir, env, timeout_s, "npm run sources")
    return workdir, env, check_sources_output(out, source_queries(workdir), required_sources)


def check_report_sources(
    settings: Settings,
    timeout_s: float = 300,
    project_dir: Path = REPORTS_DIR,
    required_sources: tuple[str, ...] = REQUIRED_SOURCES,
) -> dict[str, int]:
    """Run every source query of the site against the published file and check it as the build does.

    The first half of `build_report_site` (a few seconds instead of a build's
    ~50 s and ~3 GB): Evidence's own DuckDB driver runs each source query, and
    any query error, missing or empty source fails. Page queries, which run
    on the sources' results, are only exercised by the build.
    """
    return _stage_and_run_sources(settings, timeout_s, project_dir, required_sources)[2]


def publication(settings: Settings) -> dict[str, str | None]:
    """What the site says it shows: the last day with data and when the published file was written (UTC)."""
    published = settings.published_warehouse_path
    conn = duckdb.connect(str(published), read_only=True)
    try:
        (data_through,) = conn.execute("select max(call_date) from marts.rpt_cost_daily").fetchone()
    finally:
        conn.close()
    published_at = dt.datetime.fromtimestamp(published.stat().st_mtime, dt.UTC)
    return {
        "data_through": None if data_through is None else data_through.isoformat(),
        "published_at": f"{published_at:%Y-%m-%d %H:%M} UTC",
    }


def write_publication(settings: Settings, build_dir: Path) -> Path:
    """publication.json beside the built pages; the site's layout shows it on every page."""
    target = build_dir / PUBLICATION_FILE
    target.write_text(json.dumps(publication(settings)))
    return target


def build_report_site(
    settings: Settings,
    timeout_s: float = 900,
    project_dir: Path = REPORTS_DIR,
    required_sources: tuple[str, ...] = REQUIRED_SOURCES,
) -> ReportBuildResult:
    """Stage the project, `npm ci` if needed, `npm run sources`, a clean `npm run build`, then publish.

    Fails on any error marker in Evidence's output; the previously published
    site stays in place until a build has succeeded.
    """
    started = time.monotonic()
    workdir, env, rows = _stage_and_run_sources(settings, timeout_s, project_dir, required_sources)

    build_dir = workdir / "build"
    shutil.rmtree(build_dir, ignore_errors=True)
    out = _run(["npm", "run", "build"], workdir, env, timeout_s, "npm run build")
    problems = error_lines(out)
    if problems:
        raise ReportBuildError(
            "`npm run build` reported query or compile errors:\n" + "\n".join(f"  {p}" for p in problems)
        )
    if not (build_dir / "index.html").exists():
        raise ReportBuildError(f"`npm run build` finished but {build_dir}/index.html is missing:\n{out[-3000:]}")
    pages = built_pages(build_dir)
    write_publication(settings, build_dir)
    final = site_dir(settings)
    _swap_in(build_dir, final)
    return ReportBuildResult(
        build_dir=final,
        pages_built=pages,
        source_rows=rows,
        duration_s=time.monotonic() - started,
    )


def main() -> int:
    """`python -m orchestration.publish.report_build`: build <data>/published/site from the published file."""
    from orchestration.settings import load_settings

    result = build_report_site(load_settings())
    print(f"Built {result.pages_count} pages into {result.build_dir} in {result.duration_s:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
