"""OTLP JSON (OpenTelemetry Collector file exporter) to contract columns, in SQL.

Each line of an `otlp_jsonl` file is one ExportTraceServiceRequest
(resourceSpans -> scopeSpans -> spans); an `otlp_json` file holds a single
such document, possibly pretty-printed. DuckDB parses each request into a
typed struct (span events and unknown fields are never materialised), unnests
it to one row per span and pivots only the attributes the contract needs, so
prompt and completion content is never read into a column.

Lines are read with DuckDB's CSV reader in one-column mode instead of
read_json: a malformed line must become one quarantined record rather than
fail the file, and on these large nested objects the line reader plus
json_transform measured about ten times faster than read_json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.contract import OPERATIONS
from orchestration.ingest.options import AttributeMapping, SourceProfile
from orchestration.ingest.sql_text import ident, in_list, lit

# Attribute keys per column, first match wins: the current GenAI semantic
# conventions, their deprecated names, then the other conventions real
# instrumentation libraries write (docs/ingestion.md lists which library
# writes which):
# - OpenLLMetry (Traceloop): llm.request.type, llm.usage.*, gen_ai.usage.*_tokens;
# - OpenInference (Arize): llm.model_name, llm.provider / llm.system,
#   llm.token_count.*, embedding.model_name, openinference.span.kind;
# - OpenLIT: gen_ai.usage.cost; Pydantic Logfire: operation.cost.
INPUT_TOKENS_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens",
    "llm.token_count.prompt",
)
OUTPUT_TOKENS_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens",
    "llm.token_count.completion",
)
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
REASONING_KEYS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
PROVIDER_KEYS = ("gen_ai.provider.name",)
DEPRECATED_PROVIDER_KEYS = ("gen_ai.system", "llm.provider", "llm.system", "ai.model.provider")
SERVICE_TIER_KEYS = (
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
    "openai.request.service_tier",
    "gen_ai.openai.request.service_tier",
)
TTFT_SECONDS_KEYS = ("gen_ai.server.time_to_first_token",)
OPERATION_KEYS = ("gen_ai.operation.name",)
# Libraries that name the operation their own way: OpenLLMetry's request
# type and OpenInference's span kind, mapped to gen_ai.operation.name values.
LLM_REQUEST_TYPE_KEY = "llm.request.type"
LLM_REQUEST_TYPES = {
    "chat": "chat",
    "completion": "text_completion",
    "embedding": "embeddings",
    "embeddings": "embeddings",
}
OPENINFERENCE_KIND_KEY = "openinference.span.kind"
OPENINFERENCE_KINDS = {"llm": "chat", "embedding": "embeddings", "tool": "execute_tool", "agent": "invoke_agent"}
# The Vercel AI SDK names the provider call by ai.operationId: the inner
# doGenerate / doStream / doEmbed spans are the calls (they carry the
# gen_ai.* usage); the outer ai.generateText etc. only sum them up and stay
# application spans. OpenLLMetry's framework instrumentations mark agents and
# tools with traceloop.span.kind and name them in traceloop.entity.name.
AI_SDK_OPERATION_KEY = "ai.operationId"
AI_SDK_OPERATIONS = {
    "ai.generatetext.dogenerate": "chat",
    "ai.streamtext.dostream": "chat",
    "ai.generateobject.dogenerate": "chat",
    "ai.streamobject.dostream": "chat",
    "ai.embed.doembed": "embeddings",
    "ai.embedmany.doembed": "embeddings",
    "ai.toolcall": "execute_tool",
}
AI_SDK_EMBEDDING_TOKENS_KEY = "ai.usage.tokens"
TRACELOOP_KIND_KEY = "traceloop.span.kind"
TRACELOOP_KINDS = {"agent": "invoke_agent", "tool": "execute_tool"}
TRACELOOP_ENTITY_NAME_KEY = "traceloop.entity.name"
# Provider values written as "<provider>.<api>" (the AI SDK's "openai.chat",
# "anthropic.messages"): the API suffix is dropped.
PROVIDER_API_SUFFIX = r"\.(chat|messages|responses|completion|completions|embedding|embeddings)$"
REQUEST_MODEL_KEYS = ("gen_ai.request.model", "llm.request.model", "ai.model.id")
# OpenInference records the model the provider answered with (llm.model_name)
# and, on embedding spans, embedding.model_name; its request parameters are a
# JSON text whose `model` member is the requested model.
RESPONSE_MODEL_KEYS = ("gen_ai.response.model", "llm.response.model", "llm.model_name", "embedding.model_name")
INVOCATION_PARAMETERS_KEY = "llm.invocation_parameters"
# Pydantic Logfire keeps the provider's own usage object as JSON text; the
# counts it does not copy to gen_ai.usage.* (reasoning, OpenAI's cached
# tokens) are read from it.
RAW_USAGE_KEY = "gen_ai.usage.raw"
RAW_USAGE_PATHS = {
    "cache_read_tokens": (
        "$.prompt_tokens_details.cached_tokens",
        "$.input_tokens_details.cached_tokens",
        "$.cache_read_input_tokens",
    ),
    "cache_write_tokens": ("$.cache_creation_input_tokens",),
    "reasoning_tokens": ("$.completion_tokens_details.reasoning_tokens", "$.output_tokens_details.reasoning_tokens"),
}
# Logfire records a streamed call twice: the request as a span (type `span`)
# without usage, and the response as a zero-length log (type `log`) with the
# usage. The request half is kept as an application span, so the call is
# counted once.
LOGFIRE_SPAN_TYPE_KEY = "logfire.span_type"
FIXED_KEYS = {
    "tool_name": ("gen_ai.tool.name", "tool.name", "ai.toolCall.name"),
}
ERROR_TYPE_KEYS = ("error.type",)
# Explicit markers a source (or a Collector transform) can set to state the
# meaning of its counts; they override every inference below.
INPUT_INCLUDES_CACHE_MARKER = "agentledger.usage.input_tokens_include_cache"
OUTPUT_INCLUDES_REASONING_MARKER = "agentledger.usage.output_tokens_include_reasoning"

# Deprecated gen_ai.system values whose gen_ai.provider.name differs.
DEPRECATED_PROVIDER_NAMES = {
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "xai": "x_ai",
    "mistralai": "mistral_ai",
    "watsonx": "ibm.watsonx.ai",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "amazon-bedrock": "aws.bedrock",
    "google.generative-ai": "gcp.gemini",
    "google.vertex": "gcp.vertex_ai",
    "azure-openai": "azure.ai.openai",
    "mistral": "mistral_ai",
}
# Providers whose native usage counts input WITHOUT cache reads and writes
# (Anthropic's Messages API; Claude on Bedrock Converse reports the same way).
ANTHROPIC_FAMILY_SQL = "(provider = 'anthropic' or request_model ilike '%claude%')"
# Providers whose native usage counts output WITHOUT reasoning ("thoughts")
# tokens (Gemini's candidatesTokenCount).
GEMINI_FAMILY = ("gcp.gemini", "gcp.vertex_ai", "gcp.gen_ai")

# OTLP/JSON as the Collector writes it uses lowerCamelCase keys and
# scopeSpans. Protobuf-to-JSON converters and some exporters write the proto
# field names (snake_case), and exporters before OTLP 0.9 wrote
# instrumentationLibrarySpans / instrumentationLibrary. A line without
# "scopeSpans" has those keys renamed in its text before it is parsed (only
# keys match: a quoted name followed by a colon), so the common line is parsed
# as before and only the rare one pays for the renaming.
_VALUE_KINDS = ("stringValue", "intValue", "doubleValue", "boolValue", "arrayValue")
_KEY_RENAMES = {
    "resource_spans": "resourceSpans",
    "scope_spans": "scopeSpans",
    "instrumentationLibrarySpans": "scopeSpans",
    "instrumentation_library_spans": "scopeSpans",
    "instrumentationLibrary": "scope",
    "instrumentation_library": "scope",
    "trace_id": "traceId",
    "span_id": "spanId",
    "parent_span_id": "parentSpanId",
    "start_time_unix_nano": "startTimeUnixNano",
    "end_time_unix_nano": "endTimeUnixNano",
    "string_value": "stringValue",
    "int_value": "intValue",
    "double_value": "doubleValue",
    "bool_value": "boolValue",
    "array_value": "arrayValue",
}
_ANY_VALUE = {k: ("JSON" if k == "arrayValue" else "VARCHAR") for k in _VALUE_KINDS}
_KEY_VALUES = [{"key": "VARCHAR", "value": _ANY_VALUE}]
REQUEST_STRUCTURE = json.dumps(
    {
        "resourceSpans": [
            {
                "resource": {"attributes": _KEY_VALUES},
                "scopeSpans": [
                    {
                        "scope": {"name": "VARCHAR", "version": "VARCHAR"},
                        "spans": [
                            {
                                "traceId": "VARCHAR",
                                "spanId": "VARCHAR",
                                "parentSpanId": "VARCHAR",
                                "name": "VARCHAR",
                                "startTimeUnixNano": "VARCHAR",
                                "endTimeUnixNano": "VARCHAR",
                                "attributes": _KEY_VALUES,
                                "status": {"code": "VARCHAR", "message": "VARCHAR"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
)
_VALUE_TEXT = "coalesce(a.value.stringValue, a.value.intValue, a.value.doubleValue, a.value.boolValue, a.value.arrayValue::VARCHAR)"


def _renamed_keys(line: str) -> str:
    """`line` with the snake_case and pre-0.9 keys renamed (evaluated only on lines that need it)."""
    expr = line
    for old, new in _KEY_RENAMES.items():
        pattern = lit('"' + old + '"' + r"(\s*):")
        replacement = lit('"' + new + '"' + r"\1:")
        expr = f"regexp_replace({expr}, {pattern}, {replacement}, 'g')"
    return expr


def _otlp_id(expr: str, hex_chars: int) -> str:
    """An OTLP id as lower-case hex: the JSON encoding is hex, protobuf-JSON
    converters write the same bytes in base64 (decoded here, so two distinct
    ids can never merge by case), anything else is kept as given, trimmed;
    empty or all zeros (an invalid id in OTLP) is null."""
    text = f"nullif(trim({expr}), '')"
    as_hex = (
        f"case when regexp_full_match({text}, '[0-9a-fA-F]{{{hex_chars}}}') then lower({text}) "
        f"when length({text}) = {((hex_chars // 2 + 2) // 3) * 4} and try(octet_length(from_base64({text}))) = {hex_chars // 2} "
        f"then lower(hex(from_base64({text}))) else {text} end"
    )
    return f"nullif({as_hex}, {lit('0' * hex_chars)})"


# The line holds a JSON object (it is valid JSON and its first non-blank
# character is '{'); the common case is decided without copying the line.
_IS_OBJECT = "(case when starts_with(line, '{') then true else ltrim(line) like '{%' end)"


def _entries_sql(attributes: str, keys: list[str]) -> str:
    """The attributes whose key is in `keys`, as {k, v} text entries (content keys are never in `keys`)."""
    return (
        f"list_transform(list_filter({attributes}, lambda a: a.key in {in_list(keys)} and {_VALUE_TEXT} is not null), "
        f"lambda a: {{'k': a.key, 'v': {_VALUE_TEXT}}})"
    )


def _sorted_entries(entries: str) -> str:
    """{k, v} entries sorted by key then value, both descending: the first entry of a key holds its greatest value."""
    return f"list_sort({entries}, 'DESC')"


def _lookup(entries: str, keys: str, key: str) -> str:
    """The value of `key` in sorted entries (`keys` = their keys in the same order), null when absent.

    The attributes are pivoted per span by looking keys up in the filtered
    attribute list rather than by unnesting them to rows and grouping back
    by span (the group-by was the most expensive step of an OTLP load), and
    rather than through a MAP: building a map per span (which also needs a
    duplicate-key check) cost about three times the sort and the lookups.
    A key repeated on a span keeps its greatest value, the first after the
    descending sort.
    """
    return f"{entries}[list_position({keys}, {lit(key)})].v"


def lines_sql(path: Path, whole_file: bool) -> str:
    """Non-blank lines of a file, numbered from 1 (or the whole file as line 1)."""
    if whole_file:
        return f"select 1::BIGINT as _line, content as line from read_text({lit(str(path))})"
    reader = (
        f"read_csv({lit(str(path))}, columns={{'line': 'VARCHAR'}}, header=false, delim='\\x01', quote='', "
        "escape='', new_line='\\n', strict_mode=false, auto_detect=false, max_line_size=2000000000)"
    )
    # A line starting with '{' is not blank: trimming (copying) a line of
    # several hundred kilobytes only to learn that was a measurable cost.
    return (
        f"select row_number() over () as _line, line from (select line from {reader}) "
        "where line is not null and case when starts_with(line, '{') then true else trim(line) <> '' end"
    )


def _profile_sql(profiles: tuple[SourceProfile, ...]) -> str:
    """OR of the profiles' criteria over the mapped columns (false when none)."""
    terms = []
    for p in profiles:
        parts = []
        if p.scope_name:
            parts.append(f"_scope_name = {lit(p.scope_name)}")
        if p.provider:
            parts.append(f"provider = {lit(p.provider)}")
        if p.model_like:
            parts.append(f"request_model ilike {lit(p.model_like)}")
        terms.append("(" + " and ".join(parts) + ")")
    return " or ".join(terms) if terms else "false"


