"""Turn numpy chunks into files with DuckDB: canonical Parquet/JSONL/CSV and OTLP JSON lines.

Strings never exist as Python objects: chunks carry integer codes, and the
SELECT below maps codes to names by indexing constant SQL lists (index 0 is
out of range and yields NULL, which is how "no model", "no tool", "no error"
become nulls) and formats ids with printf. The canonical SELECT is generated
from orchestration.contract.TRACE_FIELDS, so the files always have exactly
the contract's columns, types and order.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from generators.agents import Agent
from generators.catalog import ERROR_TYPES, MODELS, TIERS
from generators.spans import Chunk
from orchestration.contract import OPERATIONS, TRACE_FIELDS

OTLP_SCOPE_NAME = "agentledger.generators"
OTLP_SCOPE_VERSION = "1"


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values) -> str:
    return "[" + ", ".join("NULL" if v is None else sql_str(v) for v in values) + "]"


def canonical_expressions(agents: tuple[Agent, ...], tool_names: tuple[str, ...]) -> dict[str, str]:
    """SQL expression for every contract field, over the registered chunk columns."""
    return {
        "span_id": "printf('%016x', span_u)",
        "trace_id": "printf('%016x%016x', trace_hi, trace_lo)",
        "parent_span_id": "case when kind <> 0 then printf('%016x', parent_u) end",
        "started_at": "started_at",
        "duration_ms": "duration_ms",
        "time_to_first_token_ms": "case when has_ttft then ttft_ms end",
        "operation": f"({sql_list(OPERATIONS)})[op]",
        "provider": f"({sql_list(m.provider for m in MODELS)})[model]",
        "request_model": f"({sql_list(m.request_model for m in MODELS)})[model]",
        "response_model": f"({sql_list(m.response_model for m in MODELS)})[model]",
        "service_tier": f"({sql_list(TIERS)})[tier]",
        "tool_name": f"({sql_list(tool_names)})[tool]",
        "workspace_id": f"({sql_list(a.workspace_id for a in agents)})[agent]",
        "department": f"({sql_list(a.department for a in agents)})[agent]",
        "agent_id": f"({sql_list(a.agent_id for a in agents)})[agent]",
        "agent_name": f"({sql_list(a.name for a in agents)})[agent]",
        "user_id": "printf('usr_%016x', user_u)",
        "conversation_id": "printf('conv_%016x', conv_u)",
        "environment": f"({sql_list(a.environment for a in agents)})[agent]",
        "tags": f"({sql_list(a.tags_json for a in agents)})[agent]",
        "status": "case when err = 0 then 'ok' else 'error' end",
        "error_type": f"({sql_list(ERROR_TYPES)})[err]",
        "input_tokens": "case when kind = 1 then input_tokens end",
        "output_tokens": "case when kind = 1 then output_tokens end",
        "cache_read_tokens": "case when kind = 1 then cache_read_tokens end",
        "cache_write_tokens": "case when kind = 1 then cache_write_tokens end",
        "reasoning_tokens": "case when kind = 1 then reasoning_tokens end",
        "reported_cost_usd": "case when has_cost then cost end",
    }


def canonical_select(agents: tuple[Agent, ...], tool_names: tuple[str, ...], source: str = "chunk",
                     extra: str = "") -> str:
    exprs = canonical_expressions(agents, tool_names)
    missing = [f.name for f in TRACE_FIELDS if f.name not in exprs]
    if missing:
        raise KeyError(f"generators/writers.py has no expression for contract field(s) {missing}; add them to canonical_expressions")
    cols = ",\n  ".join(f"cast({exprs[f.name]} as {f.duckdb_type}) as {f.name}" for f in TRACE_FIELDS)
    return f"select\n  {cols}{extra}\nfrom {source}"


def _attr(key: str, kind: str, expr: str, nullable: bool = True) -> str:
    value = f"json_object('key', {sql_str(key)}, 'value', json_object({sql_str(kind)}, {expr}))"
    if kind == "intValue":
        value = f"json_object('key', {sql_str(key)}, 'value', json_object('intValue', ({expr})::varchar))"
    return f"case when {expr} is not null then {value} end" if nullable else value


def otlp_select(agents: tuple[Agent, ...], tool_names: tuple[str, ...]) -> str:
    """One ExportTraceServiceRequest per export batch (an agent's next 100 traces), as JSON lines.

    Resource = the agent's service; span attributes use the OpenTelemetry GenAI
    semantic-convention names. Integer attributes are strings (the OTLP JSON
    encoding of int64); times are Unix nanoseconds as strings.
    """
    attrs = ",\n      ".join([
        _attr("gen_ai.operation.name", "stringValue", "operation", nullable=False),
        _attr("gen_ai.provider.name", "stringValue", "provider"),
        _attr("gen_ai.request.model", "stringValue", "request_model"),
        _attr("gen_ai.response.model", "stringValue", "response_model"),
        _attr("gen_ai.agent.id", "stringValue", "agent_id"),
        _attr("gen_ai.agent.name", "stringValue", "agent_name"),
        _attr("gen_ai.conversation.id", "stringValue", "conversation_id"),
        _attr("gen_ai.tool.name", "stringValue", "tool_name"),
        _attr("user.id", "stringValue", "user_id"),
        _attr("openai.request.service_tier", "stringValue", "service_tier"),
        _attr("gen_ai.usage.input_tokens", "intValue", "input_tokens"),
        _attr("gen_ai.usage.output_tokens", "intValue", "output_tokens"),
        _attr("gen_ai.usage.cache_read.input_tokens", "intValue", "cache_read_tokens"),
        _attr("gen_ai.usage.cache_creation.input_tokens", "intValue", "cache_write_tokens"),
        _attr("gen_ai.usage.reasoning.output_tokens", "intValue", "reasoning_tokens"),
        _attr("gen_ai.server.time_to_first_token", "doubleValue", "time_to_first_token_ms / 1000.0"),
        _attr("error.type", "stringValue", "error_type"),
        _attr("agentledger.reported_cost_usd", "doubleValue", "reported_cost_usd"),
        _attr("agentledger.tags", "stringValue", "tags"),
    ])
    common_head = "'traceId', trace_id, 'spanId', span_id"
    common_tail = (
        "'name', case kind when 0 then 'invoke_agent ' || agent_name when 1 then operation || ' ' || request_model "
        "else 'execute_tool ' || tool_name end, "
        "'kind', case kind when 1 then 3 else 1 end, "
        "'startTimeUnixNano', (epoch_us(started_at) * 1000)::varchar, "
        "'endTimeUnixNano', (epoch_us(started_at) * 1000 + cast(round(duration_ms * 1000000) as bigint))::varchar, "
        f"'attributes', list_filter([\n      {attrs}\n    ], x -> x is not null), "
        "'status', case when status = 'ok' then json_object('code', 1) else json_object('code', 2, 'message', error_type) end"
    )
    resource = ", ".join([
        _attr("service.name", "stringValue", "any_value(agent_name)", nullable=False),
        _attr("service.namespace", "stringValue", "any_value(workspace_id)", nullable=False),
        _attr("deployment.environment.name", "stringValue", "any_value(environment)", nullable=False),
        _attr("agentledger.department", "stringValue", "any_value(department)", nullable=False),
    ])
    base = canonical_select(agents, tool_names, extra=",\n  kind, line, rid")
    return f"""
with canonical as (
{base}
),
spans as (
  select line, rid, agent_name, workspace_id, environment, department,
    case when kind = 0
      then json_object({common_head}, {common_tail})
      else json_object({common_head}, 'parentSpanId', parent_span_id, {common_tail})
    end as span
  from canonical
)
select [{{
  'resource': {{'attributes': [{resource}]}},
  'scopeSpans': [{{
    'scope': {{'name': {sql_str(OTLP_SCOPE_NAME)}, 'version': {sql_str(OTLP_SCOPE_VERSION)}}},
    'spans': list(span order by rid)
  }}]
}}] as "resourceSpans"
from spans
group by line
order by min(rid)
"""


COPY_OPTIONS = {
    "parquet": "(format parquet)",
    "jsonl": "(format json)",
    "csv": "(format csv, header true)",
    "otlp": "(format json)",
}


class ChunkWriter:
    """Writes chunks of one run in one format; owns its in-memory DuckDB connection."""

    def __init__(self, fmt: str, agents: tuple[Agent, ...], tool_names: tuple[str, ...], threads: int | None = None) -> None:
        if fmt not in COPY_OPTIONS:
            raise ValueError(f"format {fmt!r}: expected one of {', '.join(COPY_OPTIONS)}")
        self.fmt = fmt
        self.con = duckdb.connect(config={"preserve_insertion_order": True})
        if threads:
            self.con.execute(f"set threads = {int(threads)}")
        self.con.execute("set memory_limit = '1GB'")
        self.query = otlp_select(agents, tool_names) if fmt == "otlp" else canonical_select(agents, tool_names)

    def write(self, chunk: Chunk, path: Path) -> None:
        columns = dict(chunk.columns)
        if self.fmt == "otlp":
            import numpy as np

            columns["rid"] = np.arange(chunk.rows, dtype=np.int64)
        frame = pd.DataFrame(columns, copy=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.register("chunk", frame)
        try:
            target = sql_str(str(path))
            self.con.execute(f"copy ({self.query}) to {target} {COPY_OPTIONS[self.fmt]}")
        finally:
            self.con.unregister("chunk")

    def close(self) -> None:
        self.con.close()
