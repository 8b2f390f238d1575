"""The user's reference files: budgets and the agent-to-organisation mapping.

AgentLedger ships with no budgets and no org mapping: they describe one
organisation, so they live in the data directory beside the traces, under
`<AGENTLEDGER_DATA_DIR>/reference/`:

| file | read by | without it |
| --- | --- | --- |
| `budgets.csv` | the budget signals (orchestration/signals/budgets.py) | no budgets |
| `org_mapping.csv` | this module -> `reference_input.org_mapping` -> dbt model `reference.org_mapping` | departments come from the traces only, else `unassigned` |

Documented examples are in `docs/examples/`; the demo installs its own files
from `generators/demo_reference/` (`make demo`).

The org mapping is copied into the warehouse table `reference_input.org_mapping`
(the dbt source of the `org_mapping` model, so lineage runs file -> table ->
marts). A bad row never stops a run: it is left out and reported with its file,
line and field, and the other rows load. A missing file loads an empty table.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.settings import REPO_ROOT, Settings

REFERENCE_SCHEMA = "reference_input"
ORG_MAPPING_TABLE = f"{REFERENCE_SCHEMA}.org_mapping"
ORG_MAPPING_FILE = "org_mapping.csv"
BUDGETS_FILE = "budgets.csv"
REFERENCE_FILES = (BUDGETS_FILE, ORG_MAPPING_FILE)
ORG_MAPPING_COLUMNS = ("agent_id", "department", "team", "cost_centre")
ORG_MAPPING_REQUIRED = ("agent_id", "department")

EXAMPLES_DIR = REPO_ROOT / "docs" / "examples"
DEMO_REFERENCE_DIR = REPO_ROOT / "generators" / "demo_reference"


def reference_dir(settings: Settings) -> Path:
    """`<data dir>/reference`: where the user's budgets.csv and org_mapping.csv live."""
    return settings.reference_dir


def budgets_path(settings: Settings) -> Path:
    return reference_dir(settings) / BUDGETS_FILE


def org_mapping_path(settings: Settings) -> Path:
    return reference_dir(settings) / ORG_MAPPING_FILE


@dataclass(frozen=True)
class ReferenceRowError:
    """One rejected row (or a whole file, line 1) of a reference file."""

    source_file: str
    line: int
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.source_file} line {self.line}: field {self.field} = {self.value!r}: {self.message}"


@dataclass
class OrgMappingLoad:
    path: Path
    present: bool
    rows: list[dict[str, str | None]] = field(default_factory=list)
    errors: list[ReferenceRowError] = field(default_factory=list)


def read_org_mapping(path: Path) -> OrgMappingLoad:
    """Read and validate the org mapping file; bad rows are reported, not loaded.

    agent_id and department are required, agent_id is unique (the first row
    wins, later ones are reported), team and cost_centre are optional; blank
    cells are null and cells are trimmed. A file without the required columns
    loads nothing and says which columns it lacks.
    """
    result = OrgMappingLoad(path=path, present=path.exists())
    if not result.present:
        return result
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ORG_MAPPING_REQUIRED if c not in header]
        if missing:
            result.errors.append(
                ReferenceRowError(
                    str(path),
                    1,
                    ",".join(missing),
                    ",".join(header),
                    f"missing column(s); expected header {','.join(ORG_MAPPING_COLUMNS)} (team, cost_centre optional)",
                )
            )
            return result
        seen: dict[str, int] = {}
        for raw in reader:
            line = reader.line_num  # the physical line (blank lines are skipped by the reader)
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not any(row.values()):
                continue  # a line of empty cells
            agent_id, department = row.get("agent_id", ""), row.get("department", "")
            if not agent_id:
                result.errors.append(
                    ReferenceRowError(str(path), line, "agent_id", "", "empty; expected the agent id traces carry")
                )
                continue
            if not department:
                result.errors.append(
                    ReferenceRowError(
                        str(path),
                        line,
                        "department",
                        "",
                        f"empty for agent_id {agent_id!r}; expected a department name",
                    )
                )
                continue
            if agent_id in seen:
                result.errors.append(
                    ReferenceRowError(
                        str(path),
                        line,
                        "agent_id",
                        agent_id,
                        f"duplicate; already mapped on line {seen[agent_id]}, which is kept",
                    )
                )
                continue
            seen[agent_id] = line
            result.rows.append({c: (row.get(c) or None) for c in ORG_MAPPING_COLUMNS})
    return result


def load_org_mapping(con: duckdb.DuckDBPyConnection, settings: Settings) -> OrgMappingLoad:
    """Replace `reference_input.org_mapping` with the valid rows of the file (empty without a file)."""
    loaded = read_org_mapping(org_mapping_path(settings))
    columns = ", ".join(f"{c} varchar" for c in ORG_MAPPING_COLUMNS)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {REFERENCE_SCHEMA}")
        con.execute(f"create or replace table {ORG_MAPPING_TABLE} ({columns})")
        if loaded.rows:
            con.executemany(
                f"insert into {ORG_MAPPING_TABLE} values ({', '.join('?' for _ in ORG_MAPPING_COLUMNS)})",
                [[r[c] for c in ORG_MAPPING_COLUMNS] for r in loaded.rows],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return loaded


def install_reference_files(source_dir: Path, settings: Settings, *, replace: bool = False) -> list[Path]:
    """Copy budgets.csv and org_mapping.csv from `source_dir` into `<data dir>/reference/`.

    Files already there are kept unless `replace` (they may be the user's own);
    returns the files written.
    """
    target = reference_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in REFERENCE_FILES:
        src, dst = source_dir / name, target / name
        if src.exists() and (replace or not dst.exists()):
            shutil.copyfile(src, dst)
            written.append(dst)
    return written
