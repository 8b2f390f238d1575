"""The DuckDB profile's memory settings and dbt's thread count come from the environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from dbt_show import DBT, dbt_show

from orchestration.settings import DBT_PROJECT_DIR

SETTINGS_QUERY = (
    "select current_setting('memory_limit') as memory_limit, current_setting('temp_directory') as temp_directory,"
    " {{ target.threads }} as dbt_threads"
)


def _dbt_settings(tmp_path: Path, **env: str) -> dict[str, str]:
    return dbt_show(tmp_path, SETTINGS_QUERY, **env)[0]


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


def test_threads_opened_after_a_spill_keep_the_spill_folder(tmp_path):
    """A model spills under a small memory limit; the three models reading it then run on threads that open
    their cursors after the spill. DuckDB refuses to set temp_directory again once it has been used, so the
    profile must set it once, when the database opens, not on every cursor."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: spill_check\nversion: '1.0'\nconfig-version: 2\nprofile: agentledger\n"
        "models:\n  spill_check:\n    +materialized: table\n"
    )
    (project / "models" / "sorted_rows.sql").write_text(
        "select i, random() as r from range(8000000) as t(i) order by r"
    )
    for reader in range(3):
        (project / "models" / f"reader_{reader}.sql").write_text("select count(*) as n from {{ ref('sorted_rows') }}")
    (tmp_path / "data").mkdir()
    built = subprocess.run(
        [str(DBT), "build", "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(project),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=project,
        env={**os.environ, "AGENTLEDGER_DATA_DIR": str(tmp_path / "data"), "AGENTLEDGER_ENGINE": "duckdb",
             "AGENTLEDGER_DBT_MEMORY_LIMIT": "100MB", "AGENTLEDGER_DBT_TEMP_DIR": str(tmp_path / "spill"),
             "AGENTLEDGER_DBT_THREADS": "4", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert sorted(r["status"] for r in results) == ["success"] * 4
