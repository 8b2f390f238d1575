"""One chunk of spans (a day, or part of a large day) as numpy columns.

Everything is drawn per chunk from a random stream keyed by (seed, day,
part), so a chunk does not depend on any other and files are identical
however the run is scheduled. Columns hold integer codes and numbers only;
writers.py turns codes into strings inside DuckDB.

A trace is one `invoke_agent` root span followed by its model calls, each
optionally followed by one `execute_tool` span; all children point at the
root. Rows are ordered by trace start, children in time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generators.agents import Agent
from generators.catalog import (
    CACHE_EXPLICIT,
    CACHE_IMPLICIT,
    ERROR_TYPES,
    MODEL_ERRORS,
    MODELS,
    OUTAGE_ERRORS,
    TOOL_ERRORS,
)
from generators.ids import mix64, salt
from generators.plan import LOOP_KINDS, Anomaly, Outage
from generators.pricing import PriceTable
from orchestration.contract import OPERATIONS

# 1-based operation codes (0 would be null), as writers.py maps them back.
_OP_INVOKE = np.uint8(OPERATIONS.index("invoke_agent") + 1)
_OP_TOOL = np.uint8(OPERATIONS.index("execute_tool") + 1)
_OP_CODES = np.array([OPERATIONS.index(m.operation) + 1 for m in MODELS], dtype=np.uint8)

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
# Row kinds
ROOT, MODEL, TOOL = 0, 1, 2


@dataclass
class Chunk:
    day: int
    part: int
    columns: dict[str, np.ndarray]  # one value per span row
    trace_columns: dict[str, np.ndarray]  # one value per trace; rows point at them through "row_trace"
    llm_calls: int
    traces: int
    # Per anomaly index: [actual cost, counterfactual cost] of its calls in this chunk.
    anomaly_costs: dict[int, list[float]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.columns["kind"])


class RunContext:
    """Per-agent and per-model parameter vectors shared by every chunk of a run."""

    def __init__(
        self,
        agents: tuple[Agent, ...],
        anomalies: tuple[Anomaly, ...],
        grid: np.ndarray,
        outages: tuple[Outage, ...],
        seed: int,
        error_rate: float,
        day0_us: int,
        tool_names: tuple[str, ...],
        drift: np.ndarray | None = None,
    ) -> None:
        self.agents = agents
        # [agents, days] multiplier of tokens per call (the validation mix's slow drifts); None: none.
        self.drift = drift
        self.anomalies = anomalies
        self.grid = grid
        self.outages = outages
        self.seed = seed
        self.error_rate = error_rate
        self.day0_us = day0_us
        self.prices = PriceTable()
        fams = [a.family for a in agents]
        f64 = lambda xs: np.array(xs, dtype=np.float64)  # noqa: E731
        self.calls_per_trace = f64([f.calls_per_trace for f in fams])
        self.tool_rate = f64([f.tool_rate if f.tools else 0.0 for f in fams])
        self.prompt_mu = f64([a.prompt_mu for a in agents])
        self.prompt_sigma = f64([f.prompt_sigma for f in fams])
        self.output_mu = f64([a.output_mu for a in agents])
        self.output_sigma = f64([f.output_sigma for f in fams])
        self.cache_hit = f64([a.cache_hit for a in agents])
        self.write_share = f64([f.cache_write_share for f in fams])
        self.long_rate = f64([f.long_context_rate for f in fams])
        self.batch_share = f64([f.batch_share for f in fams])
        self.flex_share = f64([f.flex_share for f in fams])
        self.tier = np.array([f.tier for f in fams], dtype=np.uint8)
        self.streaming = np.array([f.streaming for f in fams])
        self.reports_cost = np.array([f.reports_cost for f in fams])
        self.error_mult = f64([a.error_multiplier for a in agents])
        self.reasoning_ratio = f64([f.reasoning_ratio for f in fams])
        self.users = np.array([f.users for f in fams], dtype=np.int64)
        ws = sorted({a.workspace_id for a in agents})
        self.workspace_code = np.array([ws.index(a.workspace_id) for a in agents], dtype=np.uint64)
        self.embed_model = np.array(
            [-1 if f.embed_model is None else _code(f.embed_model) for f in fams], dtype=np.int64
        )
        # Model mix as a cumulative table [agents, max models] for vectorised sampling.
        width = max(len(a.model_codes) for a in agents)
        self.mix_codes = np.zeros((len(agents), width), dtype=np.int64)
        self.mix_cdf = np.ones((len(agents), width))
        for a in agents:
            n = len(a.model_codes)
            self.mix_codes[a.index, :n] = a.model_codes
            self.mix_codes[a.index, n:] = a.model_codes[-1]
            self.mix_cdf[a.index, :n] = np.cumsum(a.model_shares)
        self.mix_cdf[:, -1] = 1.0
        # Hour-of-day profile per agent (UTC), as a cumulative table [agents, 24].
        hours = np.arange(24)
        peak = np.array([a.peak_hour_utc for a in agents])[:, None]
        width_h = f64([f.peak_width_h for f in fams])[:, None]
        dist = np.abs(((hours[None, :] - peak) + 12) % 24 - 12)
        shape = 0.08 + np.exp(-0.5 * (dist / width_h) ** 2)
        self.hour_cdf = np.cumsum(shape / shape.sum(axis=1, keepdims=True), axis=1)
        self.hour_cdf[:, -1] = 1.0
        # Tools: per agent list of global tool codes (1-based).
        self.tool_names = tool_names
        tw = max(1, max(len(f.tools) for f in fams))
        self.tool_codes = np.zeros((len(agents), tw), dtype=np.int64)
        self.tool_count = np.array([max(1, len(f.tools)) for f in fams], dtype=np.int64)
        for a in agents:
            for j, t in enumerate(a.family.tools):
                self.tool_codes[a.index, j] = tool_names.index(t) + 1
        # Model vectors.
        self.m_style = np.array(
            [{CACHE_IMPLICIT: 1, CACHE_EXPLICIT: 2}.get(m.cache_style, 0) for m in MODELS], dtype=np.int64
        )
        self.m_reasoning = np.array([m.reasoning for m in MODELS])
        self.m_embedding = np.array([m.operation == "embeddings" for m in MODELS])
        self.m_long = np.array([m.long_context_threshold is not None for m in MODELS])
        self.m_context = np.array([m.context_window for m in MODELS], dtype=np.int64)
        self.m_ttft = f64([m.ttft_base_ms for m in MODELS])
        self.m_prefill = f64([m.prefill_ms_per_ktok for m in MODELS])
        self.m_tps = f64([m.decode_tokens_per_s for m in MODELS])
        self.m_priced = np.array([m.priced for m in MODELS])
        providers = sorted({m.provider for m in MODELS})
        self.m_provider = np.array([providers.index(m.provider) for m in MODELS], dtype=np.int64)
        self.provider_names = providers
        self.error_weights = np.cumsum([w for _, w in MODEL_ERRORS])
        self.error_weights /= self.error_weights[-1]
        self.model_error_codes = np.array([ERROR_TYPES.index(e) + 1 for e, _ in MODEL_ERRORS], dtype=np.uint8)
        self.outage_error_codes = np.array([ERROR_TYPES.index(e) + 1 for e in OUTAGE_ERRORS], dtype=np.uint8)
        self.tool_error_codes = np.array([ERROR_TYPES.index(e) + 1 for e in TOOL_ERRORS], dtype=np.uint8)
        self.salts = {name: salt(seed, i) for i, name in enumerate(("span", "trace_hi", "trace_lo", "user", "conv"))}


def _code(key: str) -> int:
    from generators.catalog import MODEL_INDEX

    return MODEL_INDEX[key]


def _group_offsets(sizes: np.ndarray) -> np.ndarray:
    """Start index of each group in a flat array laid out group after group."""
    out = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=out[1:])
    return out


def _pick(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the first cdf entry >= u, row by row (cdf_rows: [n, width])."""
    return (u[:, None] > cdf_rows).sum(axis=1)


