"""Ingestion options read from the environment, and the attribute mapping file.

`load_ingest_options()` is the one place the loader reads its own environment
variables (the project-wide ones stay in `orchestration.settings`):

| variable | default | meaning |
| --- | --- | --- |
| AGENTLEDGER_ATTRIBUTE_MAPPING | unset (built-in defaults) | path of a YAML or JSON file overriding which OTLP attributes fill workspace_id, department, environment, user_id, ... and which sources report input tokens without cache |
| AGENTLEDGER_MAX_SPAN_AGE_DAYS | `1826` (5 years) | spans that started longer ago are quarantined as absurdly old |
| AGENTLEDGER_FUTURE_TOLERANCE_SECONDS | `300` | spans that start later than now plus this are quarantined (clock skew allowance) |
| AGENTLEDGER_INGEST_MEMORY_LIMIT | `3GB` | DuckDB memory limit for a load; larger batches spill to disk |
| AGENTLEDGER_VALIDATION_SAMPLE_ROWS | `200000` | loaded batches larger than this are validated on a reproducible sample |
| AGENTLEDGER_INGEST_THREADS | `2` | DuckDB threads of a load (the machine it was sized for has two cores) |

Limits on hostile input (each breach has its own rule name, see docs/ingestion.md):

| variable | default | rule |
| --- | --- | --- |
| AGENTLEDGER_INGEST_MAX_LINE_BYTES | `134217728` (128 MiB) | `line_too_long`: the line is quarantined, the rest of the file loads |
| AGENTLEDGER_INGEST_MAX_HEADER_BYTES | `131072` (128 KiB) | `header_too_long`: a CSV whose header line is longer is quarantined whole |
| AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES | `17179869184` (16 GiB) | `decompressed_too_large`: a file (after gunzip) larger than this is quarantined whole |
| AGENTLEDGER_INGEST_MAX_JSON_DEPTH | `64` | `json_too_deep`: a `tags` value nested deeper; Python never parses file JSON deeper than this |
| AGENTLEDGER_INGEST_ALLOW_SYMLINKS | `false` | `symlink_outside_landing`: a symlink leading outside the landing folder is quarantined unless `true` |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_ATTRIBUTE_MAPPING = "AGENTLEDGER_ATTRIBUTE_MAPPING"
ENV_MAX_SPAN_AGE_DAYS = "AGENTLEDGER_MAX_SPAN_AGE_DAYS"
ENV_FUTURE_TOLERANCE_SECONDS = "AGENTLEDGER_FUTURE_TOLERANCE_SECONDS"
ENV_INGEST_MEMORY_LIMIT = "AGENTLEDGER_INGEST_MEMORY_LIMIT"
ENV_VALIDATION_SAMPLE_ROWS = "AGENTLEDGER_VALIDATION_SAMPLE_ROWS"
ENV_INGEST_THREADS = "AGENTLEDGER_INGEST_THREADS"
ENV_MAX_LINE_BYTES = "AGENTLEDGER_INGEST_MAX_LINE_BYTES"
ENV_MAX_HEADER_BYTES = "AGENTLEDGER_INGEST_MAX_HEADER_BYTES"
ENV_MAX_DECOMPRESSED_BYTES = "AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES"
ENV_MAX_JSON_DEPTH = "AGENTLEDGER_INGEST_MAX_JSON_DEPTH"
ENV_ALLOW_SYMLINKS = "AGENTLEDGER_INGEST_ALLOW_SYMLINKS"

# Contract columns whose OTLP source attribute is configurable, with the
# default attribute keys in priority order. For each key the span's own
# attribute is tried before the resource attribute of the same name.
DEFAULT_FIELD_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "workspace_id": ("agentledger.workspace_id", "service.namespace", "service.name"),
    "department": ("agentledger.department",),
    "environment": ("deployment.environment.name", "deployment.environment"),
    "user_id": ("user.id", "enduser.id"),
    "agent_id": ("gen_ai.agent.id",),
    "agent_name": ("gen_ai.agent.name", "agent.name"),
    "conversation_id": ("gen_ai.conversation.id", "session.id"),
    "reported_cost_usd": ("agentledger.reported_cost_usd", "gen_ai.usage.cost", "operation.cost", "llm.cost.total"),
}


@dataclass(frozen=True)
class SourceProfile:
    """A source known to report a usage count with a non-OpenTelemetry meaning.

    A span matches when every given criterion matches: the instrumentation
    scope name (exact), the provider (exact, after deprecated-name mapping)
    and the request model (SQL LIKE pattern, case-insensitive).
    """

    name: str
    scope_name: str | None = None
    provider: str | None = None
    model_like: str | None = None


# Instrumentations known to report input tokens WITHOUT cache reads and
# writes, always applied (a mapping file adds its own). OpenLIT passes
# Anthropic's input_tokens through, and on a streamed call reports the cache
# counts as 0, so the inequality rule (docs/ingestion.md) cannot see it.
BUILT_IN_INPUT_EXCLUDES_CACHE: tuple[SourceProfile, ...] = (
    SourceProfile("openlit-anthropic", scope_name="openlit.instrumentation.anthropic"),
)


@dataclass(frozen=True)
class AttributeMapping:
    fields: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_FIELD_ATTRIBUTES))
    # Sources whose gen_ai.usage.input_tokens EXCLUDES cache reads and writes.
    input_excludes_cache: tuple[SourceProfile, ...] = BUILT_IN_INPUT_EXCLUDES_CACHE
    # Sources whose gen_ai.usage.output_tokens EXCLUDES reasoning tokens.
    output_excludes_reasoning: tuple[SourceProfile, ...] = ()
    source: str = "built-in defaults"


@dataclass(frozen=True)
class IngestOptions:
    mapping: AttributeMapping
    max_span_age_days: int
    future_tolerance_seconds: int
    memory_limit: str
    validation_sample_rows: int
    threads: int = 2
    limits: "InputLimits" = field(default_factory=lambda: InputLimits())


@dataclass(frozen=True)
class InputLimits:
    """Bounds on what one landing file may hold (hostile input cannot exhaust the loader)."""

    max_line_bytes: int = 128 * 1024 * 1024
    max_header_bytes: int = 128 * 1024
    max_decompressed_bytes: int = 16 * 1024**3
    max_json_depth: int = 64
    allow_symlinks: bool = False


def load_input_limits() -> InputLimits:
    allow = (os.environ.get(ENV_ALLOW_SYMLINKS) or "").strip().lower()
    if allow not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"{ENV_ALLOW_SYMLINKS}={allow!r}; expected true or false")
    return InputLimits(
        max_line_bytes=max(1024, _int_env(ENV_MAX_LINE_BYTES, InputLimits.max_line_bytes)),
        max_header_bytes=max(64, _int_env(ENV_MAX_HEADER_BYTES, InputLimits.max_header_bytes)),
        max_decompressed_bytes=max(1, _int_env(ENV_MAX_DECOMPRESSED_BYTES, InputLimits.max_decompressed_bytes)),
        max_json_depth=max(2, _int_env(ENV_MAX_JSON_DEPTH, InputLimits.max_json_depth)),
        allow_symlinks=allow in ("1", "true", "yes"),
    )


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer; expected e.g. {default}") from exc


def _profiles(path: Path, key: str, raw: object) -> tuple[SourceProfile, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{path}: '{key}' must be a list of profiles ({{name, scope_name, provider, model_like}})")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("name"):
            raise ValueError(f"{path}: '{key}' entry {i + 1} must be a mapping with at least a 'name'")
        unknown = set(item) - {"name", "scope_name", "provider", "model_like"}
        if unknown:
            raise ValueError(f"{path}: '{key}' entry {i + 1} has unknown keys {sorted(unknown)}; expected name, scope_name, provider, model_like")
        if not any(item.get(k) for k in ("scope_name", "provider", "model_like")):
            raise ValueError(f"{path}: '{key}' entry {i + 1} ({item['name']}) needs at least one of scope_name, provider, model_like")
        out.append(SourceProfile(str(item["name"]), item.get("scope_name"), item.get("provider"), item.get("model_like")))
    return tuple(out)


def load_attribute_mapping(path: Path | None) -> AttributeMapping:
    """Defaults, overridden field by field by the YAML/JSON file at `path`."""
    if path is None:
        return AttributeMapping()
    if not path.is_file():
        raise FileNotFoundError(f"{ENV_ATTRIBUTE_MAPPING} points to {path}, which is not a file")
    text = path.read_text()
    if path.suffix.lower() == ".json":
        doc = json.loads(text)
    else:
        import yaml  # a dependency of dbt and Dagster; only needed for YAML mapping files

        doc = yaml.safe_load(text)
    doc = doc or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping with keys fields, input_excludes_cache, output_excludes_reasoning")
    unknown = set(doc) - {"fields", "input_excludes_cache", "output_excludes_reasoning"}
    if unknown:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown)}; expected fields, input_excludes_cache, output_excludes_reasoning")
    fields = dict(DEFAULT_FIELD_ATTRIBUTES)
    for name, keys in (doc.get("fields") or {}).items():
        if name not in DEFAULT_FIELD_ATTRIBUTES:
            raise ValueError(f"{path}: field '{name}' cannot be mapped; expected one of {sorted(DEFAULT_FIELD_ATTRIBUTES)}")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError(f"{path}: field '{name}' must list one or more attribute keys")
        from orchestration.ingest.privacy import is_content_key

        content = [k for k in keys if is_content_key(k)]
        if content:
            raise ValueError(f"{path}: field '{name}' would read content attributes {content}; they are never ingested")
        fields[name] = tuple(keys)
    return AttributeMapping(
        fields=fields,
        input_excludes_cache=BUILT_IN_INPUT_EXCLUDES_CACHE
        + _profiles(path, "input_excludes_cache", doc.get("input_excludes_cache")),
        output_excludes_reasoning=_profiles(path, "output_excludes_reasoning", doc.get("output_excludes_reasoning")),
        source=str(path),
    )


def load_ingest_options() -> IngestOptions:
    """Read the loader's environment variables at call time (never at import time)."""
    mapping_path = os.environ.get(ENV_ATTRIBUTE_MAPPING)
    return IngestOptions(
        mapping=load_attribute_mapping(Path(mapping_path).expanduser().resolve() if mapping_path else None),
        max_span_age_days=_int_env(ENV_MAX_SPAN_AGE_DAYS, 1826),
        future_tolerance_seconds=_int_env(ENV_FUTURE_TOLERANCE_SECONDS, 300),
        memory_limit=os.environ.get(ENV_INGEST_MEMORY_LIMIT) or "3GB",
        validation_sample_rows=_int_env(ENV_VALIDATION_SAMPLE_ROWS, 200_000),
        threads=max(1, _int_env(ENV_INGEST_THREADS, 2)),
        limits=load_input_limits(),
    )
