"""The run plan: daily call volume per agent, injected anomalies, provider outages.

Everything here is small (agents x days) and decided before any span is
generated, so each day can then be generated independently from its own
random stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from generators.agents import Agent
from generators.catalog import MODEL_INDEX, MODELS

KINDS = ("runaway_loop", "model_switch", "prompt_blowup", "cache_regression")
WARMUP_DAYS = 21
DURATIONS = {"runaway_loop": (1, 2), "model_switch": (3, 6), "prompt_blowup": (2, 4), "cache_regression": (3, 6)}
OUTAGE_PROVIDERS = ("openai", "anthropic", "gcp.gemini")
# Kinds whose effect is more calls: the planned volume is multiplied by `factor`.
VOLUME_KINDS = ("runaway_loop", "level_shift", "retry_storm", "weekend_spike", "small_agent_spike")
# Kinds whose extra calls loop inside the agent's traces (longer traces, not more of them).
LOOP_KINDS = ("runaway_loop", "retry_storm", "weekend_spike", "small_agent_spike")


@dataclass(frozen=True)
class Anomaly:
    index: int
    kind: str
    agent: int
    start_day: int
    end_day: int  # inclusive
    factor: float  # runaway volume multiplier or prompt-size multiplier; 1 otherwise
    switch_from: int = -1  # model code
    switch_to: int = -1
    error_share: float = 0.0  # retry storm: share of the agent's calls that fail

    def anomaly_id(self) -> str:
        return f"anm-{self.index + 1:03d}"


@dataclass(frozen=True)
class Outage:
    provider: str
    start_us: int
    end_us: int
    error_rate: float


def warmup_days(days: int) -> int:
    """Days kept anomaly-free at the start so detectors can learn a baseline."""
    return WARMUP_DAYS if days >= 30 else (days * 2) // 3


def _eligible(agent: Agent, kind: str) -> bool:
    fam = agent.family
    if not agent.priced or fam.embed_model == "acme-embed":
        return False
    if kind == "runaway_loop":
        return True
    if kind == "model_switch":
        return fam.switch_to is not None
    if kind == "prompt_blowup":
        return fam.input_heavy
    if kind == "cache_regression":
        return agent.cache_hit >= 0.7
    raise ValueError(kind)


def plan_anomalies(agents: tuple[Agent, ...], days: int, seed: int) -> tuple[Anomaly, ...]:
    """Several anomalies of each kind, after the warm-up, never two on one agent-day."""
    rng = np.random.default_rng([seed, 202])
    first = warmup_days(days)
    window = days - first
    if window < 1:
        return ()
    per_kind = max(1, round(3 * window / 69))
    busy: dict[int, list[tuple[int, int]]] = {}
    uses = np.zeros(len(agents), dtype=int)
    out: list[Anomaly] = []
    for _round in range(per_kind):
        for kind in KINDS:
            candidates = [a for a in agents if _eligible(a, kind)]
            if not candidates:
                continue
            order = sorted(candidates, key=lambda a: (uses[a.index], rng.random()))
            placed = False
            for agent in order:
                lo, hi = DURATIONS[kind]
                length = int(min(rng.integers(lo, hi + 1), window))
                for _try in range(40):
                    start = int(rng.integers(first, days - length + 1))
                    end = start + length - 1
                    if all(end + 2 < s or start > e + 2 for s, e in busy.get(agent.index, [])):
                        placed = True
                        break
                if placed:
                    break
            if not placed:
                continue
            busy.setdefault(agent.index, []).append((start, end))
            uses[agent.index] += 1
            factor, s_from, s_to = 1.0, -1, -1
            if kind == "runaway_loop":
                factor = round(float(rng.uniform(5, 20)), 1)
            elif kind == "prompt_blowup":
                factor = round(float(rng.uniform(6, 12)), 1)
            elif kind == "model_switch":
                s_from = agent.model_codes[int(np.argmax(agent.model_shares))]
                s_to = MODEL_INDEX[agent.family.switch_to]
            out.append(Anomaly(len(out), kind, agent.index, start, end, factor, s_from, s_to))
    return tuple(out)


def anomaly_effect(a: Anomaly) -> str:
    if a.kind == "runaway_loop":
        return f"runaway agent loop: model calls x{a.factor:g} (traces loop through ~{a.factor:g}x more calls)"
    if a.kind == "model_switch":
        return f"silent switch of all chat calls from {MODELS[a.switch_from].request_model} to {MODELS[a.switch_to].request_model}"
    if a.kind == "prompt_blowup":
        return f"prompt size blow-up: input tokens x{a.factor:g}"
    if a.kind == "level_shift":
        return f"level shift: new traffic, model calls x{a.factor:g} for the whole window"
    if a.kind == "token_drift":
        return f"tokens per call drift upwards to x{a.factor:g}; labelled from the day it passes x2"
    if a.kind == "retry_storm":
        return f"retry storm: model calls x{a.factor:g}, {a.error_share:.0%} of them failing"
    if a.kind == "weekend_spike":
        return f"weekend-only runaway job: model calls x{a.factor:g} on Saturday and Sunday"
    if a.kind == "small_agent_spike":
        return f"runaway loop on a small agent: model calls x{a.factor:g}"
    return "cache regression: prompt-cache hit rate drops to ~0 and every call rewrites the cache"


def anomaly_grid(anomalies: tuple[Anomaly, ...], agents: int, days: int) -> np.ndarray:
    """int32 [agents, days]: index of the anomaly active on that agent-day, -1 when none."""
    grid = np.full((agents, days), -1, dtype=np.int32)
    for a in anomalies:
        grid[a.agent, a.start_day : a.end_day + 1] = a.index
    return grid


def plan_outages(days: int, start: date, seed: int) -> tuple[Outage, ...]:
    """About one provider outage per 20 days: a provider erroring heavily for 1-2 hours."""
    rng = np.random.default_rng([seed, 303])
    n = max(1, round(days / 20))
    day0 = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    out = []
    for _ in range(n):
        day = int(rng.integers(0, days))
        begin = day0 + timedelta(days=day, minutes=int(rng.integers(6 * 60, 20 * 60)))
        length = timedelta(minutes=int(rng.integers(60, 121)))
        us = int(begin.timestamp()) * 1_000_000
        out.append(
            Outage(
                str(rng.choice(OUTAGE_PROVIDERS)),
                us,
                us + int(length.total_seconds()) * 1_000_000,
                round(float(rng.uniform(0.6, 0.9)), 2),
            )
        )
    return tuple(sorted(out, key=lambda o: o.start_us))


WEEKDAY_SHAPE = np.array([1.05, 1.04, 1.02, 1.0, 0.92])  # Monday..Friday


def plan_volume(
    agents: tuple[Agent, ...],
    anomalies: tuple[Anomaly, ...],
    calls: int,
    days: int,
    start: date,
    seed: int,
    shape: np.ndarray | None = None,
) -> np.ndarray:
    """int64 [agents, days] LLM calls, summing exactly to `calls`.

    Volume = agent weight x growth trend x weekly shape x day noise, times
    the anomaly's multiplier on the agent-days of a volume incident, times
    `shape` when given (late launches, quiet days); then scaled to the total.
    """
    rng = np.random.default_rng([seed, 404])
    k = len(agents)
    t = np.arange(days) / max(days - 1, 1)
    weekday = (np.arange(days) + start.weekday()) % 7
    weight = np.array([a.weight for a in agents])[:, None]
    growth = np.exp(np.array([a.growth for a in agents])[:, None] * t[None, :])
    weekend = np.array([a.family.weekend_factor for a in agents])[:, None]
    weekly = np.where(weekday[None, :] >= 5, weekend, WEEKDAY_SHAPE[np.minimum(weekday, 4)][None, :])
    noise = rng.lognormal(0.0, 0.07, size=(k, days))
    expected = weight * growth * weekly * noise
    for a in anomalies:
        if a.kind in VOLUME_KINDS:
            expected[a.agent, a.start_day : a.end_day + 1] *= a.factor
    if shape is not None:
        expected = expected * shape
    expected = expected / expected.sum() * calls
    counts = np.floor(expected).astype(np.int64)
    short = calls - int(counts.sum())
    if short:
        # Largest remainders get the leftover calls; ties broken by position, deterministically.
        order = np.argsort(-(expected - counts).ravel(), kind="stable")[:short]
        counts.ravel()[order] += 1
    return counts