def _trace_sizes(ctx: RunContext, rng: np.random.Generator, counts: np.ndarray, loop: np.ndarray):
    """Split each agent's calls into traces; returns (trace agent, calls per trace), totals exact."""
    mean = ctx.calls_per_trace * loop
    est = np.where(counts > 0, np.ceil(counts / mean * 1.25 + 8), 0).astype(np.int64)
    t_agent = np.repeat(np.arange(len(counts)), est)
    sizes = 1 + rng.poisson(np.maximum(mean[t_agent] - 1.0, 0.0))
    starts = _group_offsets(est)
    csum = np.cumsum(sizes)
    before_group = np.repeat(np.concatenate(([0], csum))[starts], est)
    done_before = csum - sizes - before_group
    need = counts[t_agent]
    keep = done_before < need
    sizes = np.minimum(sizes, need - done_before)[keep]
    t_agent = t_agent[keep]
    got = np.bincount(t_agent, weights=sizes, minlength=len(counts)).astype(np.int64)
    short = counts - got
    if (short > 0).any():  # rare: the Poisson draws fell short; one more trace takes the rest
        extra = np.nonzero(short > 0)[0]
        t_agent = np.concatenate([t_agent, extra])
        sizes = np.concatenate([sizes, short[extra]])
    return t_agent, sizes.astype(np.int64)


