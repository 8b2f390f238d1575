"""Rule-based cost optimisation recommendations, ranked by estimated monthly saving.

Evidence is the last `window_days` days of priced traffic per agent and model,
scaled to 30 days. Prices are the ones the warehouse actually charged
(the realised cost per token per model and token kind of the calls in
marts.fct_llm_calls, aggregated in dbt: marts.rpt_signal_usage_recent), so a
recommendation never depends on a list price the organisation does not pay.

Rules (parameters in RecommendationConfig, documented in docs/signals.md):
- model_switch: an agent's calls on model M could move to a cheaper model of
  the same provider and family (leading name token: gpt, claude, gemini...)
  that the organisation already runs (the most expensive such model that still
  saves `min_switch_saving_share`: one step down, not the cheapest) with an error rate no worse than M's plus
  `max_error_rate_gap` and a median latency (of streamed calls, when there are
  any) no more than `max_latency_ratio` x M's.
  Saving: the agent's tokens on M priced at the alternative's realised rates.
- prompt_caching: at providers with prompt caching, large inputs (>= `caching_min_input_tokens` per call) with a
  cache hit rate below `caching_max_hit_rate`. Saving: `caching_target_hit_rate`
  of the uncached input billed at the cache-read rate instead.
- batch_tier: default-tier traffic that is latency-insensitive (not streamed and
  slow, or bunched into a few hours like a scheduled job) at a provider with a
  batch API. Saving: `batch_discount` of its cost.
- trim_output: output (incl. reasoning) is most of the cost and calls are long.
  Saving: `trim_output_share` of the output cost.
- error_waste: failed calls that were still billed. Saving:
  `error_reduction_share` of their cost.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from orchestration.signals.io import read_signal_input

RECOMMENDATION_COLUMNS = [
    "rank",
    "recommendation_id",
    "kind",
    "scope",
    "scope_type",
    "scope_id",
    "model",
    "title",
    "detail",
    "evidence",
    "evidence_query",
    "estimated_monthly_saving_usd",
    "confidence",
    "generated_at",
]
CACHING_PROVIDERS = (
    "openai",
    "anthropic",
    "gcp.gemini",
    "gcp.vertex_ai",
    "azure.ai.openai",
    "aws.bedrock",
    "deepseek",
    "x_ai",
)
BATCH_PROVIDERS = ("openai", "anthropic", "gcp.gemini", "gcp.vertex_ai", "azure.ai.openai", "aws.bedrock", "mistral_ai")


@dataclass(frozen=True)
class RecommendationConfig:
    window_days: int = 30
    min_monthly_saving_usd: float = 5.0
    max_error_rate_gap: float = 0.01
    max_latency_ratio: float = 1.25
    min_switch_saving_share: float = 0.2
    caching_min_input_tokens: float = 2000
    caching_max_hit_rate: float = 0.2
    caching_target_hit_rate: float = 0.5
    default_cache_read_ratio: float = 0.5
    batch_discount: float = 0.5
    batch_min_duration_ms: float = 10_000
    batch_min_nonstreamed_share: float = 0.9
    batch_min_peak_hours_share: float = 0.6
    trim_output_min_cost_share: float = 0.6
    trim_output_min_tokens_per_call: float = 800
    trim_output_share: float = 0.25
    error_min_cost_share: float = 0.05
    error_reduction_share: float = 0.8


# The evidence, built by dbt (dbt_project/models/marts/signals) over the last
# `recommendation_window_days` days (a dbt var): usage per agent, model and
# tier; per-model latency; each agent's share of calls in its busiest hours.
USAGE_TABLE = "marts.rpt_signal_usage_recent"
LATENCY_TABLE = "marts.rpt_signal_model_latency_recent"
PEAK_HOURS_TABLE = "marts.rpt_signal_agent_peak_hours"


def read_usage(
    con: duckdb.DuckDBPyConnection, window_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Usage per agent/model/tier, peak-hour shares, model latencies and the days observed."""
    usage = read_signal_input(con, USAGE_TABLE)
    built_for = set(usage["window_days"].astype(int)) if len(usage) else set()
    if built_for and built_for != {window_days}:
        raise ValueError(
            f"{USAGE_TABLE} covers the last {sorted(built_for)[0]} days but the recommendations are configured "
            f"for {window_days} (RecommendationConfig.window_days); set the dbt var recommendation_window_days "
            f"to {window_days} in dbt_project/dbt_project.yml and rebuild the marts, or use the same window here."
        )
    span = int(usage["observed_days"].iloc[0]) if len(usage) else 0
    usage = usage.drop(columns=["window_days", "observed_days"])
    peaks = read_signal_input(con, PEAK_HOURS_TABLE)
    latency = read_signal_input(con, LATENCY_TABLE)
    return usage, peaks, latency, int(span or window_days)


