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

    span_entries = _entries_sql("sp.attributes", span_keys)
    res_entries = _entries_sql("rs.resource.attributes", resource_keys)
    span_pivot = ",\n        ".join(f"{_lookup('sa', 'sa_keys', k)} as {a}" for k, a in s_alias.items())
    res_pivot = ",\n        ".join(f"{_lookup('ra', 'ra_keys', k)} as {a}" for k, a in r_alias.items())
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
            case when {_IS_OBJECT} then try(json_transform(line, {lit(REQUEST_STRUCTURE)})) end as req
        from lines
    )
),
line_offsets as (
    -- Span ordinals run through the file: a line's first span follows the
    -- spans of every earlier line (counted without touching the attributes).
    select _line, coalesce(sum(n) over (order by _line rows between unbounded preceding and 1 preceding), 0) as _line_offset
    from (
        select _line, list_sum(list_transform(req.resourceSpans,
            lambda rs: list_sum(list_transform(rs.scopeSpans, lambda ss: len(ss.spans))))) as n
        from parsed where _malformed is null
    )
),
line_spans as (
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
                        'status': sp.status}},
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
