"""The benchmark scripts are not run by the suite (they take minutes and measure the machine), but
they must stay runnable: each one parses its arguments and prints its usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.stem for p in (REPO / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_is_checked():
    assert {"bench_ingest", "bench_dbt", "bench_generator", "bench_demo"} <= set(SCRIPTS)


@pytest.mark.parametrize("module", SCRIPTS)
def test_benchmark_prints_its_usage(module):
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


@pytest.mark.parametrize(
    ("text", "calls"),
    [("100m", 100_000_000), ("10M", 10_000_000), ("250k", 250_000), ("1_500", 1_500), ("2.5m", 2_500_000)],
)
def test_scale_names_read_as_call_counts(text, calls):
    from benchmarks.record import parse_scale, scale_label

    assert parse_scale(text) == calls
    assert parse_scale(scale_label(calls)) == calls
