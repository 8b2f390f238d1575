"""Resolve every (provider, request_model, response_model) seen on model spans to a price.

This is the one place model names are matched. Catalog matching is delegated
to genai-prices itself (`DataSnapshot.find_provider` / `Provider.find_model`:
dated snapshots, aliases, `-latest`, Bedrock region prefixes and the
provider fallbacks such as Azure -> OpenAI), so the warehouse follows the
catalog's own rules instead of re-implementing them. The only additions are
the two the catalog cannot know about:

1. OTel provider names (gcp.vertex_ai, aws.bedrock, ...) are mapped to
   catalog provider ids through the catalog_provider_map seed; unmapped names
   are passed to the catalog as they are (its provider match rules apply).
2. A model ref with a routing prefix (anthropic/claude-..., models/gemini-...)
   that the catalog does not know as such is retried without the prefix,
   the way the library already does for LiteLLM refs.

Custom prices match first, by exact (case-insensitive) provider and model
name, response_model before request_model.

Runs over the distinct name combinations only (a few hundred rows), so the
per-row Python here is not on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

RESULT_COLUMNS: dict[str, str] = {
    "provider": "varchar",
    "request_model": "varchar",
    "response_model": "varchar",
    "catalog_provider_id": "varchar",
    "price_provider_id": "varchar",
    "catalog_model_id": "varchar",
    "matched_model_ref": "varchar",
    "custom_provider_key": "varchar",
    "custom_model_key": "varchar",
}


def candidate_refs(request_model: str | None, response_model: str | None) -> list[str]:
    """Model refs to try, most specific first: the response model (often a dated
    snapshot), then the requested one; each as recorded, then without a routing prefix."""
    refs: list[str] = []
    for name in (response_model, request_model):
        if not name or not name.strip():
            continue
        name = name.strip()
        for ref in (name, name.rsplit("/", 1)[-1]):
            if ref and ref not in refs:
                refs.append(ref)
    return refs


def resolve_catalog_model(
    provider: str | None,
    request_model: str | None,
    response_model: str | None,
    provider_map: Mapping[str, str],
    snapshot: object | None = None,
) -> dict[str, str | None]:
    """Catalog provider, the provider whose price list holds the model, model id and the ref that matched.

    All values are None when the provider or model is not in the catalog.
    """
    if snapshot is None:
        from genai_prices.data_snapshot import get_snapshot

        snapshot = get_snapshot()
    unmatched: dict[str, str | None] = {
        "catalog_provider_id": None,
        "price_provider_id": None,
        "catalog_model_id": None,
        "matched_model_ref": None,
    }
    provider_id = provider_map.get(provider.strip().lower(), provider.strip().lower()) if provider else None
    owners = {id(model): p.id for p in snapshot.providers for model in p.models}
    for ref in candidate_refs(request_model, response_model):
        try:
            catalog_provider, model = snapshot.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        return {
            "catalog_provider_id": catalog_provider.id,
            "price_provider_id": owners.get(id(model), catalog_provider.id),
            "catalog_model_id": model.id,
            "matched_model_ref": ref,
        }
    return unmatched


def resolve_custom_model(
    provider: str | None,
    request_model: str | None,
    response_model: str | None,
    custom_names: set[tuple[str, str]],
) -> dict[str, str | None]:
    """Exact, case-insensitive name match against the custom price seed."""
    provider_key = (provider or "").strip().lower()
    for name in (response_model, request_model):
        model_key = (name or "").strip().lower()
        if model_key and (provider_key, model_key) in custom_names:
            return {"custom_provider_key": provider_key, "custom_model_key": model_key}
    return {"custom_provider_key": None, "custom_model_key": None}


def resolve_all(
    combinations: Iterable[tuple[str | None, str | None, str | None]],
    provider_map: Mapping[str, str],
    custom_names: set[tuple[str, str]],
) -> pd.DataFrame:
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    normalized_map = {k.strip().lower(): v for k, v in provider_map.items()}
    rows = []
    for provider, request_model, response_model in combinations:
        rows.append(
            {
                "provider": provider,
                "request_model": request_model,
                "response_model": response_model,
                **resolve_catalog_model(provider, request_model, response_model, normalized_map, snapshot),
                **resolve_custom_model(provider, request_model, response_model, custom_names),
            }
        )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS), dtype=object)


def model(dbt, session):
    dbt.config(materialized="table")
    combinations = (
        dbt.ref("int_model_names_daily")
        .aggregate("provider, request_model, response_model", "provider, request_model, response_model")
        .fetchall()
    )
    provider_map = dict(
        dbt.ref("stg_reference__catalog_provider_map").project("otel_provider, catalog_provider_id").fetchall()
    )
    custom_names = {
        (str(p).strip().lower(), str(m).strip().lower())
        for p, m in dbt.ref("stg_reference__custom_model_prices").project("provider_id, model_id").fetchall()
    }
    matches = resolve_all(combinations, provider_map, custom_names)
    typed = ", ".join(f"cast({name} as {sql_type}) as {name}" for name, sql_type in RESULT_COLUMNS.items())
    return session.from_df(matches).project(typed)
