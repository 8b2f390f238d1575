"""The canonical trace record: one row per span.

This is the single definition shared by the synthetic generator, the file
loaders and the raw table. Field names and meanings follow the OpenTelemetry
GenAI semantic conventions where they exist (docs/trace-schema.md renders this
module as a table; keep the two in step).

Token semantics are the OpenTelemetry ones, and they matter for cost:
`input_tokens` INCLUDES `cache_read_tokens` and `cache_write_tokens`;
`output_tokens` INCLUDES `reasoning_tokens`. Pricing subtracts, never adds.
"""

from __future__ import annotations

from dataclasses import dataclass

# gen_ai.operation.name values. Model operations carry token usage.
MODEL_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
AGENT_OPERATIONS = ("invoke_agent", "create_agent", "execute_tool")
OPERATIONS = MODEL_OPERATIONS + AGENT_OPERATIONS
# Model operations that generate output: an embeddings call has input tokens
# only, and a missing output count means 0 for it.
GENERATING_OPERATIONS = ("chat", "text_completion", "generate_content")

# Which fields each model operation requires of a successful call, following
# the semantic conventions: the model and its provider (a call is priced by
# them) and its usage; an embeddings call has no output. A failed call (HTTP
# 4xx/5xx, error.type set) usually reports no usage, sometimes not even its
# model, and is still a call, counted in every error rate: it requires
# nothing beyond the base fields. A span without an operation is an
# application span (an HTTP handler, a step of a framework): kept for the
# trace tree and its attribution, never a call.
OPERATION_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    op: ("provider", "request_model", "input_tokens") + (("output_tokens",) if op in GENERATING_OPERATIONS else ())
    for op in MODEL_OPERATIONS
}

# gen_ai.provider.name well-known values. Other providers are accepted (the
# set is open in the conventions); these are the ones the pricing knows how
# to map to the catalog.
KNOWN_PROVIDERS = (
    "openai",
    "anthropic",
    "gcp.gemini",
    "gcp.vertex_ai",
    "aws.bedrock",
    "azure.ai.openai",
    "mistral_ai",
    "deepseek",
    "x_ai",
    "groq",
    "cohere",
    "perplexity",
    "ibm.watsonx.ai",
)
SERVICE_TIERS = ("default", "batch", "priority", "flex")
STATUSES = ("ok", "error")


@dataclass(frozen=True)
class Field:
    name: str
    duckdb_type: str
    required: bool
    description: str
    otel: str = ""


