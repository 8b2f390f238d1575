import datetime as dt
import os

import duckdb

from orchestration.landing_watch import (
    WatchState,
    complete_on_sight,
    contiguous_ranges,
    files_checksum,
    needs_backtest,
    needs_forecast,
    needs_reference_refresh,
    plan_landing_runs,
)

D = dt.date
TICK = 15


def test_contiguous_ranges_groups_consecutive_days():
    days = [D(2026, 3, 5), D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 5), D(2026, 3, 9)]
    assert contiguous_ranges(days) == [
        (D(2026, 3, 1), D(2026, 3, 3)),
        (D(2026, 3, 5), D(2026, 3, 5)),
        (D(2026, 3, 9), D(2026, 3, 9)),
    ]
    assert contiguous_ranges([]) == []


def _touch(path, mtime, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def _parquet(path, rows=3):
    con = duckdb.connect()
    con.execute(f"copy (select range as n from range({rows})) to '{path}' (format parquet)")
    con.close()


def test_a_file_being_written_waits_for_a_second_look_that_agrees(tmp_path):
    now = 1_000_000.0
    _touch(tmp_path / "a.jsonl", now - 120)
    _touch(tmp_path / "b.jsonl", now - 1)
    pending = {D(2026, 3, 1): ["a.jsonl"], D(2026, 3, 2): ["b.jsonl"]}

    first = plan_landing_runs(pending, tmp_path, WatchState(), now, TICK)
    assert first.ranges == [(D(2026, 3, 1), D(2026, 3, 1))]
    assert first.waiting_files == ["b.jsonl"]

    # It grew between the looks: still waiting.
    _touch(tmp_path / "b.jsonl", now + 20, "xy")
    second = plan_landing_runs(pending, tmp_path, WatchState.from_cursor(first.cursor), now + 21, TICK)
    assert second.ranges == [] and second.waiting_files == ["b.jsonl"]

    # The next look agrees with the last one: taken, though the file is younger than a tick.
    third = plan_landing_runs(pending, tmp_path, WatchState.from_cursor(second.cursor), now + 30, TICK)
    assert third.ranges == [(D(2026, 3, 2), D(2026, 3, 2))]
    assert third.files == ["b.jsonl"] and third.waiting_files == []


def test_todays_file_renamed_into_place_is_taken_at_the_first_look(tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    now = dt.datetime.now(dt.UTC).timestamp()
    landing = tmp_path / "landing"
    landing.mkdir()
    _parquet(tmp_path / "drop.parquet.tmp")
    os.replace(tmp_path / "drop.parquet.tmp", landing / "drop.parquet")
    # Half a Parquet file (no footer yet), just written: not taken.
    whole = (landing / "drop.parquet").read_bytes()
    (landing / "half.parquet").write_bytes(whole[: len(whole) // 2])
    assert complete_on_sight(landing / "drop.parquet", len(whole))
    assert not complete_on_sight(landing / "half.parquet", len(whole) // 2)

    plan = plan_landing_runs(
        {today: ["drop.parquet"], today - dt.timedelta(days=1): ["half.parquet"]}, landing, WatchState(), now, TICK
    )
    assert plan.ranges == [(today, today)]
    assert plan.files == ["drop.parquet"]
    assert plan.waiting_files == ["half.parquet"]


def test_a_late_file_for_an_old_day_runs_that_day_only_and_only_once(tmp_path):
    now = 1_000_000.0
    _touch(tmp_path / "late" / "old-day.parquet", now - 600)
    pending = {D(2026, 1, 10): ["late/old-day.parquet"]}

    first = plan_landing_runs(pending, tmp_path, WatchState(), now, TICK)
    again = plan_landing_runs(pending, tmp_path, WatchState.from_cursor(first.cursor), now + 60, TICK)

    assert first.ranges == [(D(2026, 1, 10), D(2026, 1, 10))]
    assert again.ranges == []

    # A new file for today while the late one's run is still queued: only today is requested.
    today = D(2026, 1, 20)
    _touch(tmp_path / "today.jsonl", now - 100)
    pending[today] = ["today.jsonl"]
    both = plan_landing_runs(pending, tmp_path, WatchState.from_cursor(again.cursor), now + 70, TICK)
    assert both.ranges == [(today, today)] and both.files == ["today.jsonl"]

    # The late file is replaced: its new content is requested again.
    _touch(tmp_path / "late" / "old-day.parquet", now, "changed content")
    changed = plan_landing_runs(pending, tmp_path, WatchState.from_cursor(both.cursor), now + 60, TICK)
    assert changed.ranges == [(D(2026, 1, 10), D(2026, 1, 10))]

    # Loaded files leave the pending list and the cursor.
    done = plan_landing_runs({}, tmp_path, WatchState.from_cursor(changed.cursor), now + 90, TICK)
    assert done.ranges == [] and done.state.requested == {}


def test_a_cursor_of_another_format_starts_afresh():
    assert WatchState.from_cursor("3f2a9c") == WatchState()
    assert WatchState.from_cursor(None) == WatchState()
    state = WatchState(looks={"a": (1, 2.0)}, requested={"b": (3, 4.0)}, reference_checksum="c")
    assert WatchState.from_cursor(state.to_cursor()) == state


def test_reference_seeds_rebuild_only_when_their_files_change(tmp_path):
    seed = tmp_path / "prices.csv"
    seed.write_text("a,b\n1,2\n")
    checksum = files_checksum([seed, tmp_path / "absent.csv"])
    assert files_checksum([seed]) == checksum
    assert not needs_reference_refresh(checksum, checksum, None, None)
    seed.write_text("a,b\n1,3\n")
    assert needs_reference_refresh(files_checksum([seed]), checksum, None, None)
    # No recorded checksum: the instance's last build decides.
    assert needs_reference_refresh(checksum, None, 100.0, None)
    assert not needs_reference_refresh(checksum, None, 100.0, 200.0)
    assert needs_reference_refresh(checksum, None, 300.0, 200.0)


def test_backtest_reruns_for_late_history_not_for_today():
    today = D(2026, 3, 15)
    assert not needs_backtest([(today, today)], today, backtest_built=True)
    assert not needs_backtest([(D(2026, 3, 14), today)], today, backtest_built=True)
    assert needs_backtest([(D(2026, 3, 1), D(2026, 3, 1))], today, backtest_built=True)
    assert needs_backtest([(today, today)], today, backtest_built=False)


def test_forecast_refits_when_a_complete_day_changes_or_a_day_ends():
    today = D(2026, 3, 15)
    # Built today and only today's traces dropped: its history (days before today) is unchanged.
    assert not needs_forecast([(today, today)], today, forecast_built_on=today)
    # A late file for yesterday rewrites history.
    assert needs_forecast([(D(2026, 3, 14), today)], today, forecast_built_on=today)
    # Built yesterday: yesterday has ended since, so today's first drop refits it.
    assert needs_forecast([(today, today)], today, forecast_built_on=D(2026, 3, 14))
    assert needs_forecast([(today, today)], today, forecast_built_on=None)
