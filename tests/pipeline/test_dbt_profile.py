"""The DuckDB profile's memory settings and dbt's thread count come from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"
SETTINGS_QUERY = (
    "select current_setting('memory_limit') as memory_limit, current_setting('temp_directory') as temp_directory,"
    " {{ target.threads }} as dbt_threads"
)


def _dbt_settings(tmp_path: Path, **env: str) -> dict[str, str]:
    shown = subprocess.run(
        [str(DBT), "show", "--inline", SETTINGS_QUERY, "--output", "json", "--log-format", "json",
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
            return json.loads(preview)[0]
    raise AssertionError(f"dbt show printed no preview:\n{shown.stdout[-2000:]}")


def test_memory_limit_spill_folder_and_threads_come_from_the_environment(tmp_path):
    (tmp_path / "data").mkdir()
    spill = tmp_path / "spill"
    chosen = _dbt_settings(
        tmp_path, AGENTLEDGER_DBT_MEMORY_LIMIT="1GB", AGENTLEDGER_DBT_TEMP_DIR=str(spill), AGENTLEDGER_DBT_THREADS="3"
    )
    assert chosen == {"memory_limit": "953.6 MiB", "temp_directory": str(spill), "dbt_threads": 3}


def test_by_default_the_spill_folder_sits_beside_the_warehouse(tmp_path):
    (tmp_path / "data").mkdir()
    defaults = _dbt_settings(tmp_path)
    assert defaults["temp_directory"] == str(tmp_path / "data" / "warehouse.duckdb.tmp")
    assert defaults["dbt_threads"] == 4
