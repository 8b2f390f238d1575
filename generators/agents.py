"""Agents: who calls which models, how much, when, and how well they cache.

Agents are drawn from a small set of families (support triage, code review,
research, ...). A family fixes the department, workspace, model mix and the
shape of the traffic; each agent then gets its own jittered parameters from
the seed, so two agents of one family still look different in the data.
The family order puts the families the anomaly injector needs (heavy
caching, input-heavy, upgradable model) first, so even 5 agents can carry
every anomaly kind; the sixth runs a self-hosted model the price catalog
does not know.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from generators.catalog import MODEL_INDEX, MODELS


@dataclass(frozen=True)
class Family:
    stem: str
    department: str
    workspace: str
    models: tuple[tuple[str, float], ...]
    switch_to: str | None  # pricier model a silent switch moves the agent to
    prompt_median: float
    output_median: float
    cache_hit: float  # share of input served from cache on a warm call
    cache_write_share: float  # share of uncached input written to cache (explicit-cache providers)
    calls_per_trace: float
    tool_rate: float
    tools: tuple[str, ...]
    streaming: bool = True
    batch_share: float = 0.0
    tier: int = 0  # service_tier code for non-batch traffic (0 = not reported)
    flex_share: float = 0.0
    long_context_rate: float = 0.0
    error_multiplier: float = 1.0
    weekend_factor: float = 0.35
    peak_hour_utc: float = 15.0
    peak_width_h: float = 3.5
    reports_cost: bool = False
    embed_model: str | None = None  # first call of each trace embeds the query
    environment: str = "production"
    input_heavy: bool = True
    prompt_sigma: float = 0.55
    output_sigma: float = 0.6
    reasoning_ratio: float = 0.0  # reasoning tokens per visible output token on reasoning models
    users: int = 800


FAMILIES: tuple[Family, ...] = (
    Family(
        "support-triage",
        "Customer Support",
        "acme-support",
        (("claude-haiku-4-5", 0.8), ("claude-sonnet-4-5", 0.2)),
        "claude-opus-4-1",
        6_000,
        250,
        0.92,
        0.6,
        3.0,
        0.5,
        ("kb_search", "ticket_lookup", "refund_policy"),
        weekend_factor=0.7,
        peak_hour_utc=15,
        reports_cost=True,
        users=3000,
    ),
    Family(
        "code-review",
        "Engineering",
        "acme-engineering",
        (("claude-sonnet-4-5", 0.85), ("claude-haiku-4-5", 0.15)),
        "claude-opus-4-1",
        22_000,
        700,
        0.9,
        0.5,
        5.0,
        0.7,
        ("read_file", "run_tests", "git_diff", "search_code"),
        long_context_rate=0.003,
        weekend_factor=0.25,
        peak_hour_utc=16,
        users=400,
    ),
    Family(
        "invoice-extractor",
        "Finance",
        "acme-backoffice",
        (("gpt-4o-mini", 0.92), ("gpt-4o", 0.08)),
        "gpt-4o",
        3_000,
        400,
        0.25,
        0.0,
        2.0,
        0.3,
        ("ocr_page", "validate_invoice"),
        streaming=False,
        batch_share=0.7,
        tier=1,
        weekend_factor=0.9,
        peak_hour_utc=3,
        peak_width_h=2.0,
        reports_cost=True,
        users=60,
    ),
    Family(
        "research-assistant",
        "Research",
        "acme-research",
        (("gemini-2.5-flash", 0.6), ("gemini-2.5-pro", 0.4)),
        "claude-opus-4-1",
        12_000,
        900,
        0.3,
        0.0,
        4.0,
        0.6,
        ("web_search", "fetch_url", "read_pdf"),
        long_context_rate=0.008,
        peak_hour_utc=14,
        reasoning_ratio=1.2,
        users=500,
    ),
    Family(
        "data-analyst",
        "Data Science",
        "acme-research",
        (("o3-mini", 0.6), ("gpt-4.1", 0.4)),
        None,
        4_000,
        700,
        0.5,
        0.0,
        4.0,
        0.6,
        ("run_sql", "plot_chart"),
        tier=1,
        flex_share=0.3,
        reasoning_ratio=2.5,
        input_heavy=False,
        peak_hour_utc=15,
        reports_cost=True,
        users=300,
    ),
    Family(
        "self-hosted-helpdesk",
        "Customer Support",
        "acme-support",
        (("acme-llama-ft", 1.0),),
        None,
        3_500,
        300,
        0.0,
        0.0,
        2.0,
        0.3,
        ("ticket_lookup",),
        peak_hour_utc=9,
        embed_model="acme-embed",
        input_heavy=False,
        users=1200,
    ),
    Family(
        "kb-answers",
        "Customer Success",
        "acme-support",
        (("gpt-4.1-mini", 0.85), ("gpt-4.1", 0.15)),
        "gpt-4.1",
        8_000,
        350,
        0.55,
        0.0,
        3.0,
        0.4,
        ("vector_search",),
        tier=1,
        weekend_factor=0.6,
        peak_hour_utc=13,
        embed_model="text-embedding-3-small",
        users=5000,
    ),
    Family(
        "contract-reviewer",
        "Legal",
        "acme-backoffice",
        (("claude-sonnet-4-5", 0.75), ("claude-opus-4-1", 0.25)),
        None,
        40_000,
        1_200,
        0.9,
        0.5,
        3.0,
        0.3,
        ("clause_lookup",),
        long_context_rate=0.01,
        weekend_factor=0.15,
        peak_hour_utc=15,
        users=80,
    ),
    Family(
        "sales-writer",
        "Sales",
        "acme-gtm",
        (("mistral-small", 0.6), ("mistral-large", 0.4)),
        "claude-opus-4-1",
        2_500,
        700,
        0.0,
        0.0,
        2.0,
        0.4,
        ("crm_lookup",),
        peak_hour_utc=16,
        users=250,
    ),
    Family(
        "log-summarizer",
        "Platform",
        "acme-engineering",
        (("deepseek-chat", 0.7), ("deepseek-reasoner", 0.3)),
        None,
        15_000,
        500,
        0.6,
        0.0,
        2.0,
        0.2,
        ("fetch_logs",),
        weekend_factor=0.9,
        peak_hour_utc=12,
        peak_width_h=8.0,
        reasoning_ratio=1.5,
        environment="production",
        users=40,
    ),
    Family(
        "ticket-router",
        "Customer Support",
        "acme-support",
        (("ft-gpt-4o-mini-triage", 1.0),),
        None,
        1_500,
        30,
        0.0,
        0.0,
        1.0,
        0.0,
        (),
        streaming=False,
        tier=3,
        weekend_factor=0.7,
        peak_hour_utc=15,
        reports_cost=True,
        users=3000,
    ),
    Family(
        "marketing-copy",
        "Marketing",
        "acme-gtm",
        (("gpt-4o", 0.55), ("gpt-4.1-mini", 0.45)),
        None,
        1_500,
        800,
        0.1,
        0.0,
        2.0,
        0.2,
        ("brand_guidelines",),
        tier=1,
        environment="staging",
        peak_hour_utc=17,
        input_heavy=False,
        users=120,
    ),
)

REGIONS = ("", "-emea", "-apac", "-latam", "-v2")


@dataclass(frozen=True)
class Agent:
    index: int
    agent_id: str
    name: str
    family: Family
    workspace_id: str
    department: str
    environment: str
    tags_json: str
    weight: float
    growth: float  # log-growth of volume over the whole run
    error_multiplier: float
    prompt_mu: float
    output_mu: float
    cache_hit: float
    model_codes: tuple[int, ...]
    model_shares: tuple[float, ...]
    peak_hour_utc: float

    @property
    def priced(self) -> bool:
        return all(MODELS[c].priced for c in self.model_codes)


def _stable_hex(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def build_agents(count: int, seed: int) -> tuple[Agent, ...]:
    """The `count` agents of a run; same seed and count give the same agents."""
    if not 1 <= count <= 250:
        raise ValueError(f"agents={count}: expected between 1 and 250 (5-50 is the realistic range)")
    rng = np.random.default_rng([seed, 101])
    agents = []
    for i in range(count):
        fam = FAMILIES[i % len(FAMILIES)]
        round_ = i // len(FAMILIES)
        suffix = REGIONS[round_] if round_ < len(REGIONS) else f"-{round_}"
        name = fam.stem + suffix
        weight = float(rng.lognormal(0.0, 0.6))
        growth = float(rng.uniform(0.05, 0.45))
        err = float(fam.error_multiplier * rng.uniform(0.6, 1.4))
        prompt_mu = float(np.log(fam.prompt_median) + rng.normal(0, 0.15))
        output_mu = float(np.log(fam.output_median) + rng.normal(0, 0.15))
        cache_hit = float(np.clip(fam.cache_hit + rng.normal(0, 0.03), 0.0, 0.95)) if fam.cache_hit > 0 else 0.0
        shares = np.array([s for _, s in fam.models]) * rng.uniform(0.85, 1.15, len(fam.models))
        shares = shares / shares.sum()
        tags = {
            "team": fam.department.lower().replace(" ", "-"),
            "cost_center": f"cc-{100 + MODEL_INDEX[fam.models[0][0]] * 7 + i % 7}",
            "app": fam.stem,
        }
        agents.append(
            Agent(
                index=i,
                agent_id=f"agt_{_stable_hex(fam.workspace + '/' + name)}",
                name=name,
                family=fam,
                workspace_id=fam.workspace,
                department=fam.department,
                environment=fam.environment,
                tags_json=json.dumps(tags, sort_keys=True, separators=(",", ":")),
                weight=weight,
                growth=growth,
                error_multiplier=err,
                prompt_mu=prompt_mu,
                output_mu=output_mu,
                cache_hit=cache_hit,
                model_codes=tuple(MODEL_INDEX[k] for k, _ in fam.models),
                model_shares=tuple(float(s) for s in shares),
                peak_hour_utc=float(fam.peak_hour_utc + rng.normal(0, 0.7)),
            )
        )
    # Normalise error multipliers so the call-weighted mean is 1: the configured
    # error rate is then the fleet-wide rate outside outages.
    w = np.array([a.weight for a in agents])
    e = np.array([a.error_multiplier for a in agents])
    scale = float((w * e).sum() / w.sum())
    return tuple(_replace_error(a, a.error_multiplier / scale) for a in agents)


def _replace_error(agent: Agent, value: float) -> Agent:
    from dataclasses import replace

    return replace(agent, error_multiplier=value)
