"""Under `dagster dev`, the dbt manifest is re-parsed only when the project's files changed.

A real DbtProject on a one-model dbt project in a temp dir, with real `dbt parse` runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

from orchestration.dbt_project import parse_inputs_fingerprint, refresh_manifest_if_changed

pytestmark = pytest.mark.slow


def _tiny_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nprofile: tiny\nmodel-paths: ['models']\nseed-paths: ['../seeds']\n"
    )
    (root / "profiles.yml").write_text(
        f"tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {root / 'tiny.duckdb'}\n"
    )
    (root / "models" / "one.sql").write_text("select 1 as x\n")
    (root.parent / "seeds").mkdir()
    (root.parent / "seeds" / "prices.csv").write_text("a\n1\n")
    return root


def test_the_manifest_is_parsed_again_only_when_a_parsed_file_changed(tmp_path, monkeypatch):
    project_dir = _tiny_project(tmp_path / "dbt")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    project = DbtProject(project_dir=project_dir)
    # Outside `dagster dev`, never: the manifest comes from `make prepare`.
    assert not refresh_manifest_if_changed(project)
    assert not project.manifest_path.exists()

    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    assert refresh_manifest_if_changed(project)  # no manifest yet
    assert project.manifest_path.exists()
    assert not refresh_manifest_if_changed(project)  # a run worker started after the code server

    before = parse_inputs_fingerprint(project_dir)
    model = project_dir / "models" / "one.sql"
    model.write_text("select 2 as x\n")
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 1_000_000))
    assert parse_inputs_fingerprint(project_dir) != before
    assert refresh_manifest_if_changed(project)  # an edited model
    assert not refresh_manifest_if_changed(project)

    (tmp_path / "seeds" / "budgets.csv").write_text("b\n2\n")  # seed-paths outside the project
    assert refresh_manifest_if_changed(project)
    # Other settings render another profile (engine, warehouse path): dbt would not partial-parse on it.
    monkeypatch.setenv("AGENTLEDGER_ENGINE", "duckdb")
    on_duckdb = parse_inputs_fingerprint(project_dir)
    monkeypatch.setenv("AGENTLEDGER_ENGINE", "spark")
    assert parse_inputs_fingerprint(project_dir) != on_duckdb
    monkeypatch.setenv("AGENTLEDGER_ENGINE", "duckdb")
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "elsewhere"))
    assert parse_inputs_fingerprint(project_dir) != on_duckdb
