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
from pathlib import Path

from orchestration.ingest.options import AttributeMapping, SourceProfile
from orchestration.ingest.sql_text import in_list, lit

# Current and deprecated GenAI semantic-convention names, first match wins.
INPUT_TOKENS_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKENS_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens",)
PROVIDER_KEYS = ("gen_ai.provider.name",)
DEPRECATED_PROVIDER_KEYS = ("gen_ai.system",)
SERVICE_TIER_KEYS = (
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
    "openai.request.service_tier",
    "gen_ai.openai.request.service_tier",
)
TTFT_SECONDS_KEYS = ("gen_ai.server.time_to_first_token",)
FIXED_KEYS = {
    "operation": ("gen_ai.operation.name",),
    "request_model": ("gen_ai.request.model",),
    "response_model": ("gen_ai.response.model",),
    "tool_name": ("gen_ai.tool.name",),
    "error_type": ("error.type",),
}
# Explicit markers a source (or a Collector transform) can set to state the
# meaning of its counts; they override every inference below.
INPUT_INCLUDES_CACHE_MARKER = "agentledger.usage.input_tokens_include_cache"
OUTPUT_INCLUDES_REASONING_MARKER = "agentledger.usage.output_tokens_include_reasoning"

# Deprecated gen_ai.system values whose gen_ai.provider.name differs.
DEPRECATED_PROVIDER_NAMES = {
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "az.ai.openai": "azure.ai.openai",
    "xai": "x_ai",
    "mistralai": "mistral_ai",
    "watsonx": "ibm.watsonx.ai",
    "bedrock": "aws.bedrock",
}
# Providers whose native usage counts input WITHOUT cache reads and writes
# (Anthropic's Messages API; Claude on Bedrock Converse reports the same way).
ANTHROPIC_FAMILY_SQL = "(provider = 'anthropic' or request_model ilike '%claude%')"
# Providers whose native usage counts output WITHOUT reasoning ("thoughts")
# tokens (Gemini's candidatesTokenCount).
GEMINI_FAMILY = ("gcp.gemini", "gcp.vertex_ai", "gcp.gen_ai")

_ANY_VALUE = {"stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR", "boolValue": "VARCHAR", "arrayValue": "JSON"}
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
_VALUE_TEXT = (
    "coalesce(a.value.stringValue, a.value.intValue, a.value.doubleValue, a.value.boolValue, a.value.arrayValue::VARCHAR)"
)


