"""A rerun of `agentledger demo` does only what changed: nothing, some days, publishing, the site, or all.

The planning tests use the real fingerprints over copies of the inputs; the
end-to-end test runs the real command three times on a small window.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration import demo_rerun
from orchestration.dagster_dev import dagster_instance_env
from orchestration.demo_rerun import (
    DemoState,
    file_sha256,
    input_fingerprints,
    plan_rerun,
    report_project_checksum,
    site_rebuild_reason,
)
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, REPORTS_DIR, SEEDS_DIR, load_settings

WINDOW = {"first": "2026-03-01", "last": "2026-03-10", "calls": 1000, "seed": 7}


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings over an empty data dir, with copies of the seeds and dbt project the fingerprints read."""
    for key in [k for k in os.environ if k.startswith("AGENTLEDGER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    dbt = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, dbt, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(demo_rerun, "SEEDS_DIR", seeds)
    monkeypatch.setattr(demo_rerun, "DBT_PROJECT_DIR", dbt)
    monkeypatch.setattr(demo_rerun, "REPO_ROOT", tmp_path)
    (tmp_path / "orchestration").mkdir()
    (tmp_path / "orchestration" / "module.py").write_text("X = 1\n")
    (tmp_path / "requirements.lock").write_text("duckdb==1.0\n")
    s = load_settings()
    s.reference_dir.mkdir(parents=True)
    (s.reference_dir / "budgets.csv").write_text("workspace_id,month,budget_usd\nws,2026-03,100\n")
    return s


def _state(settings, **overrides) -> DemoState:
    fields = {
        "finished_at": "2026-03-11 08:00:00 UTC",
        "window": WINDOW,
        "inputs": input_fingerprints(settings, {}),
        "published_sha256": None,
    }
    return DemoState(**{**fields, **overrides})


def _make_outputs(settings) -> None:
    """A working and a published file, as a finished run leaves them."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    settings.published_warehouse_path.write_bytes(b"published marts")


def test_each_kind_of_input_changes_its_own_fingerprint(settings, tmp_path):
    before = input_fingerprints(settings, {})
    assert input_fingerprints(settings, {}) == before

    prices = tmp_path / "seeds" / "model_prices.csv"
    prices.write_text(prices.read_text().replace("0", "1", 1))
    after_seeds = input_fingerprints(settings, {})
    assert [k for k in before if before[k] != after_seeds[k]] == ["seeds"]

    macro = next((tmp_path / "dbt_project" / "macros").rglob("*.sql"))
    macro.write_text(macro.read_text() + "\n-- changed\n")
    after_dbt = input_fingerprints(settings, {})
    assert [k for k in before if after_seeds[k] != after_dbt[k]] == ["dbt project"]
    # dbt's own output is not an input.
    (tmp_path / "dbt_project" / "target").mkdir()
    (tmp_path / "dbt_project" / "target" / "manifest.json").write_text("{}")
    assert input_fingerprints(settings, {}) == after_dbt

    (settings.reference_dir / "budgets.csv").write_text("workspace_id,month,budget_usd\nws,2026-03,200\n")
    after_ref = input_fingerprints(settings, {})
    assert [k for k in before if after_dbt[k] != after_ref[k]] == ["reference files"]

    (tmp_path / "orchestration" / "module.py").write_text("X = 2\n")
    after_code = input_fingerprints(settings, {})
    assert [k for k in before if after_ref[k] != after_code[k]] == ["code"]

    configured = input_fingerprints(settings, {"AGENTLEDGER_QUARANTINE_WARN_SHARE": "0.05"})
    assert [k for k in before if after_code[k] != configured[k]] == ["settings"]
    # Other programs' variables are not AgentLedger's settings.
    assert input_fingerprints(settings, {"HOME": "/elsewhere"}) == after_code


def test_attribute_mapping_file_content_is_part_of_the_settings(settings, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("workspace_id: [service.namespace]\n")
    env = {"AGENTLEDGER_ATTRIBUTE_MAPPING": str(mapping)}
    before = input_fingerprints(settings, env)["settings"]
    mapping.write_text("workspace_id: [tenant]\n")
    assert input_fingerprints(settings, env)["settings"] != before


def test_unchanged_inputs_and_no_new_files_plan_nothing(settings):
    _make_outputs(settings)
    inputs = input_fingerprints(settings, {})
    plan = plan_rerun(settings, _state(settings), WINDOW, inputs, {})
    assert not plan.runs_pipeline and plan.reasons == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("no state", "no earlier successful run"),
        ("warehouse deleted", "warehouse.duckdb is missing"),
        ("seeds", "seeds"),
        ("dbt project", "dbt project"),
        ("settings", "settings"),
        ("window", "synthetic window"),
    ],
)
def test_missing_record_or_changed_input_runs_the_whole_window(settings, tmp_path, change, reason):
    _make_outputs(settings)
    state = None if change == "no state" else _state(settings)
    window = dict(WINDOW)
    env = {}
    if change == "warehouse deleted":
        settings.warehouse_path.unlink()
    elif change == "seeds":
        (tmp_path / "seeds" / "model_prices.csv").write_text("model,price\nx,1\n")
    elif change == "dbt project":
        (tmp_path / "dbt_project" / "dbt_project.yml").write_text("name: changed\n")
    elif change == "settings":
        env = {"AGENTLEDGER_FRESHNESS_HOURS": "12"}
    elif change == "window":
        window["last"] = "2026-03-11"
    pending = {dt.date(2026, 3, 4): ["synthetic/parquet/date=2026-03-04/part-00000.parquet"]}
    plan = plan_rerun(settings, state, window, input_fingerprints(settings, env), pending)
    assert plan.full and plan.runs_pipeline
    assert plan.ranges == [(dt.date(2026, 3, 1), dt.date.fromisoformat(window["last"]))]
    assert reason in plan.reasons[0]


def test_changed_days_run_only_their_partitions(settings):
    _make_outputs(settings)
    pending = {
        dt.date(2026, 3, 3): ["a.parquet"],
        dt.date(2026, 3, 4): ["a.parquet", "b.parquet"],
        dt.date(2026, 3, 8): ["c.parquet"],
    }
    plan = plan_rerun(settings, _state(settings), WINDOW, input_fingerprints(settings, {}), pending)
    assert not plan.full and not plan.publish_only
    assert plan.ranges == [(dt.date(2026, 3, 3), dt.date(2026, 3, 4)), (dt.date(2026, 3, 8), dt.date(2026, 3, 8))]
    assert plan.reasons == ["3 new or changed landing file(s): running 3 day(s), 2026-03-03..2026-03-04, 2026-03-08"]


def test_deleted_published_file_is_published_again(settings):
    _make_outputs(settings)
    settings.published_warehouse_path.unlink()
    plan = plan_rerun(settings, _state(settings), WINDOW, input_fingerprints(settings, {}), {})
    assert plan.publish_only and plan.runs_pipeline and plan.ranges == []


def test_site_is_rebuilt_only_when_missing_or_built_from_something_else(settings):
    _make_outputs(settings)
    site = settings.published_dir / "site"
    published = file_sha256(settings.published_warehouse_path)
    reports = report_project_checksum()
    state = _state(settings, site_built_from={"published_sha256": published, "reports": reports})

    assert site_rebuild_reason(settings, state, published, reports) == "the report site is missing"
    site.mkdir()
    (site / "index.html").write_text("<html></html>")
    (site / "publication.json").write_text("{}")
    assert site_rebuild_reason(settings, state, published, reports) is None
    assert site_rebuild_reason(settings, None, published, reports) == "the published data changed"

    settings.published_warehouse_path.write_bytes(b"published marts, republished")
    changed = file_sha256(settings.published_warehouse_path)
    assert site_rebuild_reason(settings, state, changed, reports) == "the published data changed"
    assert site_rebuild_reason(settings, state, published, "another project") == "the report project changed"

    (site / "index.html").unlink()
    assert site_rebuild_reason(settings, state, published, reports) == "the report site is missing"


def test_report_project_checksum_follows_the_pages(tmp_path):
    project = tmp_path / "reports"
    shutil.copytree(REPORTS_DIR / "pages", project / "pages")
    before = report_project_checksum(project)
    (project / ".evidence").mkdir()
    (project / ".evidence" / "cache.json").write_text("{}")
    assert report_project_checksum(project) == before
    page = next((project / "pages").rglob("*.md"))
    page.write_text(page.read_text() + "\nA new paragraph.\n")
    assert report_project_checksum(project) != before


def test_unreadable_state_counts_as_no_previous_run(settings):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / demo_rerun.STATE_FILE).write_text("{not json")
    assert DemoState.read(settings) is None
    state = _state(settings)
    state.write(settings)
    assert DemoState.read(settings) == state


# --- end to end: the real command on a small window -------------------------------------------------


def _demo(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.demo"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _calls(published: Path) -> int:
    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute("select count(*) from marts.fct_llm_calls").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_demo_rerun_skips_when_unchanged_and_runs_only_a_changed_day(tmp_path):
    if shutil.which("npm") is None or not (REPORTS_DIR / "node_modules").is_dir():
        pytest.skip("the report site needs npm and reports/node_modules (make reports-deps)")
    from generators import GeneratorConfig, generate_traces

    data = tmp_path / "data"
    env = dagster_instance_env(data, {k: v for k, v in os.environ.items() if not k.startswith("AGENTLEDGER_")})
    env.update(AGENTLEDGER_DEMO_CALLS="3000", AGENTLEDGER_DEMO_DAYS="7")
    settings_env = {**os.environ, **env}
    published = data / "published" / "agentledger.duckdb"
    site_index = data / "published" / "site" / "index.html"

    first = _demo(settings_env)
    assert "no earlier successful run recorded" in first
    assert "Building the report site" in first
    calls = _calls(published)
    assert calls > 0

    landing = sorted((data / "landing").rglob("*.parquet"))
    watched = [published, site_index, data / "warehouse.duckdb", *landing]
    before = {p: (p.stat().st_mtime_ns, file_sha256(p)) for p in watched}

    second = _demo(settings_env)
    assert "Nothing changed since the last run at" in second and "site up to date" in second
    assert "Building the report site" not in second
    # Nothing was rewritten: the published file, the site, the working file and every landing file.
    assert {p: (p.stat().st_mtime_ns, file_sha256(p)) for p in watched} == before

    # A new file for one day: only that day's partition runs, then the site follows the new publish.
    state = json.loads((data / demo_rerun.STATE_FILE).read_text())
    day = dt.date.fromisoformat(state["window"]["first"]) + dt.timedelta(days=3)
    extra = generate_traces(
        GeneratorConfig(calls=200, days=1, start=day, seed=4242, agents=3),
        data / "landing" / "late",
        labels_path=tmp_path / "late_labels.csv",
        progress=False,
    )
    third = _demo(settings_env)
    assert f"1 new or changed landing file(s): running 1 day(s), {day}" in third
    assert "running the whole window" not in third
    assert "Building the report site: the published data changed" in third
    assert _calls(published) == calls + extra.llm_calls
    for path in landing:
        assert path.stat().st_mtime_ns == before[path][0]
