"""What real instrumentation libraries write: their conventions, failed calls,
embeddings, application spans, and OTLP spellings other than the Collector's."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from orchestration.ingest import ingest_window

from ingest_support import make_settings, query

TRACE = "0af7651916cd43dd8448eb211c80319c"
START_NS = 1772359200_000000000  # 2026-03-01 10:00:00 UTC


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def _value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def span(span_id: str, attrs: dict, *, parent: str | None = None, offset_ms: int = 0, status: int = 1) -> dict:
    start = START_NS + offset_ms * 1_000_000
    out = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "span",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 500_000_000),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
        "status": {"code": status},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def request(spans: list[dict], scope: str = "test.instrumentation", service: str = "svc") -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": scope, "version": "1"}, "spans": spans}],
            }
        ]
    }


def land(settings, name: str, lines: list[dict | str]) -> None:
    path = settings.landing_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))


def loaded(settings) -> dict[str, dict]:
    cols = [r[0] for r in query(settings, "select column_name from (describe raw.trace_spans)")]
    return {r[0]: dict(zip(cols, r)) for r in query(settings, "select * from raw.trace_spans")}


def quarantined(settings) -> list[tuple]:
    return query(settings, "select source_row, source_line, rule, field, message from raw.quarantine order by all")


def test_failed_calls_and_embeddings_load_as_calls(settings):
    land(
        settings,
        "calls.json",
        [
            request(
                [
                    # a 429 with no usage, as openai-v2 writes it: error.type and an ERROR status
                    span(
                        "1000000000000001",
                        {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.provider.name": "openai",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "error.type": "RateLimitError",
                        },
                        status=2,
                    ),
                    # an ERROR status alone (OpenInference records the exception as an event)
                    span(
                        "1000000000000002",
                        {
                            "openinference.span.kind": "LLM",
                            "llm.provider": "openai",
                            "llm.invocation_parameters": '{"model": "gpt-4o", "temperature": 0}',
                        },
                        status=2,
                    ),
                    # embeddings report input tokens only
                    span(
                        "1000000000000003",
                        {
                            "gen_ai.operation.name": "embeddings",
                            "gen_ai.provider.name": "openai",
                            "gen_ai.request.model": "text-embedding-3-small",
                            "gen_ai.usage.input_tokens": 12,
                        },
                    ),
                    # a successful chat without usage is still broken
                    span(
                        "1000000000000004",
                        {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.provider.name": "openai",
                            "gen_ai.request.model": "gpt-4o-mini",
                        },
                    ),
                ]
            )
        ],
    )
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (4, 3, 1)
    s = loaded(settings)
    rate_limited = s["1000000000000001"]
    assert (
        rate_limited["status"],
        rate_limited["error_type"],
        rate_limited["input_tokens"],
        rate_limited["output_tokens"],
    ) == (
        "error",
        "RateLimitError",
        None,
        None,
    )
    oi_error = s["1000000000000002"]
    assert (oi_error["operation"], oi_error["status"], oi_error["request_model"], oi_error["provider"]) == (
        "chat",
        "error",
        "gpt-4o",
        "openai",
    )
    embedding = s["1000000000000003"]
    assert (embedding["input_tokens"], embedding["output_tokens"]) == (12, 0)
    [(row, _, rule, field, _)] = quarantined(settings)
    assert (row, rule, field) == (4, "required_for_model_operation_input_tokens", "input_tokens")


def test_application_spans_load_without_an_operation(settings):
    land(
        settings,
        "app.json",
        [
            request(
                [
                    span("2000000000000001", {"http.request.method": "POST", "url.path": "/ask"}),
                    span(
                        "2000000000000002",
                        {"gen_ai.operation.name": "some_future_operation"},
                        parent="2000000000000001",
                    ),
                    # usage without any operation cannot be told a call or not
                    span("2000000000000003", {"gen_ai.usage.input_tokens": 5}, parent="2000000000000001"),
                ]
            )
        ],
    )
    summary = ingest_window(settings, None, None)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 1)
    s = loaded(settings)
    assert s["2000000000000001"]["operation"] is None and s["2000000000000002"]["operation"] is None
    assert quarantined(settings)[0][2] == "required_operation_with_usage"


def test_openllmetry_openinference_openlit_and_logfire_keys(settings):
    land(
        settings,
        "libs.json",
        [
            request(
                [
                    span(
                        "3000000000000001",
                        {
                            "gen_ai.system": "openai",
                            "llm.request.type": "chat",
                            "gen_ai.request.model": "gpt-4o",
                            "gen_ai.response.model": "gpt-4o-2024-08-06",
                            "gen_ai.usage.prompt_tokens": 100,
                            "gen_ai.usage.completion_tokens": 20,
                            "gen_ai.usage.cache_read_input_tokens": 60,
                            "llm.usage.total_tokens": 120,
                            "gen_ai.prompt.0.content": "PLANTED-CONTENT-1",
                        },
                    )
                ],
                scope="opentelemetry.instrumentation.openai.v1",
            ),
            request(
                [
                    span(
                        "3000000000000002",
                        {
                            "openinference.span.kind": "LLM",
                            "llm.model_name": "o3-mini-2025-01-31",
                            "llm.provider": "openai",
                            "llm.system": "openai",
                            "llm.invocation_parameters": '{"model": "o3-mini"}',
                            "llm.token_count.prompt": 200,
                            "llm.token_count.completion": 80,
                            "llm.token_count.prompt_details.cache_read": 128,
                            "llm.token_count.completion_details.reasoning": 64,
                            "llm.input_messages.0.message.content": "PLANTED-CONTENT-2",
                            "input.value": "PLANTED-CONTENT-3",
                        },
                    ),
                    span(
                        "3000000000000003",
                        {
                            "openinference.span.kind": "EMBEDDING",
                            "embedding.model_name": "text-embedding-3-small",
                            "llm.provider": "openai",
                            "llm.token_count.prompt": 9,
                        },
                    ),
                    span(
                        "3000000000000004",
                        {
                            "openinference.span.kind": "AGENT",
                            "agent.name": "planner",
                            "session.id": "sess-1",
                        },
                    ),
                ],
                scope="openinference.instrumentation.openai",
            ),
            request(
                [
                    span(
                        "3000000000000005",
                        {
                            "gen_ai.system": "anthropic",
                            "gen_ai.operation.name": "chat",
                            "gen_ai.request.model": "claude-sonnet-4-5",
                            "gen_ai.usage.input_tokens": 10,
                            "gen_ai.usage.output_tokens": 5,
                            "gen_ai.usage.cache_read_input_tokens": 1000,
                            "gen_ai.usage.cache_creation_input_tokens": 200,
                            "gen_ai.usage.cost": 0.0123,
                            "gen_ai.content.prompt": "PLANTED-CONTENT-4",
                        },
                    )
                ],
                scope="openlit.otel.tracing",
            ),
            request(
                [
                    span(
                        "3000000000000006",
                        {
                            "gen_ai.system": "openai",
                            "gen_ai.operation.name": "chat",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.usage.input_tokens": 30,
                            "gen_ai.usage.output_tokens": 3,
                            "operation.cost": 0.00001,
                            "request_data": '{"messages": [{"content": "PLANTED-CONTENT-5"}]}',
                        },
                    )
                ],
                scope="logfire.openai",
            ),
        ],
    )
    summary = ingest_window(settings, None, None)
    assert (summary.rows_loaded, summary.rows_quarantined) == (6, 0)
    s = loaded(settings)
    openllmetry = s["3000000000000001"]
    assert (openllmetry["operation"], openllmetry["provider"], openllmetry["request_model"]) == (
        "chat",
        "openai",
        "gpt-4o",
    )
    assert (openllmetry["input_tokens"], openllmetry["output_tokens"], openllmetry["cache_read_tokens"]) == (
        100,
        20,
        60,
    )
    assert openllmetry["reasoning_tokens"] is None  # not reported: unknown, not 0
    assert openllmetry["instrumentation_scope"] == "opentelemetry.instrumentation.openai.v1"
    oi = s["3000000000000002"]
    assert (oi["operation"], oi["provider"], oi["request_model"], oi["response_model"]) == (
        "chat",
        "openai",
        "o3-mini",
        "o3-mini-2025-01-31",
    )
    assert (oi["input_tokens"], oi["output_tokens"], oi["cache_read_tokens"], oi["reasoning_tokens"]) == (
        200,
        80,
        128,
        64,
    )
    oi_embedding = s["3000000000000003"]
    assert (oi_embedding["operation"], oi_embedding["request_model"], oi_embedding["output_tokens"]) == (
        "embeddings",
        "text-embedding-3-small",
        0,
    )
    oi_agent = s["3000000000000004"]
    assert (oi_agent["operation"], oi_agent["agent_name"], oi_agent["conversation_id"]) == (
        "invoke_agent",
        "planner",
        "sess-1",
    )
    openlit = s["3000000000000005"]
    # Anthropic counts input without the cache: 10 + 1000 + 200 in the contract's meaning
    assert (openlit["input_tokens"], openlit["cache_read_tokens"], openlit["cache_write_tokens"]) == (1210, 1000, 200)
    assert openlit["reported_cost_usd"] == pytest.approx(0.0123)
    assert s["3000000000000006"]["reported_cost_usd"] == pytest.approx(0.00001)
    every_value = json.dumps(query(settings, "select * from raw.trace_spans"), default=str)
    assert "PLANTED-CONTENT" not in every_value


def test_snake_case_legacy_scope_key_and_base64_ids(settings):
    land(
        settings,
        "snake.json",
        [
            {
                "resource_spans": [
                    {
                        "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "svc"}}]},
                        "scope_spans": [
                            {
                                "scope": {"name": "converter"},
                                "spans": [
                                    {
                                        "trace_id": "AAECAwQFBgcICQoLDA0ODw==",
                                        "span_id": "AAECAwQFBgc=",
                                        "start_time_unix_nano": str(START_NS),
                                        "end_time_unix_nano": str(START_NS + 10**9),
                                        "attributes": [
                                            {"key": "gen_ai.operation.name", "value": {"string_value": "execute_tool"}},
                                            {"key": "gen_ai.tool.name", "value": {"string_value": "search"}},
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ]
            },
            {
                "resourceSpans": [
                    {
                        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                        "instrumentationLibrarySpans": [
                            {"instrumentationLibrary": {"name": "old-sdk"}, "spans": [span("4000000000000001", {})]}
                        ],
                    }
                ]
            },
        ],
    )
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (2, 2, 0)
    s = loaded(settings)
    converted = s["0001020304050607"]
    assert converted["trace_id"] == "000102030405060708090a0b0c0d0e0f"
    assert (converted["operation"], converted["tool_name"], converted["duration_ms"]) == (
        "execute_tool",
        "search",
        1000.0,
    )
    assert converted["started_at"] == datetime(2026, 3, 1, 10, 0)
    assert s["4000000000000001"]["instrumentation_scope"] == "old-sdk"


@pytest.mark.parametrize("bad_start", ["", "-1", "yesterday", "1.5e18", "99999999999999999999999"])
def test_a_bad_timestamp_quarantines_its_span_not_the_file(settings, bad_start):
    bad = span("5000000000000002", {})
    bad["startTimeUnixNano"] = bad_start
    land(settings, "times.json", [request([span("5000000000000001", {}), bad, span("5000000000000003", {})])])
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 2, 1)
    [(row, _, rule, field, _)] = quarantined(settings)
    assert (row, rule, field) == (2, "required_started_at", "started_at")


def test_levels_that_are_not_arrays_are_quarantined_with_a_reason(settings):
    good = request([span("6000000000000001", {})])
    land(
        settings,
        "shapes.json",
        [
            good,
            {"resourceSpans": {"resource": {}, "scopeSpans": []}},
            {"resourceSpans": [{"resource": {}, "scopeSpans": {"spans": []}}]},
            {
                "resourceSpans": [
                    {"resource": {}, "scopeSpans": [{"scope": {"name": "x"}, "spans": {"traceId": TRACE}}]}
                ]
            },
            {"something": "else"},
        ],
    )
    summary = ingest_window(settings, None, None)
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 4)
    reasons = [(line, rule, message.split(": ", 2)[-1]) for _, line, rule, _, message in quarantined(settings)]
    assert reasons == [
        (2, "malformed_record", "line holds no resourceSpans array; expected one readable record per line"),
        (
            3,
            "malformed_record",
            "a resourceSpans entry holds no scopeSpans array; expected one readable record per line",
        ),
        (4, "malformed_record", "a scopeSpans entry holds no spans array; expected one readable record per line"),
        (5, "malformed_record", "line holds no resourceSpans array; expected one readable record per line"),
    ]


def test_vercel_ai_sdk_and_openllmetry_framework_spans(settings):
    land(
        settings,
        "frameworks.json",
        [
            request(
                [
                    # the AI SDK: the outer span sums usage in ai.usage.*, the inner doGenerate is the call
                    span(
                        "7000000000000001",
                        {
                            "ai.operationId": "ai.generateText",
                            "ai.model.id": "gpt-4o-mini",
                            "ai.model.provider": "openai.chat",
                            "ai.usage.promptTokens": 40,
                            "ai.usage.completionTokens": 9,
                        },
                    ),
                    span(
                        "7000000000000002",
                        {
                            "ai.operationId": "ai.generateText.doGenerate",
                            "ai.model.id": "gpt-4o-mini",
                            "ai.model.provider": "openai.chat",
                            "gen_ai.system": "openai.chat",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.usage.input_tokens": 40,
                            "gen_ai.usage.output_tokens": 9,
                            "ai.prompt.messages": "PLANTED-CONTENT-6",
                        },
                        parent="7000000000000001",
                    ),
                    span(
                        "7000000000000003",
                        {
                            "ai.operationId": "ai.embedMany.doEmbed",
                            "ai.model.id": "text-embedding-3-small",
                            "ai.model.provider": "openai.embedding",
                            "ai.usage.tokens": 21,
                        },
                        parent="7000000000000001",
                    ),
                    span(
                        "7000000000000004",
                        {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "weather"},
                        parent="7000000000000001",
                    ),
                ],
                scope="ai",
            ),
            request(
                [
                    span("7000000000000005", {"traceloop.span.kind": "agent", "traceloop.entity.name": "researcher"}),
                    span(
                        "7000000000000006",
                        {"traceloop.span.kind": "tool", "traceloop.entity.name": "search"},
                        parent="7000000000000005",
                    ),
                    span(
                        "7000000000000007",
                        {"traceloop.span.kind": "task", "traceloop.entity.name": "summarise"},
                        parent="7000000000000005",
                    ),
                ],
                scope="opentelemetry.instrumentation.langchain",
            ),
        ],
    )
    summary = ingest_window(settings, None, None)
    assert (summary.rows_loaded, summary.rows_quarantined) == (7, 0)
    s = loaded(settings)
    assert s["7000000000000001"]["operation"] is None
    call = s["7000000000000002"]
    assert (
        call["operation"],
        call["provider"],
        call["request_model"],
        call["input_tokens"],
        call["output_tokens"],
    ) == (
        "chat",
        "openai",
        "gpt-4o-mini",
        40,
        9,
    )
    embed = s["7000000000000003"]
    assert (
        embed["operation"],
        embed["provider"],
        embed["request_model"],
        embed["input_tokens"],
        embed["output_tokens"],
    ) == (
        "embeddings",
        "openai",
        "text-embedding-3-small",
        21,
        0,
    )
    assert (s["7000000000000004"]["operation"], s["7000000000000004"]["tool_name"]) == ("execute_tool", "weather")
    agent = s["7000000000000005"]
    assert (agent["operation"], agent["agent_name"]) == ("invoke_agent", "researcher")
    assert (s["7000000000000006"]["operation"], s["7000000000000006"]["tool_name"]) == ("execute_tool", "search")
    assert s["7000000000000007"]["operation"] is None and s["7000000000000007"]["agent_name"] is None
