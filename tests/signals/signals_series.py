"""Small hand-built daily series with known properties, shared by the signals tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def weekly_series(
    days: int = 90,
    level: float = 100.0,
    growth_per_day: float = 0.006,
    weekend: float = 0.45,
    noise: float = 0.05,
    seed: int = 1,
    start: str = "2026-08-03",
) -> pd.DataFrame:
    """Daily cost with linear growth, a weekend dip and lognormal noise (start is a Monday)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    wk = np.where(dates.day_of_week >= 5, weekend, 1.0)
    cost = level * (1 + growth_per_day * np.arange(days)) * wk * rng.lognormal(0, noise, days)
    return pd.DataFrame({"date": dates, "cost": cost})


def agent_days(
    n_agents: int = 4, days: int = 70, seed: int = 3, start: str = "2026-08-03", incidents: dict | None = None
) -> pd.DataFrame:
    """Agent-day features built bottom-up (calls x tokens x prices) with optional incidents.

    incidents maps agent index -> (kind, first_day, last_day) with kind in
    'volume', 'tokens', 'cache', 'model', 'retries', 'bump', 'mixed'.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    rows = []
    for a in range(n_agents):
        wk = np.where(dates.day_of_week >= 5, 0.4, 1.0)
        calls = rng.poisson(400 * (1 + 0.004 * np.arange(days)) * wk).astype(float)
        tpc = 4000 * rng.lognormal(0, 0.04, days)
        hit = np.full(days, 0.6)
        in_price = np.full(days, 3e-6)  # USD per uncached input token
        errors = rng.binomial(calls.astype(int), 0.02).astype(float)
        kind, d0, d1 = (incidents or {}).get(a, (None, 0, -1))
        sl = slice(d0, d1 + 1)
        if kind == "volume":
            calls[sl] *= 5
        elif kind == "retries":
            extra = calls[sl] * 3
            calls[sl] += extra
            errors[sl] += extra
        elif kind == "tokens":
            tpc[sl] *= 4
        elif kind == "cache":
            hit[sl] = 0.0
        elif kind == "model":
            in_price[sl] *= 5
        elif kind == "bump":  # +56 % cost, no single driver moves 3x
            calls[sl] *= 1.25
            tpc[sl] *= 1.25
        elif kind == "mixed":  # x3 cost from two drivers, neither 3x on its own
            calls[sl] *= 1.7
            tpc[sl] *= 1.8
        inp = calls * tpc
        cache_read = inp * hit
        out_tokens = calls * 300
        cost = (inp - cache_read) * in_price + cache_read * in_price * 0.1 + out_tokens * in_price * 5
        mix_cost = inp * in_price * 0.46 + out_tokens * in_price * 5  # index moves only with the model price
        for i in range(days):
            rows.append(
                {
                    "date": dates[i],
                    "workspace_id": "ws-a" if a % 2 == 0 else "ws-b",
                    "department": "dept",
                    "agent_id": f"agent-{a}",
                    "calls": calls[i],
                    "cost": cost[i],
                    "input_tokens": inp[i],
                    "output_tokens": out_tokens[i],
                    "cache_read_tokens": cache_read[i],
                    "errors": errors[i],
                    "tokens": inp[i] + out_tokens[i],
                    "mix_cost": mix_cost[i],
                }
            )
    return pd.DataFrame(rows)
