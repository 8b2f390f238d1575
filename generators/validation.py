"""The validation mix: incidents of other shapes than the demo's, on a fleet with awkward members.

The anomaly detector is tuned on the demo dataset and on this mix under the
"tuning" seed; the "validation" seed is only ever scored. The mix holds:

- runaway loops (a 1-2 day burst of calls inside the agent's traces);
- level shifts (new traffic: calls x1.8-2.6 for exactly a week);
- slow drifts of prompt tokens per call (compounding over 10-14 days up to
  x3.5-5, held a few days, then fixed); labelled from the day the drift
  passes x2 (cost about x1.5), since a few per cent a day is not an incident yet;
- silent switches to a pricier model (4-8 days);
- retry storms (calls x3-5 for 1-3 days, 40-60 % of them failing: the failed
  calls cost nothing, the retries that succeed do);
- weekend-only runaway jobs (Saturday and Sunday of two weekends in a row);
- runaway loops on the smallest agents, too small to move their workspace.

And, unlabelled, the classes that must not raise alarms: agents launched
mid-run (ramping up over a week) and tiny agents whose traffic drops to zero
on some days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from generators.agents import Agent
from generators.catalog import MODEL_INDEX
from generators.plan import Anomaly, warmup_days

GAP_DAYS = 7  # quiet days kept between two incidents of one agent
LAUNCH_RAMP_DAYS = 7
TINY_WEIGHT = 0.06
QUIET_DAY_RATE = 0.08
# Tokens per call at which a drift becomes an incident: cached and output
# tokens do not grow with the prompt, so cost moves about half as much.
MATERIAL_DRIFT = 2.0


@dataclass(frozen=True)
class ValidationPlan:
    agents: tuple[Agent, ...]
    anomalies: tuple[Anomaly, ...]
    shape: np.ndarray  # [agents, days] volume multiplier: launches and quiet days
    drift: np.ndarray  # [agents, days] tokens-per-call multiplier


def _priced(agent: Agent) -> bool:
    return agent.priced and agent.family.embed_model != "acme-embed"


def plan_validation(agents: tuple[Agent, ...], days: int, start: date, seed: int) -> ValidationPlan:
    """Agents (tiny ones shrunk), incidents, launch and quiet-day shape, drift multipliers."""
    rng = np.random.default_rng([seed, 505])
    k = len(agents)
    first = warmup_days(days)
    weekday = (np.arange(days) + start.weekday()) % 7
    shape = np.ones((k, days))
    drift = np.ones((k, days))
    order = list(rng.permutation(k))
    by_weight = sorted((a for a in agents if _priced(a)), key=lambda a: a.weight)
    n_small = max(1, k // 8)
    small = [a.index for a in by_weight[:n_small]]
    rest = [i for i in order if i not in small]
    n_tiny, n_launch = max(1, k // 16), max(1, k // 9)
    tiny, launched = rest[:n_tiny], rest[n_tiny : n_tiny + n_launch]
    regular = [i for i in rest[n_tiny + n_launch :] if _priced(agents[i])]

    agents = tuple(replace(a, weight=a.weight * TINY_WEIGHT) if a.index in tiny else a for a in agents)
    for i in tiny:
        quiet = (rng.random(days) < QUIET_DAY_RATE) & (np.arange(days) >= first)
        shape[i, quiet] = 0.0
    for i in launched:
        day0 = int(rng.integers(min(30, days - 1), max(31, days - 40)))
        ramp = np.clip((np.arange(days) - day0 + 1) / LAUNCH_RAMP_DAYS, 0.0, 1.0)
        shape[i] = ramp

    busy: dict[int, list[tuple[int, int]]] = {}
    uses = np.zeros(k, dtype=int)
    out: list[Anomaly] = []

    def free(agent: int, lo: int, hi: int) -> bool:
        return all(hi + GAP_DAYS < s or lo > e + GAP_DAYS for s, e in busy.get(agent, []))

    def place(candidates: list[int], length: int, lead: int = 0, starts: np.ndarray | None = None):
        """An agent and a first day for a footprint of `lead + length` days, or None."""
        cands = sorted(candidates, key=lambda i: (uses[i], rng.random()))
        for agent in cands:
            for _try in range(60):
                if starts is not None:
                    s = int(rng.choice(starts))
                else:
                    s = int(rng.integers(first + lead, days - length + 1))
                if s - lead >= first and s + length <= days and free(agent, s - lead, s + length - 1):
                    busy.setdefault(agent, []).append((s - lead, s + length - 1))
                    uses[agent] += 1
                    return agent, s
        return None

    def add(kind: str, agent: int, s: int, length: int, factor: float = 1.0, **kw) -> None:
        out.append(Anomaly(len(out), kind, agent, s, s + length - 1, factor, **kw))

    for _ in range(4):
        got = place(regular, length := int(rng.integers(1, 3)))
        if got:
            add("runaway_loop", *got, length, round(float(rng.uniform(4, 12)), 1))
    for _ in range(3):
        got = place(regular, 7)
        if got:
            add("level_shift", *got, 7, round(float(rng.uniform(1.8, 2.6)), 2))
    for _ in range(3):
        ramp, hold = int(rng.integers(10, 15)), int(rng.integers(3, 6))
        factor = round(float(rng.uniform(3.5, 5.0)), 2)
        steps = factor ** (np.arange(1, ramp + 1) / ramp)
        lead = int(np.argmax(steps >= MATERIAL_DRIFT))  # ramp days before the drift is material
        length = ramp - lead + hold
        got = place(regular, length, lead=lead)
        if got:
            agent, s = got
            r0 = s - lead
            drift[agent, r0 : r0 + ramp] = steps
            drift[agent, r0 + ramp : s + length] = factor
            add("token_drift", agent, s, length, factor)
    switchable = [i for i in regular if agents[i].family.switch_to is not None]
    for _ in range(3):
        got = place(switchable, length := int(rng.integers(4, 9)))
        if got:
            a = agents[got[0]]
            add(
                "model_switch",
                *got,
                length,
                1.0,
                switch_from=a.model_codes[int(np.argmax(a.model_shares))],
                switch_to=MODEL_INDEX[a.family.switch_to],
            )
    for _ in range(3):
        got = place(regular, length := int(rng.integers(1, 4)))
        if got:
            add(
                "retry_storm",
                *got,
                length,
                round(float(rng.uniform(3, 5)), 1),
                error_share=round(float(rng.uniform(0.4, 0.6)), 2),
            )
    saturdays = np.nonzero((weekday == 5) & (np.arange(days) + 8 < days))[0]
    for _ in range(3):
        got = place(regular, 9, starts=saturdays)  # two weekends: Sat-Sun, then Sat-Sun a week later
        if got:
            agent, s = got
            factor = round(float(rng.uniform(3, 8)), 1)
            add("weekend_spike", agent, s, 2, factor)
            add("weekend_spike", agent, s + 7, 2, factor)
    for _ in range(4):
        got = place(small, length := int(rng.integers(1, 3)))
        if got:
            add("small_agent_spike", *got, length, round(float(rng.uniform(4, 10)), 1))
    anomalies = tuple(sorted(out, key=lambda a: (a.start_day, a.agent)))
    anomalies = tuple(replace(a, index=i) for i, a in enumerate(anomalies))
    return ValidationPlan(agents, anomalies, shape, drift)
