"""What a rerun of `agentledger demo` has to do, from what changed since the last successful one.

The last successful demo leaves `<data dir>/demo_state.json`: fingerprints of
everything its results were built from (the seeds and reference files, the
dbt project, the package's code and lock file, AgentLedger's settings), of the
published file it left, and of what the report site was built from. A rerun
compares them with the present:

- no record, an input that changed, or no working warehouse: the whole window
  is run again (a price in seeds/, a model or macro, a setting can change
  every day's figures);
- otherwise only the days whose landing files are new or changed (the
  loader's manifest and ledger say which) are run;
- a missing published file is published again from the working warehouse;
- the report site is rebuilt only when the published file or the Evidence
  project differs from what the site was built from, or the site is missing.

Nothing to do at all is the common case: the generator leaves identical files
untouched, so a second `make demo` runs no pipeline and builds no site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.landing_watch import contiguous_ranges
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, REPORTS_DIR, SEEDS_DIR, Settings

STATE_FILE = "demo_state.json"
# The generated dataset's folder inside the landing folder.
SYNTHETIC_SUBDIR = "synthetic"
# dbt's own output and logs, and Python's caches, are not inputs.
IGNORED_PARTS = {"target", "logs", "dbt_packages", "__pycache__", "node_modules", ".evidence", "build"}
REPORT_PROJECT_ENTRIES = (
    "package.json",
    "package-lock.json",
    "evidence.plugins.yaml",
    "evidence.settings.json",
    "sources",
    "pages",
    "partials",
    "components",
    "static",
)


def _files_under(root: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if any(part in IGNORED_PARTS or part.startswith(".") for part in rel) or not path.is_file():
            continue
        if suffixes is None or path.suffix in suffixes:
            found.append(path)
    return found


def tree_checksum(paths: Iterable[Path], base: Path = REPO_ROOT) -> str:
    """sha256 over the relative names and contents of the files, in name order (a missing file counts as absent)."""
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        try:
            name = str(path.relative_to(base))
        except ValueError:
            name = str(path)
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def file_sha256(path: Path) -> str | None:
    """Content hash of a file, None when it does not exist."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settings_fingerprint(environ: dict[str, str] | None = None) -> str:
    """Every AGENTLEDGER_* variable, and the content of the attribute-mapping file one may name."""
    environ = dict(os.environ if environ is None else environ)
    items = sorted((k, v) for k, v in environ.items() if k.startswith("AGENTLEDGER_"))
    digest = hashlib.sha256(json.dumps(items).encode())
    mapping = environ.get("AGENTLEDGER_ATTRIBUTE_MAPPING")
    if mapping:
        digest.update((file_sha256(Path(mapping)) or "missing").encode())
    return digest.hexdigest()


