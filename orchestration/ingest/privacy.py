"""What counts as prompt or completion content, and how user ids are hashed.

Content never reaches the warehouse: OTLP span events are not parsed, content
attributes are never selected, canonical files' extra columns are ignored and
content keys are removed from `tags`. User ids are hashed in SQL as

    user_id = lower_hex(sha256(utf8(salt || clear_user_id)))

with the salt from AGENTLEDGER_USER_ID_SALT (no separator between the two).
"""

from __future__ import annotations

import hashlib

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
)


def is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def content_key_sql(expr: str) -> str:
    """SQL predicate: `expr` (a key) names content."""
    prefixes = " or ".join(f"starts_with({expr}, {lit(p)})" for p in CONTENT_PREFIXES)
    return f"({expr} in {in_list(CONTENT_KEYS)} or {prefixes})"


def hash_user_id_sql(expr: str, salt: str) -> str:
    return f"sha256({lit(salt)} || {expr})"


def hash_user_id(user_id: str, salt: str) -> str:
    """The same hash in Python, for documentation and tests."""
    return hashlib.sha256((salt + user_id).encode("utf-8")).hexdigest()


def strip_content_from_tags_sql(expr: str) -> str:
    """`tags` (a JSON object of strings) without content keys; null if not an object.

    The JSON is only taken apart when the text mentions a content key at all,
    which keeps the common case (no content) at string-search cost.
    """
    parsed = f"try_cast(({expr})::JSON as MAP(VARCHAR, JSON))"
    kept = f"list_filter(map_entries({parsed}), lambda e: not {content_key_sql('e.key')})"
    mentions = " or ".join(f"contains({expr}, {lit(k)})" for k in CONTENT_KEYS + CONTENT_PREFIXES)
    return (
        f"case when {expr} is null or not json_valid({expr}) or not ltrim({expr}) like '{{%' then null "
        f"when not ({mentions}) then {expr} "
        f"else to_json(map_from_entries({kept}))::VARCHAR end"
    )
