"""The loader's options, and the attribute mapping file.

`load_ingest_options()` builds them from the variables
`orchestration.settings.load_ingest_settings()` reads (the table of
variables, defaults and rules is there and in docs/ingestion.md); this module
never reads the environment itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.settings import IngestSettings, load_ingest_settings

ENV_ATTRIBUTE_MAPPING = "AGENTLEDGER_ATTRIBUTE_MAPPING"

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
    limits: InputLimits = field(default_factory=lambda: InputLimits())


@dataclass(frozen=True)
class InputLimits:
    """Bounds on what one landing file may hold (hostile input cannot exhaust the loader)."""

    max_line_bytes: int = 128 * 1024 * 1024
    max_header_bytes: int = 128 * 1024
    max_decompressed_bytes: int = 16 * 1024**3
    max_json_depth: int = 64
    allow_symlinks: bool = False


def input_limits(env: IngestSettings) -> InputLimits:
    """The limits as set, each raised to a floor below which the loader cannot work."""
    return InputLimits(
        max_line_bytes=max(1024, env.max_line_bytes),
        max_header_bytes=max(64, env.max_header_bytes),
        max_decompressed_bytes=max(1, env.max_decompressed_bytes),
        max_json_depth=max(2, env.max_json_depth),
        allow_symlinks=env.allow_symlinks,
    )


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
            raise ValueError(
                f"{path}: '{key}' entry {i + 1} has unknown keys {sorted(unknown)}; expected name, scope_name, provider, model_like"
            )
        if not any(item.get(k) for k in ("scope_name", "provider", "model_like")):
            raise ValueError(
                f"{path}: '{key}' entry {i + 1} ({item['name']}) needs at least one of scope_name, provider, model_like"
            )
        out.append(
            SourceProfile(str(item["name"]), item.get("scope_name"), item.get("provider"), item.get("model_like"))
        )
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
        raise ValueError(
            f"{path}: expected a mapping with keys fields, input_excludes_cache, output_excludes_reasoning"
        )
    unknown = set(doc) - {"fields", "input_excludes_cache", "output_excludes_reasoning"}
    if unknown:
        raise ValueError(
            f"{path}: unknown top-level keys {sorted(unknown)}; expected fields, input_excludes_cache, output_excludes_reasoning"
        )
    fields = dict(DEFAULT_FIELD_ATTRIBUTES)
    for name, keys in (doc.get("fields") or {}).items():
        if name not in DEFAULT_FIELD_ATTRIBUTES:
            raise ValueError(
                f"{path}: field '{name}' cannot be mapped; expected one of {sorted(DEFAULT_FIELD_ATTRIBUTES)}"
            )
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
    """The loader's options from its variables, read at call time (never at import time)."""
    env = load_ingest_settings()
    return IngestOptions(
        mapping=load_attribute_mapping(env.attribute_mapping_path),
        max_span_age_days=env.max_span_age_days,
        future_tolerance_seconds=env.future_tolerance_seconds,
        memory_limit=env.memory_limit,
        validation_sample_rows=env.validation_sample_rows,
        threads=max(1, env.threads),
        limits=input_limits(env),
    )
