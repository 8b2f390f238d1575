"""Which days the marts step rebuilds, and how a window reaches dbt: environment variables, not --vars."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_invocation import PRODUCTION_BUILD, WINDOW_ENV, environment, run_dbt, window_env
from orchestration.defs.automation.definitions import range_tags
from orchestration.defs.warehouse.assets import marts_window_args
from orchestration.partitions import PARTITION_TAG, run_partition_days

MIN_ENV, MAX_ENV = WINDOW_ENV


def test_a_range_run_passes_its_first_and_last_day():
    tags = range_tags(dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert run_partition_days(tags) == ("2026-09-01", "2026-09-30")
    assert marts_window_args(tags) == ([], {MIN_ENV: "2026-09-01", MAX_ENV: "2026-09-30"})


def test_a_single_partition_run_passes_its_day():
    assert marts_window_args({PARTITION_TAG: "2026-10-09"}) == ([], {MIN_ENV: "2026-10-09", MAX_ENV: "2026-10-09"})


def test_a_run_without_partitions_rebuilds_the_incremental_marts():
    assert run_partition_days({"dagster/backfill": "abc"}) is None
    # an explicit empty window, so a variable left in the environment is not taken as one
    assert marts_window_args({}) == (["--full-refresh"], {MIN_ENV: "", MAX_ENV: ""})


def test_the_window_is_set_for_the_block_only(monkeypatch):
    monkeypatch.setenv(MIN_ENV, "2020-01-01")  # stale, from the parent's environment
    monkeypatch.delenv(MAX_ENV, raising=False)
    with environment(window_env(None)):
        assert (os.environ[MIN_ENV], os.environ[MAX_ENV]) == ("", "")
    assert os.environ[MIN_ENV] == "2020-01-01"
    assert MAX_ENV not in os.environ


def test_production_builds_leave_unit_tests_to_ci():
    assert PRODUCTION_BUILD[:2] == ["--exclude-resource-type", "unit_test"]


def _compile_fct_llm_calls(work: Path, label: str, args: list[str], window: tuple[str, str]) -> tuple[str, str]:
    """`dbt compile` of the call fact in `work`; its compiled SQL and this invocation's log."""
    run = run_dbt(
        ["compile", "--select", "fct_llm_calls", *args], work / "warehouse.duckdb", work, window=window, label=label
    )
    [compiled] = (run.target_dir / "compiled").rglob("fct_llm_calls.sql")
    return compiled.read_text(), (run.log_dir / "dbt.log").read_text()


@pytest.mark.slow
def test_an_environment_window_compiles_like_vars_and_keeps_partial_parsing(tmp_path):
    # The fact exists as a table, so dbt compiles it as an incremental run (with the window predicate).
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        conn.execute("create schema marts")
        conn.execute("create table marts.fct_llm_calls (span_id varchar, call_date date)")
    finally:
        conn.close()

    _compile_fct_llm_calls(tmp_path, "first", [], ("2026-10-01", "2026-10-01"))
    from_env, log = _compile_fct_llm_calls(tmp_path, "env", [], ("2026-10-02", "2026-10-03"))
    # A new window in the environment leaves the saved parse valid: no full
    # re-parse, and not even the models that read the window are parsed again.
    assert "Partial parsing enabled" in log
    assert "Unable to do partial parsing" not in log
    assert "fct_llm_calls.sql" not in "".join(line for line in log.splitlines() if "Partial parsing: " in line)

    window_vars = json.dumps({"min_date": "2026-10-02", "max_date": "2026-10-03"})
    # vars win over a (different) window in the environment
    from_vars, _ = _compile_fct_llm_calls(tmp_path, "vars", ["--vars", window_vars], ("2026-01-01", "2026-01-31"))
    predicate = re.search(r"where (started_at >= .*?)\n\n", from_env, re.S)
    assert predicate, from_env
    assert "'2026-10-02'" in predicate.group(1) and "'2026-10-03'" in predicate.group(1)
    assert from_vars == from_env