def model_family(model: str) -> str:
    """Leading alphabetic token of a model name: 'gpt-4o-mini' -> 'gpt', 'claude-3-5-haiku' -> 'claude'."""
    head = str(model).lower().split("/")[-1]
    token = ""
    for ch in head:
        if ch.isalpha():
            token += ch
        elif token:
            break
    return token or head


def model_rates(usage: pd.DataFrame, latency: pd.DataFrame) -> pd.DataFrame:
    """Realised USD per token by kind, error rate and latency per provider/model."""
    g = (
        usage.groupby(["provider", "model", "operation"])
        .agg(
            calls=("calls", "sum"),
            errors=("errors", "sum"),
            uncached_input_tokens=("uncached_input_tokens", "sum"),
            cache_read_tokens=("cache_read_tokens", "sum"),
            cache_write_tokens=("cache_write_tokens", "sum"),
            output_tokens=("output_tokens", "sum"),
            uncached_input_cost=("uncached_input_cost", "sum"),
            cache_read_cost=("cache_read_cost", "sum"),
            cache_write_cost=("cache_write_cost", "sum"),
            output_cost=("output_cost", "sum"),
        )
        .reset_index()
    )

    def rate(cost: str, tokens: str) -> pd.Series:
        return g[cost] / g[tokens].where(g[tokens] > 0)

    g["input_rate"] = rate("uncached_input_cost", "uncached_input_tokens")
    g["cache_read_rate"] = rate("cache_read_cost", "cache_read_tokens")
    g["cache_write_rate"] = rate("cache_write_cost", "cache_write_tokens")
    g["output_rate"] = rate("output_cost", "output_tokens")
    g["error_rate"] = g["errors"] / g["calls"]
    g["family"] = g["model"].map(model_family)
    return g.merge(latency, on=["provider", "model", "operation"], how="left")


# What each kind of recommendation rests on, per day and model of the agent's
# calls: the measures an analyst re-runs against the published file to check it.
_EVIDENCE_MEASURES = {
    "model_switch": "sum(total_cost_usd) as cost_usd, sum(input_tokens) as input_tokens, "
    "sum(output_tokens) as output_tokens, median(duration_ms) as median_duration_ms",
    "prompt_caching": "sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens, "
    "sum(cache_write_tokens) as cache_write_tokens, sum(uncached_input_cost_usd) as uncached_input_cost_usd",
    "batch_tier": "sum(total_cost_usd) as cost_usd, median(duration_ms) as median_duration_ms, "
    "count(time_to_first_token_ms) as streamed_calls, mode(call_hour) as busiest_hour",
    "trim_output": "sum(total_cost_usd) as cost_usd, sum(output_cost_usd + reasoning_cost_usd) as output_cost_usd, "
    "avg(output_tokens) as output_tokens_per_call",
    "error_waste": "sum(total_cost_usd) as cost_usd, count(*) filter (where is_error) as failed_calls, "
    "sum(total_cost_usd) filter (where is_error) as failed_cost_usd",
}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def evidence_query(kind: str, agent_id: str, model: str | None, window_days: int) -> str:
    """SQL over the published file's call fact that shows what a recommendation rests on."""
    model_filter = (
        f"\n  and coalesce(catalog_model_id, response_model, request_model) = {_sql_text(model)}" if model else ""
    )
    return (
        "select call_date, provider, coalesce(catalog_model_id, response_model, request_model) as model, "
        f"count(*) as calls, {_EVIDENCE_MEASURES[kind]}\n"
        "from marts.fct_llm_calls\n"
        f"where agent_id = {_sql_text(agent_id)}{model_filter}\n"
        f"  and call_date > (select max(call_date) from marts.fct_llm_calls) - {int(window_days)}\n"
        "group by all order by call_date, model"
    )


