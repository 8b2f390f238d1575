"""Rows of an inline query run by `dbt show` through the project's DuckDB profile (macros and settings as dbt runs them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"


def dbt_show(tmp_path: Path, sql: str, **env: str) -> list[dict]:
    """The rows of `sql` (Jinja allowed) as dicts; the warehouse lives in tmp_path/data."""
    (tmp_path / "data").mkdir(exist_ok=True)
    shown = subprocess.run(
        [str(DBT), "show", "--inline", sql, "--output", "json", "--log-format", "json",
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "AGENTLEDGER_DATA_DIR": str(tmp_path / "data"), "AGENTLEDGER_ENGINE": "duckdb",
             "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in shown.stdout.splitlines():
        preview = json.loads(line).get("data", {}).get("preview")
        if preview:
            return json.loads(preview)
    raise AssertionError(f"dbt show printed no preview:\n{shown.stdout[-2000:]}")