def lines_sql(path: Path, whole_file: bool) -> str:
    """Non-blank lines of a file, numbered from 1 (or the whole file as line 1)."""
    if whole_file:
        return f"select 1::BIGINT as _line, content as line from read_text({lit(str(path))})"
    reader = (
        f"read_csv({lit(str(path))}, columns={{'line': 'VARCHAR'}}, header=false, delim='\\x01', quote='', "
        "escape='', new_line='\\n', strict_mode=false, auto_detect=false, max_line_size=2000000000)"
    )
    return (
        f"select row_number() over () as _line, line from (select line from {reader}) "
        "where line is not null and trim(line) <> ''"
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


def otlp_source_sql(path: Path, whole_file: bool, mapping: AttributeMapping) -> str:
    """SELECT yielding one row per span (plus one per malformed line) in contract columns.

    Output columns: _source_row, _source_line, _malformed, the contract
    columns (tokens and reported cost as text, typed later with the other
    formats), _scope_name, _input_excludes_cache, _output_excludes_reasoning.
    """
    mapped_keys = {k for keys in mapping.fields.values() for k in keys}
    span_keys = sorted(
        set(INPUT_TOKENS_KEYS + OUTPUT_TOKENS_KEYS + CACHE_READ_KEYS + CACHE_WRITE_KEYS + REASONING_KEYS)
        | set(PROVIDER_KEYS + DEPRECATED_PROVIDER_KEYS + SERVICE_TIER_KEYS + TTFT_SECONDS_KEYS)
        | {k for keys in FIXED_KEYS.values() for k in keys}
        | {INPUT_INCLUDES_CACHE_MARKER, OUTPUT_INCLUDES_REASONING_MARKER}
        | mapped_keys
    )
    resource_keys = sorted(mapped_keys | {INPUT_INCLUDES_CACHE_MARKER, OUTPUT_INCLUDES_REASONING_MARKER})
    s_alias = {k: f"s{i}" for i, k in enumerate(span_keys)}
    r_alias = {k: f"r{i}" for i, k in enumerate(resource_keys)}

    def span_first(keys) -> str:
        return "coalesce(" + ", ".join(s_alias[k] for k in keys) + ")" if len(keys) > 1 else s_alias[keys[0]]

    def span_or_resource(keys) -> str:
        terms = []
        for k in keys:
            terms.append(s_alias[k])
            if k in r_alias:
                terms.append(r_alias[k])
        return "coalesce(" + ", ".join(terms) + ")" if len(terms) > 1 else terms[0]

    span_pivot = ",\n        ".join(f"max(v) filter (where k = {lit(k)}) as {a}" for k, a in s_alias.items())
    res_pivot = ",\n        ".join(f"max(v) filter (where k = {lit(k)}) as {a}" for k, a in r_alias.items())
    deprecated = "case lower(" + span_first(DEPRECATED_PROVIDER_KEYS) + ")" + "".join(
        f" when {lit(old)} then {lit(new)}" for old, new in DEPRECATED_PROVIDER_NAMES.items()
    ) + " else lower(" + span_first(DEPRECATED_PROVIDER_KEYS) + ") end"
    in_marker = f"lower({span_or_resource((INPUT_INCLUDES_CACHE_MARKER,))})"
    out_marker = f"lower({span_or_resource((OUTPUT_INCLUDES_REASONING_MARKER,))})"
    mapped = ",\n        ".join(f"{span_or_resource(keys)} as {col}" for col, keys in mapping.fields.items())
    fixed = ",\n        ".join(f"{span_first(keys)} as {col}" for col, keys in FIXED_KEYS.items())

    return f"""
with lines as ({lines_sql(path, whole_file)}),
parsed as materialized (
    select _line,
        case when json_valid(line) and ltrim(line) like '{{%' then json_transform(line, {lit(REQUEST_STRUCTURE)}) end as req,
        case when not json_valid(line) then 'line is not valid JSON'
             when not ltrim(line) like '{{%' then 'line is not a JSON object' end as _malformed
    from lines
),
rs as materialized (
    select _line, unnest(req.resourceSpans) as rs, generate_subscripts(req.resourceSpans, 1) as rs_i
    from parsed where _malformed is null
),
ss as (
    select _line, rs_i, unnest(rs.scopeSpans) as ss, generate_subscripts(rs.scopeSpans, 1) as ss_i from rs
),
sp as (
    select _line, rs_i, ss_i, ss.scope.name as scope_name, unnest(ss.spans) as sp, generate_subscripts(ss.spans, 1) as sp_i
    from ss
),
numbered as materialized (
    select row_number() over (order by _line, rs_i, ss_i, sp_i) as _ord, _line, rs_i, scope_name, sp from sp
),
span_kv as (
    select _ord, a.key as k, {_VALUE_TEXT} as v
    from (select _ord, unnest(sp.attributes) as a from numbered)
    where a.key in {in_list(span_keys)}
),
span_attrs as (
    select _ord,
        {span_pivot}
    from span_kv group by _ord
),
res_kv as (
    select _line, rs_i, a.key as k, {_VALUE_TEXT} as v
    from (select _line, rs_i, unnest(rs.resource.attributes) as a from rs)
    where a.key in {in_list(resource_keys)}
),
res_attrs as (
    select _line, rs_i,
        {res_pivot}
    from res_kv group by _line, rs_i
),
spans as (
    select n._ord, n._line, n.scope_name, n.sp, sa.* exclude (_ord), ra.* exclude (_line, rs_i)
    from numbered n
    left join span_attrs sa on sa._ord = n._ord
    left join res_attrs ra on ra._line = n._line and ra.rs_i = n.rs_i
),
mapped as (
    select
        _ord as _source_row,
        _line as _source_line,
        null::VARCHAR as _malformed,
        lower(sp.spanId) as span_id,
        lower(sp.traceId) as trace_id,
        lower(sp.parentSpanId) as parent_span_id,
        case when try_cast(sp.startTimeUnixNano as UBIGINT) is not null
             then make_timestamp((sp.startTimeUnixNano::UBIGINT // 1000)::BIGINT) end as started_at,
        ((try_cast(sp.endTimeUnixNano as HUGEINT) - try_cast(sp.startTimeUnixNano as HUGEINT)) / 1e6)::DOUBLE as duration_ms,
        try_cast({span_first(TTFT_SECONDS_KEYS)} as DOUBLE) * 1000 as time_to_first_token_ms,
        coalesce(lower({span_first(PROVIDER_KEYS)}), {deprecated}) as provider,
        case when lower({span_first(SERVICE_TIER_KEYS)}) = 'auto' then null
             else lower({span_first(SERVICE_TIER_KEYS)}) end as service_tier,
        {fixed},
        {mapped},
        null::VARCHAR as tags,
        case when sp.status.code in ('2', 'STATUS_CODE_ERROR') or {span_first(FIXED_KEYS['error_type'])} is not null
             then 'error' else 'ok' end as status,
        {span_first(INPUT_TOKENS_KEYS)} as input_tokens,
        {span_first(OUTPUT_TOKENS_KEYS)} as output_tokens,
        {span_first(CACHE_READ_KEYS)} as cache_read_tokens,
        {span_first(CACHE_WRITE_KEYS)} as cache_write_tokens,
        {span_first(REASONING_KEYS)} as reasoning_tokens,
        scope_name as _scope_name,
        {in_marker} as _in_marker,
        {out_marker} as _out_marker
    from spans
)
select * exclude (_in_marker, _out_marker),
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
from mapped
union all by name
select null::BIGINT as _source_row, _line as _source_line, _malformed from parsed where _malformed is not null
"""