def input_fingerprints(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """One checksum per kind of input the warehouse's figures are built from (the landing files aside)."""
    package = REPO_ROOT / "orchestration"
    return {
        "seeds": tree_checksum(_files_under(SEEDS_DIR)),
        "reference files": tree_checksum(_files_under(settings.reference_dir), settings.reference_dir),
        "dbt project": tree_checksum(_files_under(DBT_PROJECT_DIR)),
        "code": tree_checksum(
            [
                *_files_under(package, (".py",)),
                *_files_under(REPO_ROOT / "generators", (".py",)),
                REPO_ROOT / "requirements.lock",
            ]
        ),
        "settings": settings_fingerprint(environ),
    }


def report_project_checksum(project_dir: Path = REPORTS_DIR) -> str:
    return tree_checksum(
        [p for entry in REPORT_PROJECT_ENTRIES for p in _files_under(project_dir / entry)], project_dir
    )


def site_present(settings: Settings) -> bool:
    from orchestration.publish.report_build import PUBLICATION_FILE, site_dir

    site = site_dir(settings)
    return (site / "index.html").is_file() and (site / PUBLICATION_FILE).is_file()


@dataclass
class DemoState:
    """What the last successful demo left (`<data dir>/demo_state.json`)."""

    finished_at: str
    window: dict[str, object]
    inputs: dict[str, str]
    published_sha256: str | None
    site_built_from: dict[str, str | None] = field(default_factory=dict)
    # The generated dataset as the run left it: relative path -> [size, mtime_ns].
    generated: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def read(cls, settings: Settings) -> DemoState | None:
        path = settings.data_dir / STATE_FILE
        try:
            raw = json.loads(path.read_text())
            return cls(**raw)
        except (OSError, ValueError, TypeError):
            return None  # none yet, or unreadable: treated as no previous run

    def write(self, settings: Settings) -> None:
        path = settings.data_dir / STATE_FILE
        staged = path.with_name(f".{path.name}.tmp")
        staged.write_text(json.dumps(self.__dict__, indent=2, sort_keys=True))
        os.replace(staged, path)


@dataclass
class RerunPlan:
    """The work a demo run does, and why (lines for the terminal)."""

    full: bool  # the whole window
    ranges: list[tuple[dt.date, dt.date]]  # the partition ranges to run (the whole window when full)
    publish_only: bool  # the warehouse is current but the published file is missing
    reasons: list[str]

    @property
    def runs_pipeline(self) -> bool:
        return bool(self.ranges) or self.publish_only


def demo_window(days: int, end_date: str | None) -> tuple[dt.date, dt.date]:
    """The generated days: `days` days ending at end_date, or yesterday (UTC)."""
    end = dt.date.fromisoformat(end_date) if end_date else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    return end - dt.timedelta(days=days - 1), end


def file_listing(root: Path) -> dict[str, list[int]]:
    """Relative path -> [size, mtime_ns] of every file below `root` (empty when it does not exist)."""
    if not root.is_dir():
        return {}
    listing = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            listing[str(path.relative_to(root))] = [st.st_size, st.st_mtime_ns]
    return listing


def unchanged_since(
    settings: Settings, state: DemoState | None, window: dict[str, object], generated_dir: Path
) -> bool:
    """True when a rerun has nothing to do, decided without generating or starting Dagster.

    The generator is deterministic in the window, its settings and its code
    (all in the fingerprints), so when the files it left are still there at
    the same size and mtime, generating again would rewrite none of them.
    The loader must also see no new landing file, and the published file
    and the site must be the ones the last run left.
    """
    if state is None or state.window != window or not state.generated:
        return False
    if not settings.warehouse_path.exists() or state.inputs != input_fingerprints(settings):
        return False
    if file_listing(generated_dir) != state.generated:
        return False
    from orchestration.ingest import pending_days

    if pending_days(settings):
        return False
    published = file_sha256(settings.published_warehouse_path)
    if published is None or published != state.published_sha256:
        return False
    return site_rebuild_reason(settings, state, published, report_project_checksum()) is None


def plan_rerun(
    settings: Settings,
    state: DemoState | None,
    window: dict[str, object],
    inputs: dict[str, str],
    pending: dict[dt.date, list[str]],
) -> RerunPlan:
    """Decide the run from the previous state, the present inputs and the days with unloaded landing files."""
    first, last = dt.date.fromisoformat(str(window["first"])), dt.date.fromisoformat(str(window["last"]))
    whole = [(min([first, *pending]), max([last, *pending]))]
    if state is None:
        return RerunPlan(True, whole, False, ["no earlier successful run recorded: running the whole window"])
    if not settings.warehouse_path.exists():
        return RerunPlan(True, whole, False, [f"{settings.warehouse_path.name} is missing: running the whole window"])
    changed = [kind for kind, value in inputs.items() if state.inputs.get(kind) != value]
    if state.window != window:
        changed.insert(0, "synthetic window")
    if changed:
        return RerunPlan(
            True, whole, False, [f"changed since the last run: {', '.join(changed)}: running the whole window"]
        )
    if pending:
        ranges = contiguous_ranges(pending)
        files = sorted({f for fs in pending.values() for f in fs})
        shown = ", ".join(f"{a}..{b}" if a != b else f"{a}" for a, b in ranges)
        return RerunPlan(
            False,
            ranges,
            False,
            [f"{len(files)} new or changed landing file(s): running {len(pending)} day(s), {shown}"],
        )
    if not settings.published_warehouse_path.exists():
        return RerunPlan(False, [], True, [f"{settings.published_warehouse_path.name} is missing: publishing it again"])
    return RerunPlan(False, [], False, [])


def site_rebuild_reason(
    settings: Settings, state: DemoState | None, published_sha: str | None, reports: str
) -> str | None:
    """Why the report site must be built, or None when it shows the present published file."""
    if not site_present(settings):
        return "the report site is missing"
    built = (state.site_built_from if state else None) or {}
    if built.get("published_sha256") != published_sha:
        return "the published data changed"
    if built.get("reports") != reports:
        return "the report project changed"
    return None
