"""The synthetic world: models with their list prices, tools, error kinds.

Model prices are USD per million tokens as the genai-prices catalog lists
them (tests/trace_generator check every priced entry against
`genai_prices.calc_price`). The generator uses them for two things only:
the `reported_cost_usd` a cost-reporting source would attach to a span, and
the ground-truth cost multiplier of each injected anomaly. The warehouse
prices spans itself from the catalog and never reads these numbers.

Two models are deliberately absent from the catalog (a self-hosted
fine-tune and a self-hosted embedding model) so that unpriced handling is
exercised; their prices here are None.
"""

from __future__ import annotations

from dataclasses import dataclass

# Cache styles: how a provider reports prompt caching.
CACHE_EXPLICIT = "explicit"  # reads and writes reported (Anthropic)
CACHE_IMPLICIT = "implicit"  # automatic reads only (OpenAI, Gemini, DeepSeek, Mistral small)
CACHE_NONE = "none"


@dataclass(frozen=True)
class ModelSpec:
    key: str
    provider: str
    request_model: str
    response_model: str
    operation: str
    input_per_mtok: float | None
    output_per_mtok: float | None
    cache_read_per_mtok: float | None
    cache_write_per_mtok: float | None
    cache_style: str
    context_window: int
    reasoning: bool = False
    # Above this many input tokens the whole request is priced at the long tier.
    long_context_threshold: int | None = None
    long_input_per_mtok: float | None = None
    long_output_per_mtok: float | None = None
    long_cache_read_per_mtok: float | None = None
    long_cache_write_per_mtok: float | None = None
    # Prices in the provider's off-peak window (UTC minutes of day, may wrap midnight).
    offpeak_input_per_mtok: float | None = None
    offpeak_output_per_mtok: float | None = None
    offpeak_cache_read_per_mtok: float | None = None
    offpeak_start_minute: int = 0
    offpeak_end_minute: int = 0
    # Latency profile.
    ttft_base_ms: float = 400.0
    prefill_ms_per_ktok: float = 20.0
    decode_tokens_per_s: float = 80.0

    @property
    def priced(self) -> bool:
        return self.input_per_mtok is not None


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "gpt-4o",
        "openai",
        "gpt-4o",
        "gpt-4o-2024-08-06",
        "chat",
        2.5,
        10.0,
        1.25,
        2.5,
        CACHE_IMPLICIT,
        128_000,
        ttft_base_ms=450,
        prefill_ms_per_ktok=12,
        decode_tokens_per_s=90,
    ),
    ModelSpec(
        "gpt-4o-mini",
        "openai",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "chat",
        0.15,
        0.6,
        0.075,
        0.15,
        CACHE_IMPLICIT,
        128_000,
        ttft_base_ms=300,
        prefill_ms_per_ktok=6,
        decode_tokens_per_s=120,
    ),
    ModelSpec(
        "gpt-4.1",
        "openai",
        "gpt-4.1",
        "gpt-4.1-2025-04-14",
        "chat",
        2.0,
        8.0,
        0.5,
        2.0,
        CACHE_IMPLICIT,
        1_000_000,
        ttft_base_ms=500,
        prefill_ms_per_ktok=10,
        decode_tokens_per_s=85,
    ),
    ModelSpec(
        "gpt-4.1-mini",
        "openai",
        "gpt-4.1-mini",
        "gpt-4.1-mini-2025-04-14",
        "chat",
        0.4,
        1.6,
        0.1,
        0.4,
        CACHE_IMPLICIT,
        1_000_000,
        ttft_base_ms=320,
        prefill_ms_per_ktok=6,
        decode_tokens_per_s=110,
    ),
    ModelSpec(
        "o3-mini",
        "openai",
        "o3-mini",
        "o3-mini-2025-01-31",
        "chat",
        1.1,
        4.4,
        0.55,
        1.1,
        CACHE_IMPLICIT,
        200_000,
        reasoning=True,
        ttft_base_ms=1800,
        prefill_ms_per_ktok=8,
        decode_tokens_per_s=150,
    ),
    ModelSpec(
        "text-embedding-3-small",
        "openai",
        "text-embedding-3-small",
        "text-embedding-3-small",
        "embeddings",
        0.02,
        0.0,
        None,
        None,
        CACHE_NONE,
        8_191,
        ttft_base_ms=60,
        prefill_ms_per_ktok=2,
        decode_tokens_per_s=1e9,
    ),
    ModelSpec(
        "ft-gpt-4o-mini-triage",
        "openai",
        "ft:gpt-4o-mini-2024-07-18:acme:triage:9x2k",
        "ft:gpt-4o-mini-2024-07-18:acme:triage:9x2k",
        "chat",
        0.3,
        1.2,
        None,
        None,
        CACHE_NONE,
        128_000,
        ttft_base_ms=280,
        prefill_ms_per_ktok=6,
        decode_tokens_per_s=120,
    ),
    ModelSpec(
        "claude-sonnet-4-5",
        "anthropic",
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "chat",
        3.0,
        15.0,
        0.3,
        3.75,
        CACHE_EXPLICIT,
        1_000_000,
        long_context_threshold=200_000,
        long_input_per_mtok=6.0,
        long_output_per_mtok=22.5,
        long_cache_read_per_mtok=0.6,
        long_cache_write_per_mtok=7.5,
        ttft_base_ms=700,
        prefill_ms_per_ktok=15,
        decode_tokens_per_s=70,
    ),
    ModelSpec(
        "claude-haiku-4-5",
        "anthropic",
        "claude-haiku-4-5",
        "claude-haiku-4-5-20251001",
        "chat",
        1.0,
        5.0,
        0.1,
        1.25,
        CACHE_EXPLICIT,
        200_000,
        ttft_base_ms=400,
        prefill_ms_per_ktok=7,
        decode_tokens_per_s=140,
    ),
    ModelSpec(
        "claude-opus-4-1",
        "anthropic",
        "claude-opus-4-1",
        "claude-opus-4-1-20250805",
        "chat",
        15.0,
        75.0,
        1.5,
        18.75,
        CACHE_EXPLICIT,
        200_000,
        ttft_base_ms=1200,
        prefill_ms_per_ktok=25,
        decode_tokens_per_s=40,
    ),
    ModelSpec(
        "gemini-2.5-flash",
        "gcp.gemini",
        "gemini-2.5-flash",
        "gemini-2.5-flash",
        "generate_content",
        0.3,
        2.5,
        0.03,
        None,
        CACHE_IMPLICIT,
        1_000_000,
        reasoning=True,
        ttft_base_ms=450,
        prefill_ms_per_ktok=4,
        decode_tokens_per_s=180,
    ),
    ModelSpec(
        "gemini-2.5-pro",
        "gcp.gemini",
        "gemini-2.5-pro",
        "gemini-2.5-pro",
        "generate_content",
        1.25,
        10.0,
        0.125,
        None,
        CACHE_IMPLICIT,
        1_000_000,
        reasoning=True,
        long_context_threshold=200_000,
        long_input_per_mtok=2.5,
        long_output_per_mtok=15.0,
        long_cache_read_per_mtok=0.25,
        ttft_base_ms=1500,
        prefill_ms_per_ktok=9,
        decode_tokens_per_s=90,
    ),
    ModelSpec(
        "mistral-large",
        "mistral_ai",
        "mistral-large-latest",
        "mistral-large-2411",
        "chat",
        2.0,
        6.0,
        None,
        None,
        CACHE_NONE,
        128_000,
        ttft_base_ms=500,
        prefill_ms_per_ktok=12,
        decode_tokens_per_s=60,
    ),
    ModelSpec(
        "mistral-small",
        "mistral_ai",
        "mistral-small-latest",
        "mistral-small-latest",
        "chat",
        0.15,
        0.6,
        None,
        None,
        CACHE_NONE,
        128_000,
        ttft_base_ms=250,
        prefill_ms_per_ktok=5,
        decode_tokens_per_s=150,
    ),
    ModelSpec(
        "deepseek-chat",
        "deepseek",
        "deepseek-chat",
        "deepseek-chat",
        "chat",
        0.27,
        1.1,
        0.07,
        None,
        CACHE_IMPLICIT,
        128_000,
        offpeak_input_per_mtok=0.135,
        offpeak_output_per_mtok=0.55,
        offpeak_cache_read_per_mtok=0.035,
        offpeak_start_minute=16 * 60 + 30,
        offpeak_end_minute=30,
        ttft_base_ms=900,
        prefill_ms_per_ktok=10,
        decode_tokens_per_s=50,
    ),
    ModelSpec(
        "deepseek-reasoner",
        "deepseek",
        "deepseek-reasoner",
        "deepseek-reasoner",
        "chat",
        0.55,
        2.19,
        0.14,
        None,
        CACHE_IMPLICIT,
        128_000,
        reasoning=True,
        offpeak_input_per_mtok=0.135,
        offpeak_output_per_mtok=0.55,
        offpeak_cache_read_per_mtok=0.035,
        offpeak_start_minute=16 * 60 + 30,
        offpeak_end_minute=30,
        ttft_base_ms=2500,
        prefill_ms_per_ktok=10,
        decode_tokens_per_s=45,
    ),
    # Not in the catalog: self-hosted models served by vLLM.
    ModelSpec(
        "acme-llama-ft",
        "vllm",
        "acme-support-llama-3.1-70b-ft",
        "acme-support-llama-3.1-70b-ft",
        "chat",
        None,
        None,
        None,
        None,
        CACHE_NONE,
        128_000,
        ttft_base_ms=350,
        prefill_ms_per_ktok=9,
        decode_tokens_per_s=55,
    ),
    ModelSpec(
        "acme-embed",
        "vllm",
        "acme-embed-v2",
        "acme-embed-v2",
        "embeddings",
        None,
        None,
        None,
        None,
        CACHE_NONE,
        8_192,
        ttft_base_ms=40,
        prefill_ms_per_ktok=2,
        decode_tokens_per_s=1e9,
    ),
)

MODEL_INDEX: dict[str, int] = {m.key: i for i, m in enumerate(MODELS)}


def model(key: str) -> ModelSpec:
    return MODELS[MODEL_INDEX[key]]


# Model-call error kinds (error.type values) and their share among ordinary errors.
MODEL_ERRORS: tuple[tuple[str, float], ...] = (
    ("rate_limit", 0.45),
    ("server_error", 0.20),
    ("timeout", 0.15),
    ("overloaded", 0.10),
    ("invalid_request", 0.10),
)
TOOL_ERRORS: tuple[str, ...] = ("ToolExecutionError", "timeout")
# During a provider outage errors are server-side only.
OUTAGE_ERRORS: tuple[str, ...] = ("server_error", "overloaded")

ERROR_TYPES: tuple[str, ...] = tuple(
    dict.fromkeys([e for e, _ in MODEL_ERRORS] + list(TOOL_ERRORS) + list(OUTAGE_ERRORS))
)

# service_tier codes: 0 means not reported (null, i.e. default).
TIERS: tuple[str, ...] = ("default", "batch", "priority", "flex")
