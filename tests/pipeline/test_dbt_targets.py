"""dagster-dbt writes a folder per dbt call and keeps them all: the pipeline prunes the week-old ones."""

from __future__ import annotations

import datetime as dt
import os

from orchestration.dbt_invocation import TARGET_RETENTION, prune_invocation_targets
from orchestration.defs.warehouse.assets import DBT_ASSET_OPS, dbt_daily_models, dbt_marts, dbt_reference_seeds

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def _folder(root, name, age):
    folder = root / name
    folder.mkdir()
    (folder / "run_results.json").write_text("{}")
    stamp = (NOW - age).timestamp()
    os.utime(folder, (stamp, stamp))
    return folder


def test_week_old_invocation_folders_go_and_everything_else_stays(tmp_path):
    old = _folder(tmp_path, "dbt_marts-3a5aea1-0f1e2d3", TARGET_RETENTION + dt.timedelta(hours=1))
    old_daily = _folder(tmp_path, "dbt_daily_models-3a5aea1-1a2b3c4", TARGET_RETENTION * 3)
    recent = _folder(tmp_path, "dbt_marts-9b8c7d6-5e6f7a8", TARGET_RETENTION - dt.timedelta(hours=1))
    foreign = _folder(tmp_path, "compiled", TARGET_RETENTION * 3)  # dbt's own output, not an invocation's
    (tmp_path / "partial_parse.msgpack").write_bytes(b"\x00")

    removed = prune_invocation_targets(tmp_path, DBT_ASSET_OPS, now=NOW)

    assert sorted(removed) == sorted([old, old_daily])
    assert not old.exists() and not old_daily.exists()
    assert recent.exists() and foreign.exists() and (tmp_path / "partial_parse.msgpack").exists()


def test_a_missing_target_folder_is_not_an_error(tmp_path):
    assert prune_invocation_targets(tmp_path / "absent", DBT_ASSET_OPS, now=NOW) == []


def test_the_pruned_names_are_the_dbt_asset_ops():
    # dagster-dbt names an invocation's folder after the op that ran it
    assert set(DBT_ASSET_OPS) == {asset.op.name for asset in (dbt_reference_seeds, dbt_daily_models, dbt_marts)}
