"""Model names resolve the way the catalog resolves them, in one place (int_model_catalog_matches.py)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("provider", "request_model", "response_model", "catalog_provider_id", "price_provider_id", "model_id"),
    [
        # dated snapshot in the response model
        ("openai", "gpt-4o", "gpt-4o-2024-08-06", "openai", "openai", "gpt-4o"),
        # alias
        ("anthropic", "claude-3-5-sonnet-latest", None, "anthropic", "anthropic", "claude-3-5-sonnet"),
        # routing prefix dropped when the full ref is unknown
        ("anthropic", "anthropic/claude-3-5-sonnet-20241022", None, "anthropic", "anthropic", "claude-3-5-sonnet"),
        ("gcp.gemini", "models/gemini-2.5-flash", None, "google", "google", "gemini-2.5-flash"),
        # OTel provider names mapped to catalog providers
        ("mistral_ai", "mistral-large-latest", "mistral-large-2411", "mistral", "mistral", "mistral-large"),
        ("x_ai", "grok-3", None, "x-ai", "x-ai", "grok-3"),
        # catalog fallback: Azure serves OpenAI models at OpenAI's prices
        ("azure.ai.openai", "gpt-4o", "gpt-4o-2024-08-06", "azure", "openai", "gpt-4o"),
        # Bedrock cross-region inference profile
        (
            "aws.bedrock",
            None,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "aws",
            "aws",
            "regional.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        # an unmapped provider name goes to the catalog's own provider match rules
        (
            "together_ai",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            None,
            "together",
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
    ],
)
def test_catalog_matching(
    matcher, provider_map, provider, request_model, response_model, catalog_provider_id, price_provider_id, model_id
):
    match = matcher.resolve_catalog_model(provider, request_model, response_model, provider_map)
    assert (match["catalog_provider_id"], match["price_provider_id"], match["catalog_model_id"]) == (
        catalog_provider_id,
        price_provider_id,
        model_id,
    )


def test_response_model_wins_over_request_model(matcher, provider_map):
    match = matcher.resolve_catalog_model("openai", "gpt-4o", "gpt-4o-mini-2024-07-18", provider_map)
    assert match["catalog_model_id"] == "gpt-4o-mini"
    assert match["matched_model_ref"] == "gpt-4o-mini-2024-07-18"


def test_request_model_used_when_response_model_unknown(matcher, provider_map):
    match = matcher.resolve_catalog_model("openai", "gpt-4o", "router-internal-name", provider_map)
    assert match["catalog_model_id"] == "gpt-4o"
    assert match["matched_model_ref"] == "gpt-4o"


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("vllm", "acme-support-llama-3.1-70b-ft"),
        ("ibm.watsonx.ai", "granite-13b"),
        ("openai", "no-such-model"),
        ("openai", None),
    ],
)
def test_unknown_models_are_unmatched(matcher, provider_map, provider, model):
    match = matcher.resolve_catalog_model(provider, model, model, provider_map)
    assert match == {
        "catalog_provider_id": None,
        "price_provider_id": None,
        "catalog_model_id": None,
        "matched_model_ref": None,
    }


def test_custom_prices_match_exact_names_case_insensitively(matcher):
    custom = {("openai", "gpt-4o-2024-08-06"), ("self_hosted", "llama-3.1-70b")}
    assert matcher.resolve_custom_model("OpenAI", "gpt-4o", "GPT-4o-2024-08-06", custom) == {
        "custom_provider_key": "openai",
        "custom_model_key": "gpt-4o-2024-08-06",
    }
    assert (
        matcher.resolve_custom_model("self_hosted", "llama-3.1-70b", None, custom)["custom_model_key"]
        == "llama-3.1-70b"
    )
    # exact names only: a dated variant of a custom name does not match
    assert matcher.resolve_custom_model("openai", "gpt-4o", "gpt-4o-2024-11-20", custom)["custom_model_key"] is None
    assert matcher.resolve_custom_model("anthropic", "gpt-4o-2024-08-06", None, custom)["custom_model_key"] is None


def test_resolve_all_returns_one_row_per_combination(matcher, provider_map):
    frame = matcher.resolve_all([("openai", "gpt-4o", "gpt-4o-2024-08-06"), ("vllm", "x", None)], provider_map, set())
    assert list(frame.columns) == list(matcher.RESULT_COLUMNS)
    assert frame["catalog_model_id"].tolist() == ["gpt-4o", None]
