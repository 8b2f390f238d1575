"""What counts as prompt or completion content, and how user ids are hashed.

Content never reaches the warehouse: OTLP span events are not parsed, content
attributes are never selected, canonical files' extra columns are ignored and
content keys are removed from `tags` (compared case-insensitively, after JSON
unescaping, at every nesting depth). Quarantine messages quote a value only
for numeric, time and id fields (`quotable_value_sql`), never other text.
User ids are hashed in SQL as

    user_id = lower_hex(sha256(utf8(salt || clear_user_id)))

with the salt from AGENTLEDGER_USER_ID_SALT (no separator between the two).
"""

from __future__ import annotations

import hashlib
import re

from orchestration.ingest.sql_text import in_list, lit

# The one content deny-list: attribute keys (exact, or by prefix) holding
# prompts, completions, instructions, tool payloads, documents or embeddings,
# as the OpenTelemetry GenAI conventions (current and deprecated) and the
# instrumentation libraries name them. docs/ingestion.md renders it.
CONTENT_KEYS = (
    # OpenTelemetry GenAI conventions
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.tool.definitions",
    # OpenInference
    "input.value",
    "output.value",
    # Pydantic Logfire
    "request_data",
    "response_data",
    "events",
    # OpenLLMetry decorators
    "traceloop.entity.input",
    "traceloop.entity.output",
)
CONTENT_PREFIXES = (
    # OpenTelemetry GenAI, deprecated indexed attributes and event-style keys
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.content.",
    # OpenLLMetry
    "llm.prompts",
    "llm.completions",
    "llm.request.functions",
    # OpenInference
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompt_template",
    "llm.tools",
    "message.",
    "tool_call.",
    "embedding.embeddings",
    "retrieval.documents",
    "reranker.",
    "document.",
    # Vercel AI SDK
    "ai.prompt",
    "ai.response.text",
    "ai.response.object",
    "ai.response.toolCalls",
    "ai.response.reasoning",
    "ai.toolCall.args",
    "ai.toolCall.result",
    "ai.value",
    "ai.embedding",
)


def is_content_key(key: str) -> bool:
    """Keys are compared trimmed and case-insensitively (`GEN_AI.PROMPT` is content)."""
    key = key.strip().lower()
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def content_key_sql(expr: str) -> str:
    """SQL predicate: `expr` (a key, already unescaped) names content; trimmed, case-insensitive."""
    key = f"lower(trim({expr}))"
    prefixes = " or ".join(f"starts_with({key}, {lit(p)})" for p in CONTENT_PREFIXES)
    return f"({key} in {in_list(CONTENT_KEYS)} or {prefixes})"


def _mentions_content_pattern() -> str:
    """RE2 pattern (case-insensitive) matching text that mentions any content key or prefix."""
    return "(?i)(?:" + "|".join(re.escape(k) for k in CONTENT_KEYS + CONTENT_PREFIXES) + ")"


def mentions_content_sql(expr: str) -> str:
    """SQL predicate: the text `expr` mentions a content key anywhere (any case)."""
    return f"regexp_matches({expr}, {lit(_mentions_content_pattern())})"


# Quarantine messages quote what a row held only for these fields (values
# of other text fields could be anything, including prompt text).
NUMERIC_FIELDS = (
    "duration_ms",
    "time_to_first_token_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "reported_cost_usd",
)
TIME_FIELDS = ("started_at",)
ID_FIELDS = ("span_id", "trace_id", "parent_span_id", "workspace_id", "agent_id", "conversation_id", "user_id")
QUOTE_ID_CHARS = 64
_NUMBER_TEXT = r"[-+]?(?:[0-9][0-9_.,eE+-]{0,39}|0[xXbBoO][0-9a-fA-F_]{1,32}|(?i:nan|inf|infinity))"
_TIME_TEXT = r"[0-9TtZz:+\-. /]{1,40}"


def quotable_value_sql(field_expr: str, got_expr: str) -> str:
    """What a quarantine message may show of a failing value: numbers and times
    only if they look like one (a text in a count column is not shown), ids
    truncated to QUOTE_ID_CHARS, anything else not at all."""
    return (
        f"case when {got_expr} is null or {got_expr} = 'null' then 'null' "
        f"when {field_expr} in {in_list(NUMERIC_FIELDS)} and (regexp_full_match({got_expr}, {lit(_NUMBER_TEXT)}) "
        f"or starts_with({got_expr}, 'cache_read_tokens + ') or starts_with({got_expr}, 'reasoning_tokens = ')) "
        f"then left({got_expr}, 120) "
        f"when {field_expr} in {in_list(TIME_FIELDS)} and regexp_full_match({got_expr}, {lit(_TIME_TEXT)}) then {got_expr} "
        f"when {field_expr} in {in_list(ID_FIELDS)} then left({got_expr}, {QUOTE_ID_CHARS}) "
        f"else '(value not shown)' end"
    )


def hash_user_id_sql(expr: str, salt: str) -> str:
    return f"sha256({lit(salt)} || {expr})"


def hash_user_id(user_id: str, salt: str) -> str:
    """The same hash in Python, for documentation and tests."""
    return hashlib.sha256((salt + user_id).encode("utf-8")).hexdigest()


def strip_content_from_tags_sql(expr: str) -> str:
    """`tags` (a JSON object) without content; null if not an object.

    Rule: a top-level entry is removed when its key, unescaped, trimmed and
    lower-cased, is a content key or starts with a content prefix; an entry
    whose value is an object or array is removed when that value mentions a
    content key anywhere (any depth, any case, escapes resolved). A key
    repeated in the object keeps its first occurrence (the value DuckDB's
    JSON functions return for it) when the object is rewritten.

    The JSON is only taken apart when the text mentions a content key in any
    case or holds a backslash (an escape could spell one); otherwise the text
    is kept as written. Every content key holds a dot, so text with neither a
    dot nor a backslash (the common case) costs two string searches and skips
    the case-insensitive regular expression.
    """
    keys = f"json_keys({expr})"
    entries = f"list_zip({keys}, json_extract({expr}, '$.*'))"
    nested_mentions = mentions_content_sql("json(e[2])::VARCHAR")
    kept = (
        f"list_filter({entries}, lambda e, i: list_position({keys}, e[1]) = i and not {content_key_sql('e[1]')} "
        f"and not (json_type(e[2]) in ('OBJECT', 'ARRAY') and {nested_mentions}))"
    )
    rebuilt = f"to_json(map_from_entries(list_transform({kept}, lambda e: {{'key': e[1], 'value': e[2]}})))::VARCHAR"
    return (
        f"case when {expr} is null or not json_valid({expr}) or not ltrim({expr}) like '{{%' then null "
        f"when not (contains({expr}, '\\') or (contains({expr}, '.') and {mentions_content_sql(expr)})) then {expr} "
        f"else {rebuilt} end"
    )
