"""Resources, defined once and shared by every asset."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.dbt_project import agentledger_dbt_project
from orchestration.settings import Settings, load_settings


class WarehouseResource(dg.ConfigurableResource):
    """The data directory and the working DuckDB file.

    Paths come from the environment (orchestration/settings.py) so that dbt's
    profiles.yml, which reads the same variables, always opens the same file.
    Connections are opened inside asset bodies and closed at once: DuckDB
    allows a single writer process.
    """

    def settings(self) -> Settings:
        return load_settings()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.settings().warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(str(path), read_only=read_only)
        try:
            yield conn
        finally:
            conn.close()


def build_resources() -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(),
        # The dbt installed beside this interpreter, whether or not the venv is on PATH.
        "dbt": DbtCliResource(
            project_dir=agentledger_dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
        ),
    }
