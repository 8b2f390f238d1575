"""Each landing format lands in raw.trace_spans with the contract's values."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import duckdb
import pytest

from orchestration.ingest import ingest_window

from ingest_support import SALT, drop, make_settings, one, query


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def row(settings, span_id: str, *cols: str):
    return query(settings, f"select {', '.join(cols)} from raw.trace_spans where span_id = ?", [span_id])[0]


def test_jsonl_mixed_rows_conserve_and_quarantine_each_bad_row(settings):
    drop(settings, "canonical_mixed.jsonl")
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined, summary.duplicates_skipped) == (
        9,
        3,
        5,
        1,
    )
    assert summary.bad_share == pytest.approx(5 / 9)
    rules = dict(
        query(settings, "select source_row, rule from raw.quarantine where source_file = 'canonical_mixed.jsonl'")
    )
    assert rules == {
        3: "non_negative_input_tokens",
        4: "cache_within_input",
        5: "castable_started_at",
        6: "malformed_record",
        7: "required_for_model_operation_provider",
    }
    message = one(settings, "select message from raw.quarantine where rule = 'non_negative_input_tokens'")
    assert (
        message.startswith("canonical_mixed.jsonl: row 3") and "field input_tokens" in message and "got -5" in message
    )
    assert one(settings, "select source_line from raw.quarantine where rule = 'malformed_record'") == 6
    for read, loaded, quarantined, dups in query(
        settings, "select rows_read, rows_loaded, rows_quarantined, duplicates_skipped from raw.ingestion_ledger"
    ):
        assert read == loaded + quarantined + dups
    assert one(settings, "select count(*) from raw.trace_spans") == 3
    assert row(
        settings, "c0000000000000001", "started_at", "duration_ms", "input_tokens", "cache_read_tokens", "tags"
    ) == (
        datetime(2026, 3, 1, 9, 0),
        1250.5,
        1000,
        400,
        '{"team":"blue"}',
    )
    # Missing optional fields are null, not zero.
    assert row(settings, "c0000000000000002", "input_tokens", "provider", "tool_name") == (None, None, "search")


def test_csv_rejected_line_and_uncastable_count_are_quarantined(settings):
    drop(settings, "canonical.csv")
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (5, 2, 3)
    got = sorted(
        query(settings, "select coalesce(source_row, -1), source_line, rule, field from raw.quarantine"), key=str
    )
    assert got == sorted(
        [
            (-1, 5, "malformed_record", None),
            (3, None, "reasoning_within_output", "output_tokens"),
            (4, None, "castable_input_tokens", "input_tokens"),
        ],
        key=str,
    )
    assert "got 12.5" in one(settings, "select message from raw.quarantine where rule = 'castable_input_tokens'")
    assert row(settings, "v0000000000000002", "status", "error_type", "cache_read_tokens", "duration_ms") == (
        "error",
        "timeout",
        None,
        35.5,
    )


def test_parquet_with_native_types(settings):
    settings.landing_dir.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        f"""copy (select 'p' || i as span_id, 'tp' as trace_id,
                TIMESTAMPTZ '2026-03-01 10:00:00+00' + i * INTERVAL 1 MINUTE as started_at,
                100.0 as duration_ms, 'chat' as operation, 'openai' as provider, 'gpt-4o' as request_model,
                'ws-pq' as workspace_id, 'ok' as status, (1000 + i)::INTEGER as input_tokens, 10::BIGINT as output_tokens,
                'u' || i as user_id, 'SECRET-PARQUET' as gen_ai_prompt
            from range(5) t(i)) to '{settings.landing_dir / "part-00000.parquet"}' (format parquet)"""
    )
    con.close()
    summary = ingest_window(settings, date(2026, 3, 1), date(2026, 3, 1))
    assert (summary.rows_read, summary.rows_loaded) == (5, 5)
    assert row(settings, "p3", "started_at", "input_tokens", "user_id", "_source_row", "_source_format") == (
        datetime(2026, 3, 1, 10, 3),
        1003,
        hashlib.sha256((SALT + "u3").encode()).hexdigest(),
        4,
        "parquet",
    )


def test_unparseable_files_are_quarantined_whole_and_the_load_goes_on(settings):
    drop(settings, "broken_otlp.json", "date=2026-03-01/broken_otlp.json")
    (settings.landing_dir / "date=2026-03-01" / "garbage.parquet").write_text("this is not parquet")
    drop(settings, "late_day.jsonl", "date=2026-03-01/late_day.jsonl")
    summary = ingest_window(settings, None, None)
    assert summary.files_quarantined == 2
    assert summary.rows_loaded == 1
    quarantined = query(
        settings, "select source_file, source_row, rule, message from raw.quarantine order by source_file"
    )
    assert [q[:3] for q in quarantined] == [
        ("date=2026-03-01/broken_otlp.json", None, "unparseable_file"),
        ("date=2026-03-01/garbage.parquet", None, "unparseable_file"),
    ]
    assert all(q[3].startswith(q[0] + ": cannot be parsed") for q in quarantined)
    statuses = dict(query(settings, "select source_file, status from raw.ingestion_ledger"))
    assert statuses["date=2026-03-01/garbage.parquet"] == "unparseable"
    # A second run does not quarantine them again.
    ingest_window(settings, None, None)
    assert one(settings, "select count(*) from raw.quarantine") == 2


@pytest.mark.slow
def test_generator_output_loads_identically_from_every_canonical_format(settings):
    from generators.config import GeneratorConfig
    from generators.traces import generate_traces

    config = GeneratorConfig(calls=500, days=2, start=date(2026, 10, 1))
    spans = None
    for fmt in ("parquet", "jsonl", "csv"):
        spans = generate_traces(config, settings.landing_dir, fmt=fmt, progress=False).spans
    summary = ingest_window(settings, None, None)
    # The three copies carry identical spans: one is loaded, two are exact duplicates.
    assert summary.rows_read == 3 * spans
    assert (summary.rows_loaded, summary.rows_quarantined, summary.duplicates_skipped) == (spans, 0, 2 * spans)
    assert one(settings, "select count(distinct span_id) from raw.trace_spans") == spans


def test_parquet_files_of_one_schema_keep_their_own_rows_and_days(settings):
    """Files read together in one scan keep per-file row numbers, lineage and fallback days."""
    settings.landing_dir.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for rel, day, bad_row in (("date=2026-03-05/a.parquet", "2026-03-04", 2), ("b.parquet", "2026-03-02", 3)):
        target = settings.landing_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"""copy (select '{rel[-9]}' || i as span_id, 't' as trace_id,
                    case when i = {bad_row - 1} then null else TIMESTAMP '{day} 10:00:00' + i * INTERVAL 1 DAY end as started_at,
                    1.0 as duration_ms, 'invoke_agent' as operation, 'w' as workspace_id, 'ok' as status
                from range(4) t(i)) to '{target}' (format parquet)"""
        )
    con.close()
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (8, 6, 2)
    # A start-less row takes the day its path names, else its file's earliest valid day.
    assert query(settings, "select source_file, source_row, partition_day, rule from raw.quarantine order by 1") == [
        ("b.parquet", 3, date(2026, 3, 2), "required_started_at"),
        ("date=2026-03-05/a.parquet", 2, date(2026, 3, 5), "required_started_at"),
    ]
    assert query(
        settings,
        "select span_id, _source_file, _source_row from raw.trace_spans where span_id in ('a3', 'b3') order by 1",
    ) == [
        ("a3", "date=2026-03-05/a.parquet", 4),
        ("b3", "b.parquet", 4),
    ]
    days = dict(query(settings, "select partition_day, sum(rows_read) from raw.ingestion_ledger group by 1"))
    assert days[date(2026, 3, 2)] == 2 and days[date(2026, 3, 5)] == 2


def test_parquet_file_with_a_corrupt_page_is_quarantined_alone(settings):
    """Footer and key columns readable, one column's page not: the file is found out before anything is written.

    Parquet rows are read from the files again by the final insert; the keys pass decodes every
    column first, so that a broken file of a group is quarantined alone instead of failing the run.
    """
    import random

    settings.landing_dir.mkdir(parents=True)
    con = duckdb.connect()
    for name in ("a", "b"):
        con.execute(
            f"""copy (select '{name}' || i as span_id, 't' as trace_id,
                    TIMESTAMP '2026-03-02 10:00:00' + i * INTERVAL 1 SECOND as started_at, 1.0 as duration_ms,
                    'invoke_agent' as operation, 'w' as workspace_id, 'ok' as status,
                    md5(i::VARCHAR) || md5((i + 1)::VARCHAR) as agent_name
                from range(20000) t(i)) to '{settings.landing_dir / f"{name}.parquet"}' (format parquet, compression snappy)"""
        )
    broken = settings.landing_dir / "b.parquet"
    offset, size = con.execute(
        f"select data_page_offset, total_compressed_size from parquet_metadata('{broken}') where path_in_schema = 'agent_name'"
    ).fetchone()
    con.close()
    data = bytearray(broken.read_bytes())
    rng = random.Random(1)
    start = offset + size // 3
    data[start : start + 4096] = bytes(rng.getrandbits(8) for _ in range(4096))
    broken.write_bytes(data)

    summary = ingest_window(settings, None, None)
    assert (summary.files_quarantined, summary.rows_loaded) == (1, 20000)
    assert query(settings, "select source_file, rule from raw.quarantine") == [("b.parquet", "unparseable_file")]
    assert one(settings, "select count(*) from raw.trace_spans where _source_file = 'a.parquet'") == 20000
