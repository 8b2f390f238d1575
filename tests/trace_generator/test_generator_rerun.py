"""A regenerated dataset leaves identical files alone, replaces changed ones whole and drops stale ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from generators.writers import replace_if_changed

from generator_testdata import SMALL, generate

TINY = replace(SMALL, calls=3_000, days=6)


def _snapshot(paths) -> dict[Path, tuple[int, bytes]]:
    return {Path(p): (Path(p).stat().st_mtime_ns, Path(p).read_bytes()) for p in paths}


def _landing_entries(root: Path) -> list[Path]:
    return sorted(p for p in (root / "landing").rglob("*") if p.is_file())


@pytest.mark.parametrize("fmt", ["parquet", "otlp"])
def test_identical_rerun_rewrites_nothing(tmp_path: Path, fmt: str) -> None:
    first = generate(tmp_path, fmt, TINY)
    assert first.files_written == tuple(sorted(first.files))
    before = _snapshot([*first.files, first.labels_path, first.outages_path])

    second = generate(tmp_path, fmt, TINY)

    assert second.files == first.files
    assert second.files_written == ()
    assert second.files_removed == ()
    # Same bytes and the same modification time: the loader's manifest still knows every file.
    assert _snapshot([*second.files, second.labels_path, second.outages_path]) == before
    # No staged copy is left behind, hidden or not.
    assert _landing_entries(tmp_path) == sorted(first.files)


def test_changed_files_are_replaced_and_stale_days_removed(tmp_path: Path) -> None:
    first = generate(tmp_path, "parquet", TINY)
    before = _snapshot(first.files)

    # One day fewer from the same start, with another seed: every kept day's bytes change, the last day goes.
    shorter = replace(TINY, days=TINY.days - 1, seed=TINY.seed + 1)
    second = generate(tmp_path, "parquet", shorter)

    assert set(second.files_written) == set(second.files)
    assert len(second.files_removed) == 1 and second.files_removed[0] not in second.files
    assert not second.files_removed[0].exists()
    assert not second.files_removed[0].parent.exists()  # its empty date= folder went with it
    for path in second.files:
        assert path.read_bytes() != before[path][1]
    assert _landing_entries(tmp_path) == sorted(second.files)


def test_replace_if_changed_keeps_an_identical_target(tmp_path: Path) -> None:
    target = tmp_path / "part-00000.csv"
    target.write_text("a,b\n1,2\n")
    mtime = target.stat().st_mtime_ns

    same = tmp_path / ".same.tmp"
    same.write_text("a,b\n1,2\n")
    assert replace_if_changed(same, target) is False
    assert not same.exists() and target.stat().st_mtime_ns == mtime

    # Same size, different bytes: replaced.
    other = tmp_path / ".other.tmp"
    other.write_text("a,b\n1,3\n")
    assert replace_if_changed(other, target) is True
    assert not other.exists() and target.read_text() == "a,b\n1,3\n"

    fresh = tmp_path / ".fresh.tmp"
    fresh.write_text("x\n")
    assert replace_if_changed(fresh, tmp_path / "new.csv") is True
    assert (tmp_path / "new.csv").read_text() == "x\n"