@dataclass(frozen=True)
class _AttributeColumns:
    """The attributes pivoted to columns, one per wanted key, named after it.

    A span attribute becomes the column "span:<key>", a resource attribute
    "resource:<key>" (quoted identifiers; two keys that differ only in case,
    which DuckDB's case-insensitive names would merge, get a numbered suffix).
    """

    span: dict[str, str]
    resource: dict[str, str]

    @classmethod
    def for_keys(cls, span_keys: list[str], resource_keys: list[str]) -> _AttributeColumns:
        return cls(_column_names("span", span_keys), _column_names("resource", resource_keys))

    def first(self, keys) -> str:
        """The span's first attribute present among `keys`."""
        return "coalesce(" + ", ".join(self.span[k] for k in keys) + ")" if len(keys) > 1 else self.span[keys[0]]

    def span_or_resource(self, keys) -> str:
        """The first present among `keys`, each key tried on the span before its resource."""
        terms = []
        for k in keys:
            terms.append(self.span[k])
            if k in self.resource:
                terms.append(self.resource[k])
        return "coalesce(" + ", ".join(terms) + ")" if len(terms) > 1 else terms[0]


def _column_names(prefix: str, keys: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    taken: set[str] = set()
    for key in keys:
        name = f"{prefix}:{key}"
        n = 1
        while name.lower() in taken:
            n += 1
            name = f"{prefix}:{key}#{n}"
        taken.add(name.lower())
        names[key] = ident(name)
    return names


def _wanted_keys(mapping: AttributeMapping) -> tuple[list[str], list[str]]:
    """(span attribute keys, resource attribute keys) the contract columns are read from; never content."""
    mapped_keys = {k for keys in mapping.fields.values() for k in keys}
    span_keys = sorted(
        set(INPUT_TOKENS_KEYS + OUTPUT_TOKENS_KEYS + CACHE_READ_KEYS + CACHE_WRITE_KEYS + REASONING_KEYS)
        | set(PROVIDER_KEYS + DEPRECATED_PROVIDER_KEYS + SERVICE_TIER_KEYS + TTFT_SECONDS_KEYS)
        | set(OPERATION_KEYS + REQUEST_MODEL_KEYS + RESPONSE_MODEL_KEYS)
        | {
            LLM_REQUEST_TYPE_KEY,
            OPENINFERENCE_KIND_KEY,
            INVOCATION_PARAMETERS_KEY,
            RAW_USAGE_KEY,
            LOGFIRE_SPAN_TYPE_KEY,
        }
        | {AI_SDK_OPERATION_KEY, AI_SDK_EMBEDDING_TOKENS_KEY, TRACELOOP_KIND_KEY, TRACELOOP_ENTITY_NAME_KEY}
        | {k for keys in FIXED_KEYS.values() for k in keys}
        | set(ERROR_TYPE_KEYS)
        | {INPUT_INCLUDES_CACHE_MARKER, OUTPUT_INCLUDES_REASONING_MARKER}
        | mapped_keys
    )
    resource_keys = sorted(mapped_keys | {INPUT_INCLUDES_CACHE_MARKER, OUTPUT_INCLUDES_REASONING_MARKER})
    return span_keys, resource_keys


def _renamed(expr: str, names: dict[str, str], keep_unknown: bool) -> str:
    """`expr` (lower-cased, trimmed) mapped through `names`; an unknown value kept or null."""
    cases = "".join(f" when {lit(old)} then {lit(new)}" for old, new in names.items())
    return f"case lower(trim({expr})){cases} else {'lower(trim(' + expr + '))' if keep_unknown else 'null'} end"


# --- The steps of otlp_source_sql, in the order its CTEs run. ---


def _parse_ctes(path: Path, whole_file: bool) -> str:
    """CTEs lines, parsed, structure and line_offsets: each line parsed once into a typed request."""
    return f"""lines as ({lines_sql(path, whole_file)}),
parsed as materialized (
    -- Each line is parsed once: try() turns the error of a line that is not
    -- valid JSON into null (validating every line first parsed it twice),
    -- and only such lines are validated again to word the reason.
    select _line, req,
        case when req is null then
            case when not json_valid(line) then 'line is not valid JSON'
                 when not {_IS_OBJECT} then 'line is not a JSON object'
                 else 'line does not hold an OTLP request' end
        end as _malformed
    from (
        select _line, line,
            case when {_IS_OBJECT} then try(json_transform(
                case when contains(line, '"scopeSpans"') then line else {_renamed_keys("line")} end,
                {lit(REQUEST_STRUCTURE)})) end as req
        from lines
    )
),
structure as (
    -- Why a readable line's request could not be understood in full, if it could not.
    select _line,
        case when req.resourceSpans is null then 'line holds no resourceSpans array'
             when list_bool_or(list_transform(req.resourceSpans, lambda rs: rs.scopeSpans is null))
                 then 'a resourceSpans entry holds no scopeSpans array'
             when list_bool_or(flatten(list_transform(req.resourceSpans,
                 lambda rs: list_transform(rs.scopeSpans, lambda ss: ss.spans is null))))
                 then 'a scopeSpans entry holds no spans array'
        end as _structure_problem
    from parsed where _malformed is null
),
line_offsets as (
    -- Span ordinals run through the file: a line's first span follows the
    -- spans of every earlier line (counted without touching the attributes).
    select _line, coalesce(sum(n) over (order by _line rows between unbounded preceding and 1 preceding), 0) as _line_offset
    from (
        select _line, coalesce(list_sum(list_transform(req.resourceSpans,
            lambda rs: list_sum(list_transform(rs.scopeSpans, lambda ss: coalesce(len(ss.spans), 0))))), 0) as n
        from parsed where _malformed is null
    )
)"""


def _span_rows_ctes(cols: _AttributeColumns) -> str:
    """CTEs line_spans, flat and spans: one row per span with its wanted attributes as columns."""
    span_entries = _entries_sql("sp.attributes", list(cols.span))
    res_entries = _entries_sql("rs.resource.attributes", list(cols.resource))
    span_pivot = ",\n        ".join(f"{_lookup('sa', 'sa_keys', k)} as {c}" for k, c in cols.span.items())
    res_pivot = ",\n        ".join(f"{_lookup('ra', 'ra_keys', k)} as {c}" for k, c in cols.resource.items())
    return f"""line_spans as (
    -- Per line: the resource attributes the mapping needs (one sorted list per
    -- resource) and every span in document order with its scope and resource.
    select p._line, o._line_offset,
        list_transform(req.resourceSpans, lambda rs: {_sorted_entries(res_entries)}) as ras,
        -- Each span keeps only the fields read below and the attributes whose
        -- key is wanted: filtering inside the nested lists, before the
        -- unnest, avoids copying every attribute of every span twice.
        flatten(list_transform(req.resourceSpans, lambda rs, rs_i: flatten(list_transform(rs.scopeSpans,
            lambda ss: list_transform(ss.spans, lambda sp: {{
                'sp': {{'traceId': sp.traceId, 'spanId': sp.spanId, 'parentSpanId': sp.parentSpanId,
                        'startTimeUnixNano': sp.startTimeUnixNano, 'endTimeUnixNano': sp.endTimeUnixNano,
                        'name': sp.name, 'status': sp.status}},
                'entries': {span_entries},
                'scope_name': ss.scope.name, 'rs_i': rs_i}}))))) as spans
    from parsed p join line_offsets o on o._line = p._line
    where p._malformed is null
),
flat as (
    select _line, ras, _line_offset + generate_subscripts(spans, 1) as _ord, unnest(spans) as s
    from line_spans
),
spans as (
    select _ord, _line, scope_name, sp,
        {res_pivot},
        {span_pivot}
    from (
        select *, list_transform(ra, lambda e: e.k) as ra_keys, list_transform(sa, lambda e: e.k) as sa_keys
        from (
            select _ord, _line, s.scope_name as scope_name, s.sp as sp, ras[s.rs_i] as ra,
                {_sorted_entries("s.entries")} as sa
            from flat
        )
    )
)"""


# A span name as the conventions form it, "{operation} {model}".
_SPAN_NAME_PATTERN = "'^(chat|text_completion|generate_content|embeddings) (\\S+)$'"


def _failed_sql(cols: _AttributeColumns) -> str:
    """The span records a failed call: an error status or an error.type attribute."""
    return (
        f"(coalesce(sp.status.code in ('2', 'STATUS_CODE_ERROR'), false) or {cols.first(ERROR_TYPE_KEYS)} is not null)"
    )


def _operation_sql(cols: _AttributeColumns, failed: str) -> str:
    """gen_ai.operation.name when the contract knows it (an unknown name is an
    application span), else the library's own operation naming; for a failed
    span that lost its attributes (OpenLIT's failed Anthropic calls), the
    span name. (Two separate extractions inside the CASE: a shared struct
    would be computed for every span, the failed ones are few.)"""
    known_operations = {op: op for op in OPERATIONS}
    return (
        f"coalesce({_renamed(cols.first(OPERATION_KEYS), known_operations, keep_unknown=False)}, "
        f"{_renamed(cols.span[LLM_REQUEST_TYPE_KEY], LLM_REQUEST_TYPES, keep_unknown=False)}, "
        f"{_renamed(cols.span[OPENINFERENCE_KIND_KEY], OPENINFERENCE_KINDS, keep_unknown=False)}, "
        f"{_renamed(cols.span[AI_SDK_OPERATION_KEY], AI_SDK_OPERATIONS, keep_unknown=False)}, "
        f"{_renamed(cols.span[TRACELOOP_KIND_KEY], TRACELOOP_KINDS, keep_unknown=False)}, "
        f"case when {failed} then nullif(regexp_extract(sp.name, {_SPAN_NAME_PATTERN}, 1), '') end)"
    )


def _logfire_request_half_sql(cols: _AttributeColumns, failed: str) -> str:
    """The usage-less request span of a call Logfire also logs with its usage."""
    return (
        f"(starts_with(scope_name, 'logfire') and {cols.span[LOGFIRE_SPAN_TYPE_KEY]} = 'span' "
        f"and {cols.first(INPUT_TOKENS_KEYS)} is null and not ({failed}))"
    )


def _provider_sql(cols: _AttributeColumns) -> str:
    """gen_ai.provider.name, else a deprecated key's value under its current name."""
    deprecated = _renamed(
        f"regexp_replace(lower(trim({cols.first(DEPRECATED_PROVIDER_KEYS)})), {lit(PROVIDER_API_SUFFIX)}, '')",
        DEPRECATED_PROVIDER_NAMES,
        keep_unknown=True,
    )
    return f"coalesce(lower(trim({cols.first(PROVIDER_KEYS)})), {deprecated})"


def _request_model_sql(cols: _AttributeColumns, failed: str) -> str:
    invocation_model = f"try(json_extract_string({cols.span[INVOCATION_PARAMETERS_KEY]}, '$.model'))"
    return (
        f"coalesce({cols.first(REQUEST_MODEL_KEYS)}, {invocation_model}, {cols.first(RESPONSE_MODEL_KEYS)}, "
        f"case when {failed} then nullif(regexp_extract(sp.name, {_SPAN_NAME_PATTERN}, 2), '') end)"
    )


def _error_type_sql(cols: _AttributeColumns) -> str:
    """error.type as written; OpenInference and Logfire write none, and their
    status message starts with the exception's class: only that identifier
    is kept (the rest is the provider's message, which may quote content).
    openai-v2 writes the class as Python prints it, <class 'x.Error'>."""
    return (
        f"coalesce(regexp_replace(trim({cols.first(ERROR_TYPE_KEYS)}), '^<class ''([^'']+)''>$', '\\1'), "
        "case when sp.status.code in ('2', 'STATUS_CODE_ERROR') "
        "then nullif(regexp_extract(sp.status.message, '^([A-Za-z_][A-Za-z0-9_.]*(Error|Exception))(:|$)', 1), '') end)"
    )


def _raw_usage_sql(cols: _AttributeColumns, column: str) -> str:
    """A count Logfire left only in the provider's usage object (gen_ai.usage.raw)."""
    paths = RAW_USAGE_PATHS[column]
    return (
        "coalesce(" + ", ".join(f"try(json_extract_string({cols.span[RAW_USAGE_KEY]}, {lit(p)}))" for p in paths) + ")"
    )


def _mapped_cte(cols: _AttributeColumns, mapping: AttributeMapping) -> str:
    """CTE mapped: the contract columns of each span (tokens and cost still text)."""

    # OpenLLMetry's framework spans name their agent or tool only in
    # traceloop.entity.name: the last resort of those two columns.
    def entity_named(kind: str) -> str:
        return f"case when lower({cols.span[TRACELOOP_KIND_KEY]}) = {lit(kind)} then {cols.span[TRACELOOP_ENTITY_NAME_KEY]} end"

    fallbacks = {"agent_name": entity_named("agent"), "tool_name": entity_named("tool")}

    def column(col: str, first: str) -> str:
        return f"coalesce({first}, {fallbacks[col]}) as {col}" if col in fallbacks else f"{first} as {col}"

    mapped = ",\n        ".join(column(col, cols.span_or_resource(keys)) for col, keys in mapping.fields.items())
    fixed = ",\n        ".join(column(col, cols.first(keys)) for col, keys in FIXED_KEYS.items())
    failed = _failed_sql(cols)
    service_tier = cols.first(SERVICE_TIER_KEYS)
    # A fixed64 count of nanoseconds: decimal digits only (no sign, exponent or fraction).
    start_ns = "case when regexp_full_match(trim(sp.startTimeUnixNano), '[0-9]{1,20}') then try_cast(trim(sp.startTimeUnixNano) as UBIGINT) end"
    end_ns = "case when regexp_full_match(trim(sp.endTimeUnixNano), '[0-9]{1,20}') then try_cast(trim(sp.endTimeUnixNano) as UBIGINT) end"
    # Later than year 9999 is no time at all (and make_timestamp would fail the file).
    max_ns = 253402300799 * 10**9
    return f"""mapped as (
    select
        _ord as _source_row,
        _line as _source_line,
        null::VARCHAR as _malformed,
        {_otlp_id("sp.spanId", 16)} as span_id,
        {_otlp_id("sp.traceId", 32)} as trace_id,
        {_otlp_id("sp.parentSpanId", 16)} as parent_span_id,
        case when {start_ns} <= {max_ns} then make_timestamp(({start_ns} // 1000)::BIGINT) end as started_at,
        case when {start_ns} <= {max_ns} and {end_ns} <= {max_ns}
             then ((({end_ns})::HUGEINT - ({start_ns})::HUGEINT) / 1e6)::DOUBLE end as duration_ms,
        try_cast({cols.first(TTFT_SECONDS_KEYS)} as DOUBLE) * 1000 as time_to_first_token_ms,
        case when {_logfire_request_half_sql(cols, failed)} then null else {_operation_sql(cols, failed)} end as operation,
        {_provider_sql(cols)} as provider,
        {_request_model_sql(cols, failed)} as request_model,
        {cols.first(RESPONSE_MODEL_KEYS)} as response_model,
        case when lower({service_tier}) = 'auto' then null
             else lower({service_tier}) end as service_tier,
        {fixed},
        {_error_type_sql(cols)} as error_type,
        {mapped},
        null::VARCHAR as tags,
        case when {failed} then 'error' else 'ok' end as status,
        coalesce({cols.first(INPUT_TOKENS_KEYS)},
            case when lower({cols.span[AI_SDK_OPERATION_KEY]}) like 'ai.embed%.doembed' then {cols.span[AI_SDK_EMBEDDING_TOKENS_KEY]} end) as input_tokens,
        {cols.first(OUTPUT_TOKENS_KEYS)} as output_tokens,
        coalesce({cols.first(CACHE_READ_KEYS)}, {_raw_usage_sql(cols, "cache_read_tokens")}) as cache_read_tokens,
        coalesce({cols.first(CACHE_WRITE_KEYS)}, {_raw_usage_sql(cols, "cache_write_tokens")}) as cache_write_tokens,
        coalesce({cols.first(REASONING_KEYS)}, {_raw_usage_sql(cols, "reasoning_tokens")}) as reasoning_tokens,
        scope_name as instrumentation_scope,
        scope_name as _scope_name,
        lower({cols.span_or_resource((INPUT_INCLUDES_CACHE_MARKER,))}) as _in_marker,
        lower({cols.span_or_resource((OUTPUT_INCLUDES_REASONING_MARKER,))}) as _out_marker
    from spans
)"""


def _count_meaning_select(mapping: AttributeMapping) -> str:
    """The mapped spans with whether their input excludes cache and their output excludes reasoning.

    An explicit marker decides; else a profile of the mapping; else what
    the counts themselves prove (docs/ingestion.md, "Token counts").
    """
    return f"""select * exclude (_in_marker, _out_marker),
    case when _in_marker in ('false', '0') then true
         when _in_marker in ('true', '1') then false
         when {_profile_sql(mapping.input_excludes_cache)} then true
         when {ANTHROPIC_FAMILY_SQL}
              and coalesce(try_cast(cache_read_tokens as BIGINT), 0) + coalesce(try_cast(cache_write_tokens as BIGINT), 0)
                  > try_cast(input_tokens as BIGINT) then true
         else false end as _input_excludes_cache,
    case when _out_marker in ('false', '0') then true
         when _out_marker in ('true', '1') then false
         when {_profile_sql(mapping.output_excludes_reasoning)} then true
         when provider in {in_list(GEMINI_FAMILY)}
              and try_cast(reasoning_tokens as BIGINT) > try_cast(output_tokens as BIGINT) then true
         else false end as _output_excludes_reasoning
from mapped"""


# Lines that hold no readable request, and requests whose structure is not understood: one malformed record each.
_MALFORMED_LINES = """select null::BIGINT as _source_row, _line as _source_line, _malformed from parsed where _malformed is not null
union all by name
select null::BIGINT as _source_row, _line as _source_line, _structure_problem as _malformed
from structure where _structure_problem is not null"""


def otlp_source_sql(path: Path, whole_file: bool, mapping: AttributeMapping) -> str:
    """SELECT yielding one row per span (plus one per malformed line) in contract columns.

    Output columns: _source_row, _source_line, _malformed, the contract
    columns (tokens and reported cost as text, typed later with the other
    formats), _scope_name, _input_excludes_cache, _output_excludes_reasoning.

    A line that is not an OTLP request, or whose request holds a level that is
    not an array (resourceSpans, scopeSpans or spans given as an object), adds
    one malformed record with the reason, beside the spans it did hold: a
    structure that cannot be understood is never skipped silently. A span
    with a bad timestamp or id is a row like any other, and fails its rule.

    Steps: parse each line (`_parse_ctes`), unnest the spans with their
    wanted attributes as named columns (`_span_rows_ctes`), map them to
    contract columns (`_mapped_cte`), then settle what the counts mean
    (`_count_meaning_select`) and add the malformed lines.
    """
    cols = _AttributeColumns.for_keys(*_wanted_keys(mapping))
    return f"""
with {_parse_ctes(path, whole_file)},
{_span_rows_ctes(cols)},
{_mapped_cte(cols, mapping)}
{_count_meaning_select(mapping)}
union all by name
{_MALFORMED_LINES}
"""