@dataclass
class _CallDraws:
    """Random draws of each model call that do not depend on the model or on anomalies."""

    agent: np.ndarray
    pos: np.ndarray
    base_prompt: np.ndarray
    long_draw: np.ndarray
    long_size: np.ndarray
    u_hit: np.ndarray
    visible: np.ndarray
    r_ratio: np.ndarray

    def take(self, idx: np.ndarray) -> _CallDraws:
        return _CallDraws(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def _usage(ctx: RunContext, d: _CallDraws, mdl: np.ndarray, blow: np.ndarray, regress: np.ndarray):
    """Token usage of calls given the model and anomaly effects; OTel semantics (input includes cache, output includes reasoning)."""
    prompt = np.where(d.long_draw & ctx.m_long[mdl], d.long_size, d.base_prompt) * blow
    inp = np.minimum(np.maximum(prompt, 1.0), ctx.m_context[mdl]).astype(np.int64)
    style = ctx.m_style[mdl]
    first = d.pos == 0
    hit = ctx.cache_hit[d.agent] * d.u_hit
    hit = np.where(regress, hit * 0.02, hit)
    hit = np.where((style == 2) & first, hit * 0.3, hit)  # explicit caches are cold at the start of a trace
    cr = np.where(style > 0, np.floor(inp * hit), 0).astype(np.int64)
    wsh = np.where(regress, 0.9, ctx.write_share[d.agent])  # a broken prefix is rewritten on every call
    wsh = np.where(first | regress, wsh, wsh * 0.25)
    cw = np.where(style == 2, np.floor((inp - cr) * wsh), 0).astype(np.int64)
    is_emb = ctx.m_embedding[mdl]
    vis = np.where(is_emb, 0, d.visible).astype(np.int64)
    rs = np.where(ctx.m_reasoning[mdl] & ~is_emb, np.floor(vis * d.r_ratio), 0).astype(np.int64)
    return inp, cr, cw, vis + rs, rs


@dataclass
class _Effects:
    """What the anomalies active on a day do to each agent (vectors over agents)."""

    loop: np.ndarray  # calls per trace multiplier (runaway-style incidents)
    blowup: np.ndarray  # prompt size multiplier (blow-ups, drifts)
    regression: np.ndarray  # cache regression on/off
    switch_to: np.ndarray  # model code the agent silently switched to, -1 when none
    volume: np.ndarray  # calls multiplier of a volume incident, for the ground-truth counterfactual
    storm: np.ndarray  # failing share of calls in a retry storm; 0 = the agent's usual rate


def _day_effects(ctx: RunContext, day: int) -> _Effects:
    k = len(ctx.agents)
    anom = ctx.grid[:, day]
    kinds = {i: ctx.anomalies[i] for i in set(anom[anom >= 0].tolist())}
    fx = _Effects(
        np.ones(k), np.ones(k), np.zeros(k, dtype=bool), np.full(k, -1, dtype=np.int64), np.ones(k), np.zeros(k)
    )
    for a_idx in range(k):
        i = anom[a_idx]
        if i < 0:
            continue
        a = kinds[i]
        if a.kind in LOOP_KINDS:
            fx.loop[a_idx] = fx.volume[a_idx] = a.factor
            fx.storm[a_idx] = a.error_share
        elif a.kind == "level_shift":
            fx.volume[a_idx] = a.factor
        elif a.kind == "prompt_blowup":
            fx.blowup[a_idx] = a.factor
        elif a.kind == "cache_regression":
            fx.regression[a_idx] = True
        elif a.kind == "model_switch":
            fx.switch_to[a_idx] = a.switch_to
    if ctx.drift is not None:
        fx.blowup = fx.blowup * ctx.drift[:, day]
    return fx


@dataclass
class _Traces:
    """One value per trace, in trace start order."""

    agent: np.ndarray
    sizes: np.ndarray  # model calls per trace
    start: np.ndarray  # microseconds since the epoch
    user_u: np.ndarray
    conv_u: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    chunk_key: np.uint64


def _draw_traces(
    ctx: RunContext, rng: np.random.Generator, day: int, part: int, counts: np.ndarray, loop: np.ndarray
) -> _Traces:
    """Split the calls into traces and give each a start time, a user, a conversation and an id."""
    t_agent, sizes = _trace_sizes(ctx, rng, counts.astype(np.int64), loop)
    n_tr = len(sizes)
    hour = _pick(ctx.hour_cdf[t_agent], rng.random(n_tr))
    t_start = ctx.day0_us + day * DAY_US + hour * HOUR_US + rng.integers(0, HOUR_US - 600_000_000, n_tr)
    order = np.lexsort((t_agent, t_start))
    t_agent, sizes, t_start = t_agent[order], sizes[order], t_start[order]
    u_user = rng.random(n_tr)
    t_user = np.floor(ctx.users[t_agent] * u_user**3).astype(np.uint64)  # a few heavy users, a long tail
    conv_k = rng.integers(0, 3, n_tr).astype(np.uint64)
    t_user_u = mix64((ctx.workspace_code[t_agent] << np.uint64(32) | t_user) ^ ctx.salts["user"])
    conv_key = (((t_agent.astype(np.uint64) << np.uint64(20)) | t_user) << np.uint64(14) | np.uint64(day)) << np.uint64(
        2
    ) | conv_k
    t_conv_u = mix64(conv_key ^ ctx.salts["conv"])
    chunk_key = (np.uint64(day) << np.uint64(40)) | (np.uint64(part) << np.uint64(32))
    t_keys = chunk_key | np.arange(n_tr, dtype=np.uint64)
    t_hi = mix64(t_keys ^ ctx.salts["trace_hi"])
    t_lo = mix64(t_keys ^ ctx.salts["trace_lo"])
    return _Traces(t_agent, sizes, t_start, t_user_u, t_conv_u, t_hi, t_lo, chunk_key)


@dataclass
class _Calls:
    """One value per model call, trace after trace."""

    trace: np.ndarray
    first: np.ndarray  # index of each trace's first call
    pos: np.ndarray  # position within its trace
    last: np.ndarray
    agent: np.ndarray
    base_model: np.ndarray  # the model the agent would have used without an incident
    model: np.ndarray
    draws: _CallDraws

    def __len__(self) -> int:
        return len(self.trace)


def _draw_calls(ctx: RunContext, rng: np.random.Generator, tr: _Traces, fx: _Effects) -> _Calls:
    """Lay the calls out per trace, pick each call's model and draw its usage-independent randomness."""
    n_c = int(tr.sizes.sum())
    c_trace = np.repeat(np.arange(len(tr.sizes)), tr.sizes)
    first_call = _group_offsets(tr.sizes)
    c_pos = np.arange(n_c) - first_call[c_trace]
    c_last = c_pos == (tr.sizes[c_trace] - 1)
    c_agent = tr.agent[c_trace]
    base_model = ctx.mix_codes[c_agent, _pick(ctx.mix_cdf[c_agent], rng.random(n_c))]
    embed = (ctx.embed_model[c_agent] >= 0) & (c_pos == 0) & (tr.sizes[c_trace] > 1)
    base_model = np.where(embed, ctx.embed_model[c_agent], base_model)
    sw = fx.switch_to[c_agent]
    model = np.where((sw >= 0) & ~embed, sw, base_model)

    z_prompt = rng.standard_normal(n_c)
    base_prompt = np.exp(ctx.prompt_mu[c_agent] + ctx.prompt_sigma[c_agent] * z_prompt) * (
        1.0 + 0.2 * np.minimum(c_pos, 5)
    )
    base_prompt = np.where(embed, 100 + 600 * rng.random(n_c), base_prompt)
    long_draw = rng.random(n_c) < ctx.long_rate[c_agent]
    long_size = rng.uniform(205_000, 700_000, n_c)
    u_hit = rng.beta(40, 2, n_c)  # near-1 factor on the agent's warm-cache hit rate
    visible = np.maximum(1.0, np.exp(ctx.output_mu[c_agent] + ctx.output_sigma[c_agent] * rng.standard_normal(n_c)))
    r_ratio = ctx.reasoning_ratio[c_agent] * rng.uniform(0.4, 1.6, n_c)
    draws = _CallDraws(c_agent, c_pos, base_prompt, long_draw, long_size, u_hit, visible, r_ratio)
    return _Calls(c_trace, first_call, c_pos, c_last, c_agent, base_model, model, draws)


def _draw_tiers(ctx: RunContext, rng: np.random.Generator, calls: _Calls) -> np.ndarray:
    """Service tier code of each call: batch share, flex on reasoning models, none for self-hosted."""
    n_c, c_agent, model = len(calls), calls.agent, calls.model
    u_tier = rng.random(n_c)
    tier = np.where(u_tier < ctx.batch_share[c_agent], 2, ctx.tier[c_agent]).astype(np.uint8)
    tier = np.where((tier != 2) & (rng.random(n_c) < ctx.flex_share[c_agent]) & ctx.m_reasoning[model], 4, tier).astype(
        np.uint8
    )
    return np.where(ctx.m_provider[model] == ctx.provider_names.index("vllm"), 0, tier).astype(np.uint8)


def _draw_errors(
    ctx: RunContext, rng: np.random.Generator, day: int, tr: _Traces, calls: _Calls, fx: _Effects
) -> np.ndarray:
    """Error code of each call (0 = success): agent profile times the base rate, a retry
    storm's failing share, raised inside provider outages."""
    n_c, c_agent, model = len(calls), calls.agent, calls.model
    p_err = ctx.error_rate * ctx.error_mult[c_agent]
    if fx.storm.any():
        p_err = np.where(fx.storm[c_agent] > 0, fx.storm[c_agent], p_err)
    approx_start = tr.start[calls.trace] + calls.pos * 4_000_000
    in_outage = np.zeros(n_c, dtype=bool)
    for o in ctx.outages:
        day_start = ctx.day0_us + day * DAY_US
        if o.end_us <= day_start or o.start_us >= day_start + 2 * DAY_US:
            continue
        hit_o = (
            (ctx.m_provider[model] == ctx.provider_names.index(o.provider))
            & (approx_start >= o.start_us)
            & (approx_start < o.end_us)
        )
        p_err = np.where(hit_o, o.error_rate, p_err)
        in_outage |= hit_o
    is_err = rng.random(n_c) < p_err
    err_code = np.where(
        in_outage,
        ctx.outage_error_codes[rng.integers(0, len(ctx.outage_error_codes), n_c)],
        ctx.model_error_codes[
            np.minimum(np.searchsorted(ctx.error_weights, rng.random(n_c)), len(ctx.model_error_codes) - 1)
        ],
    )
    return np.where(is_err, err_code, 0).astype(np.uint8)


_ERROR_DURATION_MS = {
    "rate_limit": (80, 400),
    "server_error": (300, 3000),
    "timeout": (60_000, 120_000),
    "overloaded": (200, 2000),
    "invalid_request": (60, 250),
}


def _draw_latency(
    ctx: RunContext,
    rng: np.random.Generator,
    model: np.ndarray,
    inp: np.ndarray,
    cr: np.ndarray,
    out: np.ndarray,
    err_code: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Duration and time to first token (ms) of each call; failed calls take their error's typical time."""
    n_c = len(model)
    noise = rng.lognormal(0.0, 0.25, n_c)
    ttft = (ctx.m_ttft[model] + ctx.m_prefill[model] * (inp - cr) / 1000.0) * noise
    decode = (out / ctx.m_tps[model]) * 1000.0 * rng.lognormal(0.0, 0.15, n_c)
    dur = ttft + decode
    for name, (lo, hi) in _ERROR_DURATION_MS.items():
        m = err_code == ERROR_TYPES.index(name) + 1
        if m.any():
            dur = np.where(m, rng.uniform(lo, hi, n_c), dur)
    dur = np.round(dur, 3)
    return dur, np.round(np.minimum(ttft, dur), 3)


def _anomaly_costs(
    ctx: RunContext,
    day: int,
    calls: _Calls,
    fx: _Effects,
    tier: np.ndarray,
    ok: np.ndarray,
    cost: np.ndarray,
    minute: np.ndarray,
) -> dict[int, list[float]]:
    """[actual cost, counterfactual cost] of the calls of each anomaly active on the day."""
    anomaly_costs: dict[int, list[float]] = {}
    c_agent = calls.agent
    c_anom = ctx.grid[:, day][c_agent]
    if not (c_anom >= 0).any():
        return anomaly_costs
    sel = np.nonzero(c_anom >= 0)[0]
    b_inp, b_cr, b_cw, b_out, _ = _usage(
        ctx, calls.draws.take(sel), calls.base_model[sel], np.ones(len(sel)), np.zeros(len(sel), dtype=bool)
    )
    oks = ok[sel]
    b_cost = ctx.prices.cost(
        calls.base_model[sel],
        b_inp * oks,
        b_cr * oks,
        b_cw * oks,
        b_out * oks,
        batch=tier[sel] == 2,
        minute_of_day=minute[sel],
    )
    a_cost = np.nan_to_num(cost[sel])
    b_cost = np.nan_to_num(b_cost)
    vols = fx.volume[c_agent[sel]]
    b_cost = np.where(vols > 1, a_cost / vols, b_cost)  # runaway: the extra calls are the effect
    stormy = fx.storm[c_agent[sel]]
    if stormy.any():  # retry storm: only (1 - failing share) of the extra calls are billed
        usual_ok = 1.0 - ctx.error_rate * ctx.error_mult[c_agent[sel]]
        b_cost = np.where(stormy > 0, b_cost * usual_ok / np.maximum(1.0 - stormy, 1e-9), b_cost)
    ids = c_anom[sel]
    for i in np.unique(ids):
        m = ids == i
        anomaly_costs[int(i)] = [float(a_cost[m].sum()), float(b_cost[m].sum())]
    return anomaly_costs


def build_chunk(ctx: RunContext, day: int, part: int, counts: np.ndarray) -> Chunk:
    """Generate the spans of `counts[a]` LLM calls per agent on `day` (one part).

    The steps draw from one random stream in a fixed order (traces, calls,
    tiers, errors, latency, tools, timing), which is what keeps files
    byte-identical: a new draw goes after the existing ones, never between.
    """
    rng = np.random.default_rng([ctx.seed, day, part, 11])
    k = len(ctx.agents)
    fx = _day_effects(ctx, day)
    tr = _draw_traces(ctx, rng, day, part, counts, fx.loop)
    calls = _draw_calls(ctx, rng, tr, fx)
    c_agent, model = calls.agent, calls.model
    inp, cr, cw, out, rs = _usage(ctx, calls.draws, model, fx.blowup[c_agent], fx.regression[c_agent])
    tier = _draw_tiers(ctx, rng, calls)
    err_code = _draw_errors(ctx, rng, day, tr, calls, fx)
    ok = err_code == 0
    # A failed call is not billed and reports no usage.
    inp, cr, cw, out, rs = (np.where(ok, x, 0) for x in (inp, cr, cw, out, rs))
    dur, ttft = _draw_latency(ctx, rng, model, inp, cr, out, err_code)
    has_ttft = ok & ctx.streaming[c_agent] & (tier != 2) & ~ctx.m_embedding[model]

    # Cost as the source would report it, and the anomaly ground truth.
    minute = ((tr.start[calls.trace] // 60_000_000) % 1440).astype(np.int64)
    cost = ctx.prices.cost(model, inp, cr, cw, out, batch=tier == 2, minute_of_day=minute)
    has_cost = ok & ctx.reports_cost[c_agent] & ctx.m_priced[model]
    anomaly_costs = _anomaly_costs(ctx, day, calls, fx, tier, ok, cost, minute)

    n_c, n_tr = len(calls), len(tr.sizes)
    has_tool, tool_code, tool_dur, tool_err_code = _draw_tools(ctx, rng, calls)
    started, duration, root_row, call_row, tool_row, row_trace = _lay_out(ctx, rng, tr, calls, dur, has_tool, tool_dur)
    n_rows = len(row_trace)
    kind = np.full(n_rows, TOOL, dtype=np.uint8)
    kind[root_row] = ROOT
    kind[call_row] = MODEL

    def scatter(dtype, root_vals, call_vals, tool_vals):
        arr = np.empty(n_rows, dtype=dtype)
        arr[root_row] = root_vals
        arr[call_row] = call_vals
        arr[tool_row] = tool_vals
        return arr

    last_err = err_code[calls.first + tr.sizes - 1]
    span_u = mix64((tr.chunk_key | np.arange(n_rows, dtype=np.uint64)) ^ ctx.salts["span"])
    zero_u8 = np.uint8(0)
    cols = {
        "kind": kind,
        "op": scatter(np.uint8, _OP_INVOKE, _OP_CODES[model], _OP_TOOL),
        "model": scatter(np.uint8, zero_u8, (model + 1).astype(np.uint8), zero_u8),
        "tool": scatter(np.uint8, zero_u8, zero_u8, tool_code[has_tool].astype(np.uint8)),
        "tier": scatter(np.uint8, zero_u8, tier, zero_u8),
        "err": scatter(np.uint8, last_err, err_code, tool_err_code[has_tool]),
        "agent": (tr.agent[row_trace] + 1).astype(np.uint8 if k < 255 else np.uint16),
        "span_u": span_u,
        "row_trace": row_trace.astype(np.int32),
        "started_at": scatter(np.int64, *started).view("datetime64[us]"),
        "duration_ms": scatter(np.float64, *duration),
        # NaN is NULL to DuckDB's DataFrame scan.
        "ttft_ms": scatter(np.float64, np.nan, np.where(has_ttft, ttft, np.nan), np.nan),
        "input_tokens": scatter(np.int64, 0, inp, 0),
        "output_tokens": scatter(np.int64, 0, out, 0),
        "cache_read_tokens": scatter(np.int64, 0, cr, 0),
        "cache_write_tokens": scatter(np.int64, 0, cw, 0),
        "reasoning_tokens": scatter(np.int64, 0, rs, 0),
        "cost": scatter(np.float64, np.nan, np.where(has_cost, cost, np.nan), np.nan),
        "line": _otlp_lines(tr.agent, k)[row_trace],
    }
    trace_cols = {
        "trace_hi": tr.hi,
        "trace_lo": tr.lo,
        "root_span_u": span_u[root_row],
        "user_u": tr.user_u,
        "conv_u": tr.conv_u,
    }
    return Chunk(day, part, cols, trace_cols, llm_calls=n_c, traces=n_tr, anomaly_costs=anomaly_costs)


def _draw_tools(ctx: RunContext, rng: np.random.Generator, calls: _Calls):
    """Whether a tool span follows each call (never the last of its trace), which tool, how long, and its error."""
    n_c, c_agent = len(calls), calls.agent
    has_tool = (rng.random(n_c) < ctx.tool_rate[c_agent]) & ~calls.last
    tool_code = ctx.tool_codes[c_agent, (rng.random(n_c) * ctx.tool_count[c_agent]).astype(np.int64)]
    tool_dur = np.round(np.minimum(rng.lognormal(np.log(300.0), 1.0, n_c), 60_000.0), 3)
    tool_err = rng.random(n_c) < ctx.error_rate * 0.5
    tool_err_code = np.where(tool_err, ctx.tool_error_codes[(rng.random(n_c) < 0.2).astype(np.int64)], 0).astype(
        np.uint8
    )
    return has_tool, tool_code, tool_dur, tool_err_code


def _lay_out(
    ctx: RunContext,
    rng: np.random.Generator,
    tr: _Traces,
    calls: _Calls,
    dur: np.ndarray,
    has_tool: np.ndarray,
    tool_dur: np.ndarray,
):
    """Place every span in time and in the row order (root, then each call and its tool span).

    Returns (root, call, tool) start times and durations, the row index of
    each root, call and tool span, and each row's trace.
    """
    n_c, n_tr = len(calls), len(tr.sizes)
    first_call, c_trace = calls.first, calls.trace
    gap_c = rng.integers(3_000, 40_000, n_c)  # microseconds
    gap_t = rng.integers(1_000, 10_000, n_c)
    dur_us = np.round(dur * 1000).astype(np.int64)
    tool_us = np.round(tool_dur * 1000).astype(np.int64)
    block = gap_c + dur_us + np.where(has_tool, gap_t + tool_us, 0)
    csum = np.cumsum(block)
    trace_before = np.concatenate(([0], csum))[first_call]
    c_off = csum - block - trace_before[c_trace]
    c_start = tr.start[c_trace] + c_off + gap_c
    tl_start = c_start + dur_us + gap_t
    trace_total = np.add.reduceat(block, first_call) if n_c else np.zeros(0, dtype=np.int64)
    root_us = trace_total + rng.integers(2_000, 20_000, n_tr)

    tools_per_trace = np.bincount(c_trace[has_tool], minlength=n_tr)
    rows_per_trace = 1 + tr.sizes + tools_per_trace
    step = 1 + has_tool.astype(np.int64)
    call_row = (c_trace + 1) + (np.cumsum(step) - step)
    root_row = call_row[first_call] - 1
    tool_row = call_row[has_tool] + 1
    row_trace = np.repeat(np.arange(n_tr), rows_per_trace)
    started = (tr.start, c_start, tl_start[has_tool])
    duration = (root_us / 1000.0, dur, tool_dur[has_tool])
    return started, duration, root_row, call_row, tool_row, row_trace


def _otlp_lines(t_agent: np.ndarray, k: int, traces_per_line: int = 100) -> np.ndarray:
    """Export batch of each trace: an agent's consecutive traces, 100 to a line (as a batching exporter would)."""
    if len(t_agent) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(t_agent, kind="stable")
    counts = np.bincount(t_agent, minlength=k)
    rank_sorted = np.arange(len(t_agent)) - np.repeat(_group_offsets(counts), counts)
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    return t_agent.astype(np.int64) * 1_000_000 + rank // traces_per_line