TRACE_FIELDS: tuple[Field, ...] = (
    # ids
    Field("span_id", "VARCHAR", True, "Unique id of the span; the primary key of the raw layer.", "span id"),
    Field("trace_id", "VARCHAR", True, "Id of the trace (one agent invocation and its children).", "trace id"),
    Field("parent_span_id", "VARCHAR", False, "Parent span id; null for the root span of a trace.", "parent span id"),
    # time
    Field("started_at", "TIMESTAMP", True, "Span start, UTC, microsecond precision.", "startTimeUnixNano"),
    Field(
        "duration_ms", "DOUBLE", True, "Span duration in milliseconds (>= 0).", "endTimeUnixNano - startTimeUnixNano"
    ),
    Field(
        "time_to_first_token_ms",
        "DOUBLE",
        False,
        "Time to first streamed token, milliseconds; null when not streamed.",
        "gen_ai.server.time_to_first_token",
    ),
    # what
    Field(
        "operation",
        "VARCHAR",
        False,
        "Operation kind: "
        + ", ".join(OPERATIONS)
        + "; null for an application span that is no GenAI operation (kept for the trace tree).",
        "gen_ai.operation.name",
    ),
    Field(
        "provider",
        "VARCHAR",
        False,
        "Model provider (e.g. openai, anthropic, gcp.gemini); required for model operations.",
        "gen_ai.provider.name",
    ),
    Field(
        "request_model",
        "VARCHAR",
        False,
        "Model name the caller asked for; required for model operations.",
        "gen_ai.request.model",
    ),
    Field(
        "response_model",
        "VARCHAR",
        False,
        "Model name the provider reports having used (often a dated snapshot).",
        "gen_ai.response.model",
    ),
    Field(
        "service_tier",
        "VARCHAR",
        False,
        "Service tier: " + ", ".join(SERVICE_TIERS) + "; null means default.",
        "openai.request.service_tier",
    ),
    Field("tool_name", "VARCHAR", False, "Tool executed, for execute_tool spans.", "gen_ai.tool.name"),
    # who
    Field(
        "workspace_id",
        "VARCHAR",
        True,
        "Workspace (tenant, team account) the span belongs to.",
        "resource: service.namespace",
    ),
    Field("department", "VARCHAR", False, "Department owning the agent; may be filled from the org-mapping seed.", ""),
    Field("agent_id", "VARCHAR", False, "Stable agent identifier.", "gen_ai.agent.id"),
    Field("agent_name", "VARCHAR", False, "Human-readable agent name.", "gen_ai.agent.name"),
    Field(
        "user_id",
        "VARCHAR",
        False,
        "End user; stored as a salted SHA-256 hash, never in clear.",
        "user.id / enduser.id",
    ),
    Field("conversation_id", "VARCHAR", False, "Conversation or session id.", "gen_ai.conversation.id"),
    Field(
        "environment",
        "VARCHAR",
        False,
        "Deployment environment (production, staging, ...).",
        "resource: deployment.environment.name",
    ),
    Field("tags", "VARCHAR", False, "Free-form tags as a JSON object of strings.", ""),
    # outcome
    Field("status", "VARCHAR", True, "Outcome: ok or error.", "span status code"),
    Field(
        "error_type",
        "VARCHAR",
        False,
        "Error class when status is error (e.g. rate_limit, timeout, 500).",
        "error.type",
    ),
    # usage (OpenTelemetry meaning)
    Field(
        "input_tokens",
        "BIGINT",
        False,
        "Input tokens INCLUDING cache reads and cache writes; required for successful model operations, null for a failed call that reported no usage.",
        "gen_ai.usage.input_tokens",
    ),
    Field(
        "output_tokens",
        "BIGINT",
        False,
        "Output tokens INCLUDING reasoning tokens; required for successful chat, text_completion and generate_content calls; a missing count is 0 for embeddings.",
        "gen_ai.usage.output_tokens",
    ),
    Field(
        "cache_read_tokens",
        "BIGINT",
        False,
        "Input tokens served from the provider's prompt cache (subset of input_tokens); null when the source does not report them (unknown, not 0).",
        "gen_ai.usage.cache_read.input_tokens",
    ),
    Field(
        "cache_write_tokens",
        "BIGINT",
        False,
        "Input tokens written to the prompt cache (subset of input_tokens); null when the source does not report them.",
        "gen_ai.usage.cache_creation.input_tokens",
    ),
    Field(
        "reasoning_tokens",
        "BIGINT",
        False,
        "Reasoning output tokens (subset of output_tokens); null when the source does not report them.",
        "gen_ai.usage.reasoning.output_tokens",
    ),
    Field(
        "reported_cost_usd",
        "DOUBLE",
        False,
        "Cost the source itself recorded, USD; kept for comparison, never used for pricing.",
        "",
    ),
    # provenance
    Field(
        "instrumentation_scope",
        "VARCHAR",
        False,
        "Instrumentation library that wrote the span (the OTLP scope name, e.g. opentelemetry.instrumentation.openai_v2); null for canonical files unless given.",
        "instrumentation scope name",
    ),
)

TRACE_COLUMNS: tuple[str, ...] = tuple(f.name for f in TRACE_FIELDS)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in TRACE_FIELDS if f.required)
TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")

# Lineage columns the loader adds to every raw row.
LINEAGE_FIELDS: tuple[Field, ...] = (
    Field("_source_file", "VARCHAR", True, "Landing-relative path of the file the row came from."),
    Field("_source_row", "BIGINT", True, "1-based row (line, or span ordinal for OTLP) within that file."),
    Field("_source_format", "VARCHAR", True, "parquet, jsonl, csv, otlp_jsonl, otlp_json or otlp_proto."),
    Field("_loaded_at", "TIMESTAMP", True, "When the loader wrote the row, UTC."),
)

RAW_SCHEMA = "raw"
RAW_SPANS_TABLE = "raw.trace_spans"


def duckdb_columns() -> dict[str, str]:
    """Column name -> DuckDB type, in contract order (for read_json/read_csv `columns=`)."""
    return {f.name: f.duckdb_type for f in TRACE_FIELDS}


def raw_table_ddl(table: str = RAW_SPANS_TABLE) -> str:
    """CREATE TABLE statement for the raw span table: the contract plus lineage."""
    cols = ",\n    ".join(f"{f.name} {f.duckdb_type}" for f in TRACE_FIELDS + LINEAGE_FIELDS)
    return f"create table if not exists {table} (\n    {cols}\n)"
