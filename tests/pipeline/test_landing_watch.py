import datetime as dt
import os

from orchestration.landing_watch import contiguous_ranges, plan_landing_runs

D = dt.date


def test_contiguous_ranges_groups_consecutive_days():
    days = [D(2026, 3, 5), D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 5), D(2026, 3, 9)]
    assert contiguous_ranges(days) == [
        (D(2026, 3, 1), D(2026, 3, 3)),
        (D(2026, 3, 5), D(2026, 3, 5)),
        (D(2026, 3, 9), D(2026, 3, 9)),
    ]
    assert contiguous_ranges([]) == []


def _touch(path, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_plan_waits_for_files_still_being_written(tmp_path):
    now = 1_000_000.0
    _touch(tmp_path / "a.jsonl", now - 120)
    _touch(tmp_path / "b.jsonl", now - 5)
    pending = {D(2026, 3, 1): ["a.jsonl"], D(2026, 3, 2): ["b.jsonl"]}

    plan = plan_landing_runs(pending, tmp_path, None, now, debounce_seconds=30)

    assert plan.ranges == [(D(2026, 3, 1), D(2026, 3, 1))]
    assert plan.waiting_files == ["b.jsonl"]


def test_plan_requests_nothing_twice_for_the_same_files(tmp_path):
    now = 1_000_000.0
    _touch(tmp_path / "late" / "old-day.parquet", now - 600)
    pending = {D(2026, 1, 10): ["late/old-day.parquet"]}

    first = plan_landing_runs(pending, tmp_path, None, now, debounce_seconds=30)
    again = plan_landing_runs(pending, tmp_path, first.cursor, now + 60, debounce_seconds=30)

    assert first.ranges == [(D(2026, 1, 10), D(2026, 1, 10))]
    assert again.ranges == []
    assert again.cursor == first.cursor

    # The file is replaced: its new content is requested again.
    _touch(tmp_path / "late" / "old-day.parquet", now)
    (tmp_path / "late" / "old-day.parquet").write_text("changed content")
    os.utime(tmp_path / "late" / "old-day.parquet", (now, now))
    changed = plan_landing_runs(pending, tmp_path, first.cursor, now + 60, debounce_seconds=30)
    assert changed.ranges == [(D(2026, 1, 10), D(2026, 1, 10))]
    assert changed.cursor != first.cursor
