"""A run killed with SIGKILL in the middle of its dbt step is followed by a
successful run, and the published file was never corrupted: readers only ever
see a complete file from the last successful run."""

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from generators import GeneratorConfig, generate_traces
from orchestration.dagster_dev import dagster_instance_env
from orchestration.settings import REPO_ROOT

pytestmark = pytest.mark.slow

FIRST, LAST = dt.date(2026, 6, 1), dt.date(2026, 6, 21)
DBT_START_TIMEOUT_S = 600
RUN_TIMEOUT_S = 900


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_range_cmd() -> list[str]:
    return [
        sys.executable,
        "-m",
        "orchestration.run_range",
        "--start",
        str(FIRST),
        "--end",
        str(LAST),
        "--no-report-site",
    ]


def _group_has_dbt_build(pgid: int) -> bool:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pgid:
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        # a build over a partition window: the window reaches dbt in its environment
        windowed = any(
            entry.startswith(b"AGENTLEDGER_WINDOW_MIN_DATE=") and entry != b"AGENTLEDGER_WINDOW_MIN_DATE="
            for entry in environ
        )
        if b"/dbt " in cmdline and b" build" in cmdline and windowed:
            return True
    return False


@pytest.fixture
def pipeline_env(tmp_path):
    data_dir = tmp_path / "data"
    generate_traces(
        GeneratorConfig(calls=6_000, days=21, start=FIRST, seed=3),
        data_dir / "landing" / "synthetic",
        labels_path=data_dir / "ground_truth" / "anomalies.csv",
    )
    env = {**dagster_instance_env(data_dir), "AGENTLEDGER_PARTITIONS_START": "2026-01-01"}
    return data_dir, env


def test_sigkill_during_dbt_leaves_published_file_intact(pipeline_env):
    data_dir, env = pipeline_env
    published = data_dir / "published" / "agentledger.duckdb"

    subprocess.run(_run_range_cmd(), cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=RUN_TIMEOUT_S)
    assert published.exists()
    digest_before = _sha256(published)

    # A new file for the same days, so the second run has real work in its dbt step.
    generate_traces(
        GeneratorConfig(calls=1_500, days=3, start=FIRST, seed=4, agents=3),
        data_dir / "landing" / "more",
        labels_path=data_dir / "ground_truth" / "more.csv",
    )
    victim = subprocess.Popen(
        _run_range_cmd(),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + DBT_START_TIMEOUT_S
    while not _group_has_dbt_build(victim.pid):
        assert victim.poll() is None, "the run ended before its dbt step could be interrupted"
        assert time.monotonic() < deadline, "the dbt step never started"
        time.sleep(0.2)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()

    assert _sha256(published) == digest_before, "a killed run touched the published file"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        calls_before = conn.execute("select count(*) from marts.fct_llm_calls").fetchone()[0]
    finally:
        conn.close()

    # The killed run still holds its slot in the one-writer pool; the next run
    # must notice the dead process and release it rather than wait forever.
    recovered = subprocess.run(
        _run_range_cmd(), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert "had died without reporting" in recovered.stdout
    conn = duckdb.connect(str(published), read_only=True)
    try:
        calls_after, days = conn.execute(
            "select count(*), count(distinct call_date) from marts.fct_llm_calls"
        ).fetchone()
    finally:
        conn.close()
    assert calls_after > calls_before
    assert days == (LAST - FIRST).days + 1