def _rec(
    kind: str, scope_id: str, model: str | None, title: str, detail: str, evidence: dict, saving: float, confidence: str
) -> dict:
    rid = hashlib.sha1(f"{kind}|{scope_id}|{model or ''}".encode()).hexdigest()[:12]
    return {
        "recommendation_id": f"{kind}-{rid}",
        "kind": kind,
        "scope": f"agent:{scope_id}",
        "scope_type": "agent",
        "scope_id": scope_id,
        "model": model,
        "title": title,
        "detail": detail,
        "evidence": json.dumps(evidence, sort_keys=True, default=float),
        "estimated_monthly_saving_usd": float(saving),
        "confidence": confidence,
    }


def model_switch_recs(usage: pd.DataFrame, rates: pd.DataFrame, scale: float, cfg: RecommendationConfig) -> list[dict]:
    recs = []
    per = usage.groupby(["agent_id", "provider", "model", "operation"], as_index=False).agg(
        calls=("calls", "sum"),
        errors=("errors", "sum"),
        latency_ms=("latency_ms", "median"),
        uncached_input_tokens=("uncached_input_tokens", "sum"),
        cache_read_tokens=("cache_read_tokens", "sum"),
        cache_write_tokens=("cache_write_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
        cost=("cost", "sum"),
    )
    per["family"] = per["model"].map(model_family)
    per = per[per["operation"] != "embeddings"]
    keys = ["provider", "family", "operation"]
    alt = rates.rename(columns={c: f"{c}_alt" for c in rates.columns if c not in keys})
    cand = per.merge(alt, on=keys)
    cand = cand[cand["model"] != cand["model_alt"]]
    for col in ("cache_read_rate", "cache_write_rate"):
        cand[f"{col}_alt"] = cand[f"{col}_alt"].fillna(cand["input_rate_alt"])
    cand["alt_cost"] = (
        cand["uncached_input_tokens"] * cand["input_rate_alt"]
        + cand["cache_read_tokens"] * cand["cache_read_rate_alt"]
        + cand["cache_write_tokens"] * cand["cache_write_rate_alt"]
        + cand["output_tokens"] * cand["output_rate_alt"]
    )
    agent_error = cand["errors"] / cand["calls"]
    ok = (
        cand["alt_cost"].notna()
        & (cand["alt_cost"] <= cand["cost"] * (1 - cfg.min_switch_saving_share))
        & (cand["error_rate_alt"] <= agent_error + cfg.max_error_rate_gap)
        & (cand["latency_ms_alt"] <= cand["latency_ms"] * cfg.max_latency_ratio)
    )
    cand = cand[ok].assign(saving=lambda d: (d["cost"] - d["alt_cost"]) * scale)
    # One step down, not the cheapest: among qualifying models take the most
    # expensive one (opus -> sonnet, not opus -> haiku), the smallest change in
    # capability that still saves `min_switch_saving_share`.
    best = cand.sort_values("alt_cost", ascending=False).drop_duplicates(["agent_id", "model", "operation"])
    for r in best.itertuples(index=False):  # one per recommendation, a handful of rows
        conf = "high" if r.calls_alt >= 1000 else "medium" if r.calls_alt >= 100 else "low"
        recs.append(
            _rec(
                "model_switch",
                r.agent_id,
                r.model,
                f"Move {r.agent_id} from {r.model} to {r.model_alt}",
                f"{r.model_alt} ({r.provider}) costs {1 - r.alt_cost / r.cost:.0%} less on this agent's token mix; "
                f"error rate {r.error_rate_alt:.1%} vs {r.errors / r.calls:.1%}, median latency "
                f"{r.latency_ms_alt:,.0f} ms vs {r.latency_ms:,.0f} ms. Validate output quality on a sample first.",
                {
                    "calls": r.calls,
                    "current_cost_usd": r.cost,
                    "alternative_cost_usd": r.alt_cost,
                    "alternative_calls_observed": r.calls_alt,
                    "error_rate_current": r.errors / r.calls,
                    "error_rate_alternative": r.error_rate_alt,
                },
                r.saving,
                conf,
            )
        )
    return recs


def caching_recs(usage: pd.DataFrame, rates: pd.DataFrame, scale: float, cfg: RecommendationConfig) -> list[dict]:
    g = usage.groupby(["agent_id", "provider", "model", "operation"], as_index=False)[
        ["calls", "input_tokens", "uncached_input_tokens", "cache_read_tokens", "uncached_input_cost"]
    ].sum()
    g = g.merge(
        rates[["provider", "model", "operation", "input_rate", "cache_read_rate"]],
        on=["provider", "model", "operation"],
        how="left",
    )
    g["hit_rate"] = g["cache_read_tokens"] / g["input_tokens"].where(g["input_tokens"] > 0)
    g["input_per_call"] = g["input_tokens"] / g["calls"]
    ratio = (g["cache_read_rate"] / g["input_rate"]).where(g["cache_read_rate"].notna(), cfg.default_cache_read_ratio)
    g["saving"] = g["uncached_input_cost"] * cfg.caching_target_hit_rate * (1 - ratio.clip(0, 1)) * scale
    sel = g[
        (g["operation"] != "embeddings")
        & g["provider"].isin(CACHING_PROVIDERS)
        & (g["input_per_call"] >= cfg.caching_min_input_tokens)
        & (g["hit_rate"].fillna(0) < cfg.caching_max_hit_rate)
    ]
    return [
        _rec(
            "prompt_caching",
            r.agent_id,
            r.model,
            f"Enable or fix prompt caching for {r.agent_id} on {r.model}",
            f"{r.input_per_call:,.0f} input tokens per call with a cache hit rate of {r.hit_rate:.0%}; put the stable "
            f"prefix (system prompt, tools, documents) first and mark it cacheable. Estimate assumes "
            f"{cfg.caching_target_hit_rate:.0%} of uncached input becomes cache reads.",
            {
                "calls": r.calls,
                "input_tokens_per_call": r.input_per_call,
                "cache_hit_rate": r.hit_rate,
                "uncached_input_cost_usd": r.uncached_input_cost,
                "cache_read_price_ratio": float(ratio.loc[i]),
            },
            r.saving,
            "medium" if pd.notna(r.cache_read_rate) else "low",
        )
        for i, r in zip(sel.index, sel.itertuples(index=False))
    ]


def batch_recs(usage: pd.DataFrame, peaks: pd.DataFrame, scale: float, cfg: RecommendationConfig) -> list[dict]:
    d = usage[(usage["service_tier"] == "default") & usage["provider"].isin(BATCH_PROVIDERS)]
    weights = d["calls"]
    g = (
        d.assign(w_dur=d["p50_duration_ms"] * weights, w_ns=d["nonstreamed_share"] * weights)
        .groupby(["agent_id", "provider"], as_index=False)
        .agg(calls=("calls", "sum"), cost=("cost", "sum"), w_dur=("w_dur", "sum"), w_ns=("w_ns", "sum"))
    )
    g["p50_duration_ms"] = g["w_dur"] / g["calls"]
    g["nonstreamed_share"] = g["w_ns"] / g["calls"]
    g = g.merge(peaks, on="agent_id", how="left")
    slow = (g["p50_duration_ms"] >= cfg.batch_min_duration_ms) & (
        g["nonstreamed_share"] >= cfg.batch_min_nonstreamed_share
    )
    bunched = g["peak_hours_share"].fillna(0) >= cfg.batch_min_peak_hours_share
    sel = g[slow | bunched].assign(saving=lambda x: x["cost"] * cfg.batch_discount * scale)
    out = []
    for r, s, b in zip(sel.itertuples(index=False), slow[sel.index], bunched[sel.index]):
        why = []
        if s:
            why.append(
                f"median duration {r.p50_duration_ms / 1000:,.1f} s and {r.nonstreamed_share:.0%} of calls not streamed"
            )
        if b:
            why.append(f"{r.peak_hours_share:.0%} of calls fall in its 3 busiest hours (scheduled-job pattern)")
        out.append(
            _rec(
                "batch_tier",
                r.agent_id,
                None,
                f"Move {r.agent_id}'s {r.provider} traffic to the batch API",
                "Latency-insensitive traffic: " + "; ".join(why) + f". Batch pricing is about {cfg.batch_discount:.0%} "
                "cheaper with results within 24 h.",
                {
                    "calls": r.calls,
                    "default_tier_cost_usd": r.cost,
                    "p50_duration_ms": r.p50_duration_ms,
                    "nonstreamed_share": r.nonstreamed_share,
                    "peak_hours_share": r.peak_hours_share,
                },
                r.saving,
                "high" if (s and b) else "medium",
            )
        )
    return out


def trim_output_recs(usage: pd.DataFrame, scale: float, cfg: RecommendationConfig) -> list[dict]:
    g = usage.groupby("agent_id", as_index=False)[["calls", "cost", "output_cost", "output_tokens"]].sum()
    g["output_share"] = g["output_cost"] / g["cost"].where(g["cost"] > 0)
    g["output_per_call"] = g["output_tokens"] / g["calls"]
    sel = g[
        (g["output_share"] >= cfg.trim_output_min_cost_share)
        & (g["output_per_call"] >= cfg.trim_output_min_tokens_per_call)
    ]
    return [
        _rec(
            "trim_output",
            r.agent_id,
            None,
            f"Trim output of {r.agent_id}",
            f"Output and reasoning are {r.output_share:.0%} of its cost at {r.output_per_call:,.0f} tokens per call; "
            f"cap max_tokens / reasoning effort or ask for shorter answers. Estimate assumes "
            f"{cfg.trim_output_share:.0%} less output.",
            {
                "calls": r.calls,
                "output_cost_usd": r.output_cost,
                "output_cost_share": r.output_share,
                "output_tokens_per_call": r.output_per_call,
            },
            r.output_cost * cfg.trim_output_share * scale,
            "low",
        )
        for r in sel.itertuples(index=False)
    ]


def error_waste_recs(usage: pd.DataFrame, scale: float, cfg: RecommendationConfig) -> list[dict]:
    g = usage.groupby("agent_id", as_index=False)[["calls", "errors", "cost", "error_cost"]].sum()
    g["error_share"] = g["error_cost"] / g["cost"].where(g["cost"] > 0)
    sel = g[g["error_share"] >= cfg.error_min_cost_share]
    return [
        _rec(
            "error_waste",
            r.agent_id,
            None,
            f"Reduce failed-call spend of {r.agent_id}",
            f"{r.errors:,.0f} failed calls ({r.errors / r.calls:.1%}) were billed ${r.error_cost * scale:,.2f} a month "
            f"({r.error_share:.0%} of its cost); cap retries, back off on rate limits, validate inputs before calling.",
            {"calls": r.calls, "errors": r.errors, "error_cost_usd": r.error_cost, "error_cost_share": r.error_share},
            r.error_cost * cfg.error_reduction_share * scale,
            "medium",
        )
        for r in sel.itertuples(index=False)
    ]


def build_recommendations(
    usage: pd.DataFrame,
    peaks: pd.DataFrame,
    latency: pd.DataFrame,
    observed_days: int,
    config: RecommendationConfig | None = None,
) -> pd.DataFrame:
    """All rules over the usage aggregates, ranked by estimated monthly saving."""
    cfg = config or RecommendationConfig()
    if usage.empty:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    usage = usage.copy()
    num = usage.columns.difference(["agent_id", "workspace_id", "provider", "model", "operation", "service_tier"])
    usage[num] = usage[num].astype(float).fillna(0.0)
    scale = 30.0 / max(observed_days, 1)
    rates = model_rates(usage, latency)
    recs = (
        model_switch_recs(usage, rates, scale, cfg)
        + caching_recs(usage, rates, scale, cfg)
        + batch_recs(usage, peaks, scale, cfg)
        + trim_output_recs(usage, scale, cfg)
        + error_waste_recs(usage, scale, cfg)
    )
    out = pd.DataFrame(recs)
    if out.empty:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    out = out[out["estimated_monthly_saving_usd"] >= cfg.min_monthly_saving_usd]
    out = out.sort_values(["estimated_monthly_saving_usd", "recommendation_id"], ascending=[False, True])
    out["rank"] = np.arange(1, len(out) + 1)
    out["evidence_query"] = [
        evidence_query(k, a, m if isinstance(m, str) else None, cfg.window_days)
        for k, a, m in zip(out["kind"], out["scope_id"], out["model"])
    ]
    out["generated_at"] = datetime.now(UTC).replace(tzinfo=None)
    return out[RECOMMENDATION_COLUMNS].reset_index(drop=True)


def recommendations_from_warehouse(
    con: duckdb.DuckDBPyConnection, config: RecommendationConfig | None = None
) -> pd.DataFrame:
    cfg = config or RecommendationConfig()
    usage, peaks, latency, days = read_usage(con, cfg.window_days)
    return build_recommendations(usage, peaks, latency, days, cfg)
