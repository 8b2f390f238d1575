"""Re-runs, re-dropped files, the same span in two files, late data, privacy."""

from __future__ import annotations

import json
from datetime import date

import pytest

from orchestration.ingest import ingest_window, pending_days
from orchestration.ingest.privacy import hash_user_id

from ingest_support import SALT, drop, make_settings, one, query

MAR1, MAR2, FEB20 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 2, 20)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def counts(settings):
    return (
        one(settings, "select count(*) from raw.trace_spans"),
        one(settings, "select count(distinct span_id) from raw.trace_spans"),
        one(settings, "select count(*) from raw.quarantine"),
    )


def test_rerun_and_forced_rerun_change_nothing(settings):
    drop(settings, "canonical_mixed.jsonl")
    drop(settings, "otlp_current.jsonl")
    first = ingest_window(settings, MAR1, MAR2)
    before = counts(settings)
    assert before[0] == before[1] == first.rows_loaded
    again = ingest_window(settings, MAR1, MAR2)
    assert (again.files_seen, again.files_skipped_unchanged, again.rows_read, again.rows_loaded) == (2, 2, 0, 0)
    assert counts(settings) == before
    statuses = query(settings, "select status, count(*) from raw.ingestion_ledger group by 1 order by 1")
    assert statuses == [("loaded", 3), ("skipped_unchanged", 3)]
    forced = ingest_window(settings, MAR1, MAR2, force=True)
    assert forced.rows_read == first.rows_read
    assert forced.rows_loaded == 0 and forced.rows_quarantined == first.rows_quarantined
    assert forced.duplicates_skipped == first.rows_loaded + first.duplicates_skipped
    assert counts(settings) == before


def test_same_file_dropped_twice_is_skipped_as_unchanged(settings):
    drop(settings, "otlp_current.jsonl", "a/traces.jsonl")
    ingest_window(settings, None, None)
    before = counts(settings)
    drop(settings, "otlp_current.jsonl", "b/copy-of-traces.jsonl")
    assert pending_days(settings) == {}
    summary = ingest_window(settings, None, None)
    assert summary.files_skipped_unchanged == 2 and summary.rows_loaded == 0
    assert counts(settings) == before


def _span_line(input_tokens: int) -> str:
    return (
        json.dumps(
            {
                "span_id": "dup-span",
                "trace_id": "t",
                "started_at": "2026-03-01T08:00:00Z",
                "duration_ms": 5,
                "operation": "chat",
                "provider": "openai",
                "request_model": "gpt-4o",
                "workspace_id": "w",
                "status": "ok",
                "input_tokens": input_tokens,
                "output_tokens": 1,
            }
        )
        + "\n"
    )


def test_same_span_in_two_files_latest_file_wins(settings):
    landing = settings.landing_dir
    landing.mkdir(parents=True)
    (landing / "old.jsonl").write_text(_span_line(100))
    ingest_window(settings, None, None)
    newer = landing / "newer.jsonl"
    newer.write_text(_span_line(200))
    import os

    os.utime(landing / "old.jsonl", (1_000_000_000, 1_000_000_000))
    os.utime(newer, (2_000_000_000, 2_000_000_000))
    summary = ingest_window(settings, None, None)
    assert (summary.rows_loaded, summary.rows_replaced) == (1, 1)
    assert query(settings, "select input_tokens, _source_file from raw.trace_spans") == [(200, "newer.jsonl")]
    # An older version arriving later loses to the newer one already loaded.
    stale = landing / "stale.jsonl"
    stale.write_text(_span_line(50))
    os.utime(stale, (1_500_000_000, 1_500_000_000))
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.duplicates_skipped) == (1, 0, 1)
    assert query(settings, "select input_tokens, _source_file from raw.trace_spans") == [(200, "newer.jsonl")]


def test_late_data_waits_for_its_day_and_is_reported_pending(settings):
    drop(settings, "canonical_mixed.jsonl")
    assert set(pending_days(settings)) == {MAR1, MAR2}
    ingest_window(settings, MAR1, MAR1)
    assert pending_days(settings) == {MAR2: ["canonical_mixed.jsonl"]}
    assert one(settings, "select count(*) from raw.trace_spans where started_at >= DATE '2026-03-02'") == 0
    drop(settings, "late_day.jsonl", "date=2026-03-01/late.jsonl")
    assert pending_days(settings) == {FEB20: ["date=2026-03-01/late.jsonl"], MAR2: ["canonical_mixed.jsonl"]}
    summary = ingest_window(settings, FEB20, FEB20)
    assert summary.days == [FEB20] and summary.rows_loaded == 1
    assert pending_days(settings) == {MAR2: ["canonical_mixed.jsonl"]}
    ingest_window(settings, MAR2, MAR2)
    assert pending_days(settings) == {}
    assert one(settings, "select count(*) from raw.trace_spans") == 4


def test_content_never_lands_and_user_ids_are_hashed(settings):
    for name in ("canonical_mixed.jsonl", "canonical.csv", "otlp_current.jsonl", "otlp_deprecated.json"):
        drop(settings, name)
    ingest_window(settings, None, None)
    for table in ("raw.trace_spans", "raw.quarantine"):
        text = one(settings, f"select string_agg(to_json(t)::VARCHAR, '') from {table} t")
        assert "SECRET" not in text
        for clear in ("carol", "alice@example.com", "bob", "dave"):
            assert f'"{clear}"' not in text
    users = dict(query(settings, "select span_id, user_id from raw.trace_spans where user_id is not null"))
    assert users["c0000000000000001"] == hash_user_id("carol", SALT)
    assert users["00f067aa0ba902b7"] == hash_user_id("alice@example.com", SALT)
    assert users["v0000000000000001"] == hash_user_id("dave", SALT)
    import hashlib

    assert hash_user_id("carol", SALT) == hashlib.sha256(b"test-saltcarol").hexdigest()
    # A quarantined record's stored copy carries the hash too.
    assert hash_user_id("dave", SALT) in one(
        settings, "select raw_record::VARCHAR from raw.quarantine where rule = 'reasoning_within_output'"
    )
