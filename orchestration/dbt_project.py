"""The dbt project as Dagster sees it.

Kept in its own module because `@dbt_assets` reads target/manifest.json when
its module is imported: `make prepare` (dagster-dbt project prepare-and-package)
writes the manifest, and under `dagster dev` it is refreshed when the project
changed (prepare_if_dev(), through `refresh_manifest_if_changed`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

# The folders of dbt_project.yml whose files dbt parses into the manifest.
PARSED_PATH_KEYS = ("model-paths", "seed-paths", "macro-paths", "test-paths", "analysis-paths", "snapshot-paths")

agentledger_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


def parse_inputs_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """What the manifest is parsed from: every parsed file's path, size and mtime, and the settings in the environment.

    The settings (AGENTLEDGER_* and DBT_* variables) pick the profile's
    target and its rendered connection (the warehouse path, memory limit,
    temp directory); dbt keeps partial parsing only while those are the
    same, so a manifest parsed under other settings would make every dbt
    call of a run parse the whole project again.
    """
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for key in PARSED_PATH_KEYS:
        for folder in config.get(key, []):
            root = (project_dir / folder).resolve()
            if root.is_dir():
                files.extend(p for p in root.rglob("*") if p.is_file())
    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith(("AGENTLEDGER_", "DBT_")))
    digest = hashlib.sha256(repr(settings).encode())
    for path in sorted(files):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def refresh_manifest_if_changed(project: DbtProject = agentledger_dbt_project) -> bool:
    """Under `dagster dev`, re-parse the project (prepare_if_dev) only when its files changed since the last parse.

    dagster-dbt re-parses in every process that imports the project under
    `dagster dev`: the code server, and also each run's worker, where the
    `dbt parse` (about 8 s here) sat between a run's launch and its first
    step. The fingerprint of the parsed files is kept beside the manifest,
    so the code server still picks up an edited model on reload, and a run
    worker started after it finds the manifest current. Returns whether it parsed.
    """
    if not os.getenv("DAGSTER_IS_DEV_CLI"):
        return False
    stamp = project.manifest_path.with_name("manifest.inputs.sha256")
    fingerprint = parse_inputs_fingerprint(project.project_dir)
    if project.manifest_path.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return False
    project.prepare_if_dev()
    stamp.write_text(fingerprint)
    return True


refresh_manifest_if_changed()
