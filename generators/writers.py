"""Turn numpy chunks into files with DuckDB: canonical Parquet/JSONL/CSV and OTLP JSON lines.

Chunks carry integer codes, never per-row Python strings. Low-cardinality
strings become pandas Categoricals over the few names (DuckDB scans them as
ENUMs); trace-level ids (trace, parent, user, conversation) become
Categoricals over one string per trace, formatted in numpy; only span_id is
formatted per row, by DuckDB. The canonical SELECT is generated
from orchestration.contract.TRACE_FIELDS, so the files always have exactly
the contract's columns, types and order.
"""

from __future__ import annotations

import filecmp
import os
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from generators.agents import Agent
from generators.catalog import ERROR_TYPES, MODELS, TIERS
from generators.spans import Chunk
from orchestration.contract import OPERATIONS, STATUSES, TRACE_FIELDS

OTLP_SCOPE_NAME = "agentledger.generators"
OTLP_SCOPE_VERSION = "1"


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_strings(values: np.ndarray, prefix: str = "") -> np.ndarray:
    """Fixed-width lowercase hex of uint64 values (16 digits each), vectorised, as a numpy str array."""
    raw = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    out = np.empty((len(values), len(prefix) + 16), dtype=np.uint8)
    if prefix:
        out[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    out[:, len(prefix) :: 2] = _HEX[raw >> 4]
    out[:, len(prefix) + 1 :: 2] = _HEX[raw & 15]
    return out.view(f"S{out.shape[1]}").ravel().astype(f"U{out.shape[1]}")


class CodeMap:
    """Maps 1-based integer codes (0 = null) to a pandas Categorical, which DuckDB scans as an ENUM.

    ENUM columns reach the Parquet writer already dictionary-encoded, so
    low-cardinality strings cost about as much to write as small integers.
    """

    def __init__(self, values) -> None:
        values = list(values)
        self.categories = list(dict.fromkeys(v for v in values if v is not None))
        lookup = [-1] + [-1 if v is None else self.categories.index(v) for v in values]
        self.lookup = np.array(lookup, dtype=np.int32 if len(self.categories) > 30_000 else np.int16)

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(self.lookup[codes], categories=self.categories, validate=False)


def _trace_categorical(codes: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """Categorical over trace-level strings (unique categories), codes pointing at them (-1 = null)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object), validate=False)


def chunk_frame(chunk: Chunk, maps: dict[str, tuple[str, CodeMap]]) -> pd.DataFrame:
    """The chunk's columns plus its string columns as Categoricals, ready for DuckDB to scan."""
    cols = dict(chunk.columns)
    cols["status_code"] = (cols["err"] > 0).astype(np.uint8) + 1
    for name, (source, code_map) in maps.items():
        cols[name] = code_map.categorical(cols[source])
    tc = chunk.trace_columns
    row_trace = cols["row_trace"]
    top = np.uint64(1 << 63)  # fixed-width 32-digit trace ids; the low half alone is unique per trace
    trace_ids = np.char.add(hex_strings(tc["trace_hi"] | top), hex_strings(tc["trace_lo"]))
    cols["trace_id"] = _trace_categorical(row_trace, trace_ids)
    parent = np.where(cols["kind"] == 0, -1, row_trace).astype(np.int32)
    cols["parent_span_id"] = _trace_categorical(parent, hex_strings(tc["root_span_u"]))
    for name, key, prefix in (("user_id", "user_u", "usr_"), ("conversation_id", "conv_u", "conv_")):
        uniq, inverse = np.unique(tc[key], return_inverse=True)
        cols[name] = _trace_categorical(inverse.astype(np.int32)[row_trace], hex_strings(uniq, prefix))
    for used in ("op", "model", "tool", "tier", "err", "agent", "status_code", "row_trace"):
        del cols[used]  # mapped into string columns above; fewer columns bind and scan faster
    return pd.DataFrame(cols, copy=False)


def code_maps(agents: tuple[Agent, ...], tool_names: tuple[str, ...]) -> dict[str, tuple[str, CodeMap]]:
    """Contract string column -> (chunk code column, map of code to string)."""
    return {
        "operation": ("op", CodeMap(OPERATIONS)),
        "provider": ("model", CodeMap(m.provider for m in MODELS)),
        "request_model": ("model", CodeMap(m.request_model for m in MODELS)),
        "response_model": ("model", CodeMap(m.response_model for m in MODELS)),
        "service_tier": ("tier", CodeMap(TIERS)),
        "tool_name": ("tool", CodeMap(tool_names)),
        "workspace_id": ("agent", CodeMap(a.workspace_id for a in agents)),
        "department": ("agent", CodeMap(a.department for a in agents)),
        "agent_id": ("agent", CodeMap(a.agent_id for a in agents)),
        "agent_name": ("agent", CodeMap(a.name for a in agents)),
        "environment": ("agent", CodeMap(a.environment for a in agents)),
        "tags": ("agent", CodeMap(a.tags_json for a in agents)),
        "status": ("status_code", CodeMap(STATUSES)),
        "error_type": ("err", CodeMap(ERROR_TYPES)),
    }


CATEGORICAL_FIELDS = ("trace_id", "parent_span_id", "user_id", "conversation_id")


def canonical_expressions() -> dict[str, str]:
    """SQL expression for every contract field, over the registered chunk frame."""
    exprs = {
        "span_id": "printf('%016x', span_u)",
        "started_at": "started_at",
        "duration_ms": "duration_ms",
        "time_to_first_token_ms": "ttft_ms",
        "input_tokens": "case when kind = 1 then input_tokens end",
        "output_tokens": "case when kind = 1 then output_tokens end",
        "cache_read_tokens": "case when kind = 1 then cache_read_tokens end",
        "cache_write_tokens": "case when kind = 1 then cache_write_tokens end",
        "reasoning_tokens": "case when kind = 1 then reasoning_tokens end",
        "reported_cost_usd": "cost",
        # canonical files name no instrumentation; the OTLP writer's scope does
        "instrumentation_scope": "null::VARCHAR",
    }
    for name in CATEGORICAL_FIELDS + tuple(code_maps((), ()).keys()):
        exprs[name] = name
    return exprs


def canonical_select(source: str = "chunk", extra: str = "", keep_enums: bool = False) -> str:
    """SELECT producing the contract's columns in contract order.

    With keep_enums the string columns stay ENUM-typed (for Parquet, which
    stores them as plain strings: read back they are VARCHAR); otherwise every
    column is cast to its contract type.
    """
    exprs = canonical_expressions()
    missing = [f.name for f in TRACE_FIELDS if f.name not in exprs]
    if missing:
        raise KeyError(
            f"generators/writers.py has no expression for contract field(s) {missing}; add them to canonical_expressions"
        )
    enum_backed = set(CATEGORICAL_FIELDS) | set(code_maps((), ()).keys())
    cols = ",\n  ".join(
        f"{exprs[f.name]} as {f.name}"
        if keep_enums and f.name in enum_backed
        else f"cast({exprs[f.name]} as {f.duckdb_type}) as {f.name}"
        for f in TRACE_FIELDS
    )
    return f"select\n  {cols}{extra}\nfrom {source}"


def _attr(key: str, kind: str, expr: str, nullable: bool = True) -> str:
    """SQL building one OTLP KeyValue as JSON text; NULL when the value is null (concat_ws then skips it)."""
    if kind == "stringValue":
        value = f"to_json(cast({expr} as varchar))"  # to_json quotes and escapes
    elif kind == "intValue":
        value = f"'\"' || cast({expr} as varchar) || '\"'"  # OTLP JSON encodes int64 as a string
    else:
        value = f"cast({expr} as varchar)"
    text = f'\'{{"key":"{key}","value":{{"{kind}":\' || {value} || \'}}}}\''
    return f"case when {expr} is not null then {text} end" if nullable else text


def otlp_select() -> str:
    """One ExportTraceServiceRequest per export batch (an agent's next 100 traces), as JSON text lines.

    Resource = the agent's service; span attributes use the OpenTelemetry GenAI
    semantic-convention names. Integer attributes are strings (the OTLP JSON
    encoding of int64); times are Unix nanoseconds as strings. The JSON is
    assembled as text rather than with json_object(): nesting json_object()
    re-parses every inner document, which made this path ten times slower.
    Every free-text value goes through to_json(), which escapes it.
    """
    attrs = ",\n      ".join(
        [
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
        ]
    )
    span = f"""'{{"traceId":"' || trace_id || '","spanId":"' || span_id || '"'
      || case when parent_span_id is null then '' else ',"parentSpanId":"' || parent_span_id || '"' end
      || ',"name":' || to_json(case kind when 0 then 'invoke_agent ' || agent_name when 1 then operation || ' ' || request_model
                                    else 'execute_tool ' || tool_name end)
      || ',"kind":' || case kind when 1 then '3' else '1' end
      || ',"startTimeUnixNano":"' || cast(epoch_us(started_at) * 1000 as varchar)
      || '","endTimeUnixNano":"' || cast(epoch_us(started_at) * 1000 + cast(round(duration_ms * 1000000) as bigint) as varchar)
      || '","attributes":[' || concat_ws(',',
      {attrs}
      ) || '],"status":' || case when status = 'ok' then '{{"code":1}}' else '{{"code":2,"message":' || to_json(error_type) || '}}' end
      || '}}'"""
    resource = " || ',' || ".join(
        [
            _attr("service.name", "stringValue", "any_value(agent_name)", nullable=False),
            _attr("service.namespace", "stringValue", "any_value(workspace_id)", nullable=False),
            _attr("deployment.environment.name", "stringValue", "any_value(environment)", nullable=False),
            _attr("agentledger.department", "stringValue", "any_value(department)", nullable=False),
        ]
    )
    scope = f'{{"name":"{OTLP_SCOPE_NAME}","version":"{OTLP_SCOPE_VERSION}"}}'
    base = canonical_select(extra=",\n  kind, line, rid")
    return f"""
with canonical as (
{base}
),
spans as (
  select line, rid, agent_name, workspace_id, environment, department,
    {span} as span
  from canonical
)
select '{{"resourceSpans":[{{"resource":{{"attributes":[' || {resource}
  || ']}},"scopeSpans":[{{"scope":{scope},"spans":[' || string_agg(span, ',' order by rid) || ']}}]}}]}}' as line
from spans
group by line
order by min(rid)
"""


COPY_OPTIONS = {
    "parquet": "format parquet",
    "jsonl": "format json",
    "csv": "format csv, header true",
    # Lines are finished JSON text: no quoting, no header (tabs inside JSON strings are escaped).
    "otlp": "format csv, header false, quote '', escape '', delimiter '\t'",
}


def hidden_sibling(path: Path) -> Path:
    """A unique name beside `path` that the loader ignores (a leading '.') until it is renamed."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def replace_if_changed(staged: Path, path: Path) -> bool:
    """Rename the finished `staged` file over `path` unless `path` already holds the same bytes.

    An identical file keeps its modification time, so the loader's manifest
    still knows it and a rerun reads nothing; a changed one appears whole, by
    one rename. Returns whether `path` was (re)written; `staged` is consumed
    either way.
    """
    if path.is_file() and path.stat().st_size == staged.stat().st_size and filecmp.cmp(staged, path, shallow=False):
        staged.unlink()
        return False
    os.replace(staged, path)
    return True


class ChunkWriter:
    """Writes chunks of one run in one format; owns its in-memory DuckDB connection.

    Each file is one COPY of one chunk, run by a single DuckDB thread: files
    are written in parallel by several writers instead, which keeps every
    file's bytes independent of scheduling.
    """

    def __init__(
        self, fmt: str, agents: tuple[Agent, ...], tool_names: tuple[str, ...], threads: int | None = 1
    ) -> None:
        if fmt not in COPY_OPTIONS:
            raise ValueError(f"format {fmt!r}: expected one of {', '.join(COPY_OPTIONS)}")
        self.fmt = fmt
        self.con = duckdb.connect(config={"preserve_insertion_order": True})
        if threads:
            self.con.execute(f"set threads = {int(threads)}")
        self.con.execute("set memory_limit = '1GB'")
        self.maps = code_maps(agents, tool_names)
        self.query = otlp_select() if fmt == "otlp" else canonical_select(keep_enums=fmt == "parquet")

    def _frame(self, chunk: Chunk) -> pd.DataFrame:
        frame = chunk_frame(chunk, self.maps)
        if self.fmt == "otlp":
            frame["rid"] = np.arange(chunk.rows, dtype=np.int64)
        return frame

    def _copy(self, frame: pd.DataFrame, query: str, target: str, options: str) -> None:
        self.con.register("chunk", frame)
        try:
            self.con.execute(f"copy ({query}) to {target} ({options})").fetchall()
        finally:
            self.con.unregister("chunk")

    def write(self, chunk: Chunk, path: Path) -> bool:
        """One chunk to one file; False when the file already held exactly these bytes (left untouched)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = hidden_sibling(path)
        try:
            self._copy(self._frame(chunk), self.query, sql_str(str(staged)), COPY_OPTIONS[self.fmt])
            return replace_if_changed(staged, path)
        finally:
            staged.unlink(missing_ok=True)

    def close(self) -> None:
        self.con.close()
