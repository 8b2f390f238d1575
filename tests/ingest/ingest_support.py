"""Shared helpers for the ingestion tests (imported by path-unique test modules)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
SALT = "test-salt"


def make_settings(tmp_path, monkeypatch):
    from orchestration.settings import load_settings

    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    monkeypatch.delenv("AGENTLEDGER_ATTRIBUTE_MAPPING", raising=False)
    monkeypatch.setenv("AGENTLEDGER_USER_ID_SALT", SALT)
    return load_settings()


def drop(settings, fixture: str, dest: str | None = None, mtime: float | None = None) -> Path:
    """Copy a fixture into the landing folder (optionally under another name / with a given mtime)."""
    target = settings.landing_dir / (dest or fixture)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / fixture, target)
    if mtime is not None:
        os.utime(target, (mtime, mtime))
    return target


def query(settings, sql: str, params=None):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def one(settings, sql: str, params=None):
    return query(settings, sql, params)[0][0]
