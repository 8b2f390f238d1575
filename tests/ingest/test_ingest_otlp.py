"""OTLP JSON: semantic-convention names, attribute mapping, usage normalisation."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from orchestration.ingest import ingest_window
from orchestration.ingest.privacy import hash_user_id

from ingest_support import FIXTURES, SALT, drop, make_settings, query


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def spans(settings) -> dict[str, dict]:
    con_rows = query(settings, "select * from raw.trace_spans")
    cols = [r[0] for r in query(settings, "select column_name from (describe raw.trace_spans)")]
    return {r[0]: dict(zip(cols, r)) for r in con_rows}


def test_current_names_and_resource_mapping(settings):
    drop(settings, "otlp_current.jsonl", "collector/traces.jsonl")
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (4, 4, 0)
    s = spans(settings)
    chat = s["00f067aa0ba902b7"]
    assert chat["started_at"] == datetime(2026, 3, 1, 10, 0, 0, 250000)
    assert chat["duration_ms"] == 1500.0
    assert chat["time_to_first_token_ms"] == pytest.approx(350.0)
    assert (chat["operation"], chat["provider"], chat["request_model"], chat["response_model"]) == (
        "chat",
        "openai",
        "gpt-4o",
        "gpt-4o-2024-08-06",
    )
    assert (chat["input_tokens"], chat["cache_read_tokens"], chat["cache_write_tokens"]) == (1200, 1000, 0)
    assert (chat["output_tokens"], chat["reasoning_tokens"]) == (300, 120)
    assert (chat["workspace_id"], chat["environment"], chat["department"]) == ("ws-otel", "production", "support")
    assert (chat["agent_name"], chat["agent_id"], chat["conversation_id"]) == ("triage", "agent-7", "conv-1")
    assert chat["parent_span_id"] == "b7ad6b7169203331" and chat["service_tier"] == "default"
    assert chat["_source_format"] == "otlp_jsonl" and chat["_source_file"] == "collector/traces.jsonl"
    failed = s["00f067aa0ba902b8"]
    assert (failed["status"], failed["error_type"], failed["input_tokens"]) == ("error", "rate_limit", 50)
    assert s["b7ad6b7169203331"]["parent_span_id"] is None
    assert s["00f067aa0ba902b9"]["tool_name"] == "lookup_order"
    assert [s[k]["_source_row"] for k in ("00f067aa0ba902b7", "00f067aa0ba902b8", "b7ad6b7169203331")] == [1, 2, 3]


def test_deprecated_names_single_document_and_cache_write_alias(settings):
    drop(settings, "otlp_deprecated.json")
    ingest_window(settings, None, None)
    s = spans(settings)
    old = s["1111111111111111"]
    assert old["_source_format"] == "otlp_json"
    assert (old["provider"], old["input_tokens"], old["output_tokens"], old["cache_write_tokens"]) == (
        "openai",
        800,
        200,
        300,
    )
    assert (old["workspace_id"], old["environment"]) == ("billing-bot", "staging")
    assert old["user_id"] == hash_user_id("bob", SALT)
    assert s["2222222222222222"]["provider"] == "gcp.vertex_ai"


def test_cached_tokens_are_never_counted_twice(settings):
    drop(settings, "otlp_anthropic_usage.jsonl")
    summary = ingest_window(settings, None, None)
    s = spans(settings)
    # Anthropic raw usage (input excludes cache): 100 + 5000 + 200 proves the exclusive meaning.
    assert s["a000000000000001"]["input_tokens"] == 5300
    # Already the OpenTelemetry meaning (6000 includes the 5200 cached): unchanged.
    assert s["a000000000000002"]["input_tokens"] == 6000
    # Explicit marker from the source: 1000 uncached + 300 cache reads.
    assert s["a000000000000003"]["input_tokens"] == 1300
    for span in s.values():
        uncached = span["input_tokens"] - (span["cache_read_tokens"] or 0) - (span["cache_write_tokens"] or 0)
        assert uncached >= 0
    # A non-Anthropic source with more cached than input tokens is inconsistent: quarantined, not guessed.
    assert summary.rows_quarantined == 1
    assert query(settings, "select source_row, rule from raw.quarantine") == [(4, "cache_within_input")]


def test_profile_from_mapping_file_marks_an_exclusive_source(settings, tmp_path, monkeypatch):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "input_excludes_cache:\n  - name: sdk-tracing\n    scope_name: anthropic-sdk-tracing\n    provider: anthropic\n"
    )
    monkeypatch.setenv("AGENTLEDGER_ATTRIBUTE_MAPPING", str(mapping))
    drop(settings, "otlp_anthropic_usage.jsonl")
    ingest_window(settings, None, None)
    s = spans(settings)
    # The profile applies to every matching span, including one the inequality could not prove.
    assert s["a000000000000002"]["input_tokens"] == 11200
    assert s["a000000000000001"]["input_tokens"] == 5300
    # The openai span of the same scope does not match the profile: still quarantined.
    assert "a000000000000004" not in s


def test_mapping_file_overrides_the_workspace_attribute(settings, tmp_path, monkeypatch):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"fields": {"workspace_id": ["service.name"], "department": "team"}}))
    monkeypatch.setenv("AGENTLEDGER_ATTRIBUTE_MAPPING", str(mapping))
    drop(settings, "otlp_current.jsonl")
    ingest_window(settings, None, None)
    assert query(settings, "select distinct workspace_id, department from raw.trace_spans") == [("support-api", None)]


def test_mapping_file_rejects_content_attributes(tmp_path, monkeypatch):
    from orchestration.ingest.options import load_attribute_mapping

    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"fields": {"department": ["gen_ai.input.messages"]}}))
    with pytest.raises(ValueError, match="content attributes"):
        load_attribute_mapping(mapping)
    mapping.write_text(json.dumps({"fields": {"price": ["x"]}}))
    with pytest.raises(ValueError, match="field 'price' cannot be mapped"):
        load_attribute_mapping(mapping)


def test_unreadable_lines_are_quarantined_and_spans_keep_their_ordinals(settings):
    """Each line is parsed once (try(json_transform)); only failing lines are validated again for the reason.

    Two text files in one run are staged concurrently: each keeps its own line numbers and counts.
    """
    lines = (FIXTURES / "otlp_current.jsonl").read_text().splitlines()
    target = settings.landing_dir / "collector" / "mixed.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text("\n".join([lines[0], '{"resourceSpans": [ broken', "[1, 2]", *lines[1:]]) + "\n")
    drop(settings, "canonical_mixed.jsonl")
    spans_in_fixture = sum(
        len(ss["spans"]) for line in lines for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"]
    )
    ingest_window(settings, None, None)
    per_file = {
        f: (read, loaded, quarantined, dups)
        for f, read, loaded, quarantined, dups in query(
            settings,
            "select source_file, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(duplicates_skipped) "
            "from raw.ingestion_ledger group by all",
        )
    }
    assert per_file["collector/mixed.jsonl"] == (spans_in_fixture + 2, spans_in_fixture, 2, 0)
    assert per_file["canonical_mixed.jsonl"] == (9, 3, 5, 1)
    bad = query(
        settings,
        "select source_row, source_line, rule, message from raw.quarantine "
        "where source_file = 'collector/mixed.jsonl' order by source_line",
    )
    assert [b[:3] for b in bad] == [(None, 2, "malformed_record"), (None, 3, "malformed_record")]
    assert "line is not valid JSON" in bad[0][3] and "line is not a JSON object" in bad[1][3]
    rows = query(
        settings,
        "select _source_row from raw.trace_spans where _source_file = 'collector/mixed.jsonl' order by _source_row",
    )
    assert [r[0] for r in rows] == list(range(1, spans_in_fixture + 1))
