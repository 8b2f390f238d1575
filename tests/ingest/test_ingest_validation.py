"""The Great Expectations report on loaded batches, built from the loader's rules."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from orchestration.ingest import ingest_window, validate_loaded_batch

from ingest_support import drop, make_settings

MAR1 = date(2026, 3, 1)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def test_good_batch_passes_every_expectation(settings):
    drop(settings, "otlp_current.jsonl")
    drop(settings, "canonical_mixed.jsonl")
    ingest_window(settings, MAR1, MAR1)
    report = validate_loaded_batch(settings, MAR1, MAR1)
    assert report.success
    assert (report.rows_in_batch, report.rows_validated, report.sampled) == (6, 6, False)
    assert report.failed_rules == []
    assert set(report.unexpected_counts) >= {"cache_within_input", "required_span_id", "started_at_in_range"}


def test_bad_rows_written_around_the_loader_are_reported(settings):
    drop(settings, "otlp_current.jsonl")
    ingest_window(settings, MAR1, MAR1)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(
        """insert into raw.trace_spans (span_id, trace_id, started_at, duration_ms, operation, workspace_id, status,
               provider, request_model, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens,
               _source_file, _source_row, _source_format, _loaded_at)
           values ('bad1', 't', TIMESTAMP '2026-03-01 11:00:00', 5, 'chat', 'w', 'ok', null, 'm', 10, -1, 20, null, 'x', 1, 'jsonl', now()),
                  ('bad2', 't', TIMESTAMP '2026-03-01 11:00:01', 99999999, 'dance', 'w', 'ok', 'p', 'm', 10, 5, 0, 6, 'x', 2, 'jsonl', now())"""
    )
    con.close()
    report = validate_loaded_batch(settings, MAR1, MAR1)
    assert not report.success
    counts = report.unexpected_counts
    assert counts["required_for_model_operation_provider"] == 1
    assert counts["non_negative_output_tokens"] == 1
    assert counts["cache_within_input"] == 1
    # bad2 has 6 reasoning > 5 output; bad1 has 0 reasoning > -1 output.
    assert counts["reasoning_within_output"] == 2
    assert counts["known_operation"] == 1
    assert counts["duration_sane"] == 1
    assert counts["required_span_id"] == 0
    assert set(report.failed_rules) == {
        "required_for_model_operation_provider",
        "non_negative_output_tokens",
        "cache_within_input",
        "reasoning_within_output",
        "known_operation",
        "duration_sane",
    }


def test_large_batches_are_validated_on_a_sample(settings, monkeypatch):
    monkeypatch.setenv("AGENTLEDGER_VALIDATION_SAMPLE_ROWS", "3")
    drop(settings, "otlp_current.jsonl")
    ingest_window(settings, MAR1, MAR1)
    report = validate_loaded_batch(settings, MAR1, MAR1)
    assert (report.rows_in_batch, report.rows_validated, report.sampled) == (4, 3, True)
    assert "sample of 3 of 4" in report.note
