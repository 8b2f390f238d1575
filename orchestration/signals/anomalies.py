"""Cost anomalies per agent-day and per workspace-day, with severity and driver.

Expectation (log scale, per scope):
    expected(t) = level(t) + season(weekday(t))
where `season` is a robust weekly profile (median, per weekday, of the
deviation from the centred 7-day mean over the whole history) and `level` is
the median of the last `level_window_days` de-seasonalised CLEANED values. The
level therefore follows growth with a lag of a few days and respects the weekly
cycle. A day is an anomaly when its robust z-score (residual divided by
1.4826 x MAD of the scope's recent non-anomalous residuals) reaches
`z_threshold` AND the relative deviation reaches `min_relative_deviation` AND
the dollar impact reaches `min_dollar_rise` (a rise) or `min_dollar_impact` (a drop).

Days flagged as anomalous are replaced by their expectation in the cleaned
series, so a multi-day incident does not drag the baseline up and hide its own
second week. An incident longer than `accept_new_level_after_days` is accepted
as the new normal (a deliberate, lasting change stops alerting).

Two more rules (docs/signals.md, "Rules"): a drift of tokens per call or price
per token that has persisted for days is scored against the level of two to
four weeks before, which the drift has not yet pulled along; and a
workspace-day is anomalous whenever one of its agents is, however small that
agent is next to its workspace. No day of a scope is scored before
`warmup_days` days after the scope's first day with spend.

The scan is a loop over days because cleaning is causal (day t's baseline
depends on the decision for day t-1); each step is vectorised across all
scopes, so the loop runs ~90 numpy steps, never one step per row.

Driver: cost = calls x tokens/call x cost/token, so log(actual/baseline) splits
into volume, tokens-per-call and price-per-token terms; the price term is split
again into model mix (change of the token-weighted catalogue price of the models
used) and the rest (cache hit rate, long-context tier). The largest term names
the driver; a volume rise that comes with a higher error rate is reported as
error retries. `driver_source` names what moved: calls, a token kind, a model
(`name_models`) or, for a workspace, an agent.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ("cost", "calls", "input_tokens", "output_tokens", "cache_read_tokens", "errors", "mix_cost", "tokens")
ANOMALY_COLUMNS = [
    "scope_type",
    "scope_id",
    "workspace_id",
    "date",
    "actual_cost",
    "expected_cost",
    "deviation",
    "z_score",
    "dollar_impact",
    "severity",
    "driver",
    "driver_detail",
    "expected_low",
    "expected_high",
    "driver_source",
    "rule",
]
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class AnomalyConfig:
    z_threshold: float = 2.5
    min_relative_deviation: float = 0.3
    # A deviation no driver explains must be larger to count.
    z_threshold_unexplained: float = 8.0
    min_relative_deviation_unexplained: float = 1.0
    # What "a driver explains it" means: calls, tokens per call, model-mix price
    # or other price per token moved by this factor (either way), or the cache
    # hit rate moved by this many points, or the error rate rose by this much.
    driver_min_factor: float = 3.0
    # Calls are far less noisy than tokens per call (one long-context call can
    # triple a small agent's tokens per call), so a smaller move explains.
    volume_min_factor: float = 1.8
    # Drift rule: tokens per call or price per token above their 28-day median
    # by this factor for `drift_persist_days` days running, and cost up by
    # `drift_min_relative_deviation` against the level of 2-4 weeks before.
    drift_min_factor: float = 1.6
    drift_persist_days: int = 3
    drift_min_relative_deviation: float = 0.4
    drift_reference_days: tuple[int, int] = (28, 14)
    min_cache_hit_change: float = 0.3
    min_error_rate_rise: float = 0.2
    # A drop to zero on a scope whose usual spend is tiny is not worth an alarm:
    # a drop must lose at least `min_dollar_impact`, a rise add `min_dollar_rise`.
    min_dollar_impact: float = 0.25
    min_dollar_rise: float = 0.1
    level_window_days: int = 7
    sigma_window_days: int = 28
    # Counted from each scope's own first day with spend: a new agent's first
    # weeks are its baseline, never scored.
    warmup_days: int = 21
    min_sigma: float = 0.05
    accept_new_level_after_days: int = 28
    # Severity = the lower of the z-score grade and the dollar grade, so a
    # statistically extreme day worth a few cents stays low and a large dollar
    # swing inside normal noise is not flagged at all.
    z_grades: tuple[float, float, float] = (6.0, 10.0, 16.0)
    dollar_grades: tuple[float, float, float] = (10.0, 50.0, 200.0)


@contextmanager
def _quiet():
    """Silence numpy's all-NaN / divide warnings: NaN cells are expected (inactive days)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ---------------------------------------------------------------- inputs


def add_mix_cost(agent_days: pd.DataFrame, agent_day_models: pd.DataFrame) -> pd.DataFrame:
    """Add `tokens` and `mix_cost`: the agent-day's tokens priced at each model's
    average realised cost per token over the whole data (a fixed price index, so
    a change in `mix_cost / tokens` can only come from a change of model mix)."""
    m = agent_day_models.copy()
    per_model = m.groupby("model").agg(cost=("cost", "sum"), tokens=("tokens", "sum"))
    rate = (per_model["cost"] / per_model["tokens"].where(per_model["tokens"] > 0)).fillna(0.0)
    m["mix_cost"] = m["tokens"] * m["model"].map(rate).fillna(0.0)
    per_day = m.groupby(["date", "agent_id"], as_index=False)[["mix_cost", "tokens"]].sum()
    out = agent_days.drop(columns=[c for c in ("mix_cost", "tokens") if c in agent_days], errors="ignore")
    out = out.merge(per_day, on=["date", "agent_id"], how="left")
    out[["mix_cost", "tokens"]] = out[["mix_cost", "tokens"]].fillna(0.0)
    return out


def scope_day_panel(agent_days: pd.DataFrame) -> pd.DataFrame:
    """Agent-day and workspace-day rows with summed features."""
    if "tokens" not in agent_days:
        agent_days = agent_days.assign(tokens=agent_days["input_tokens"] + agent_days["output_tokens"])
    if "mix_cost" not in agent_days:
        agent_days = agent_days.assign(mix_cost=agent_days["cost"])
    feats = list(FEATURES)
    agent = agent_days.groupby(["agent_id", "date"], as_index=False).agg(
        workspace_id=("workspace_id", "first"), **{f: (f, "sum") for f in feats}
    )
    agent = agent.rename(columns={"agent_id": "scope_id"}).assign(scope_type="agent")
    ws = agent_days.groupby(["workspace_id", "date"], as_index=False)[feats].sum()
    ws = ws.assign(scope_id=ws["workspace_id"], scope_type="workspace")
    return pd.concat([agent, ws], ignore_index=True)


# ---------------------------------------------------------------- detector


def _matrix(panel: pd.DataFrame, value: str, dates: pd.DatetimeIndex, scopes: pd.Index) -> np.ndarray:
    wide = panel.pivot_table(index="scope_id", columns="date", values=value, aggfunc="sum")
    return wide.reindex(index=scopes, columns=dates).to_numpy(dtype=float)


def weekly_profile(logc: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Robust weekday effect per scope (rows), centred to mean zero: [n_scopes, 7]."""
    centred = pd.DataFrame(logc.T).rolling(7, center=True, min_periods=5).mean().to_numpy().T
    dev = logc - centred
    prof = np.zeros((logc.shape[0], 7))
    for d in range(7):  # seven weekdays, vectorised over scopes and weeks
        cols = dev[:, weekdays == d]
        if cols.size:
            with warnings.catch_warnings():  # all-NaN rows (inactive scopes) give NaN, set to 0 below
                warnings.simplefilter("ignore", RuntimeWarning)
                prof[:, d] = np.nanmedian(cols, axis=1)
    prof = np.nan_to_num(prof)
    return prof - prof.mean(axis=1, keepdims=True)


def noise_scale(calls: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Relative noise level of each scope-day from its typical call volume.

    A day's cost is a sum over its calls, so its relative noise shrinks like
    1/sqrt(calls): a Sunday with 15 calls swings far more than a Monday with 100.
    Residuals are divided by sqrt(typical calls / calls expected that day)
    before the MAD, so quiet days neither hide anomalies on busy days nor raise
    false alarms themselves. Expected calls: weekly profile plus a centred
    7-day median level (robust to a short burst such as a runaway loop).
    """
    logn = np.log(np.nan_to_num(calls, nan=0.0) + 1.0)
    logn = np.where(np.isnan(calls), np.nan, logn)
    season = weekly_profile(logn, weekdays)[:, weekdays]
    with _quiet():
        level = pd.DataFrame((logn - season).T).rolling(7, center=True, min_periods=3).median().to_numpy().T
        expected = np.exp(level + season)
        typical = np.nanmedian(expected, axis=1, keepdims=True)
    scale = np.sqrt(typical / np.maximum(expected, 1.0))
    return np.where(np.isnan(scale), 1.0, scale)


def scan(
    cost: np.ndarray,
    weekdays: np.ndarray,
    config: AnomalyConfig,
    scale: np.ndarray | None = None,
    corroborated: np.ndarray | None = None,
    drifting: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Run the causal detector over a [scopes x days] cost matrix (NaN = inactive).

    `scale` (same shape, default 1) is the relative noise level of each day
    (see `noise_scale`); `corroborated` marks days where a driver moved enough
    to explain an anomaly (default: none); `drifting` marks days where tokens
    per call or price per token stayed high for several days (drift rule).
    Returns expected cost and its band, z-scores, flags and the rule that fired.
    """
    if scale is None:
        scale = np.ones_like(cost)
    if corroborated is None:
        corroborated = np.zeros(cost.shape, dtype=bool)
    if drifting is None:
        drifting = np.zeros(cost.shape, dtype=bool)
    n_s, n_t = cost.shape
    active = ~np.isnan(cost)
    first_day = np.where(active.any(axis=1), np.argmax(active, axis=1), n_t)
    pos = np.where(active & (cost > 0), cost, np.nan)
    with _quiet():
        typical = np.nanmedian(pos, axis=1)
    eps = np.maximum(0.01, 0.05 * np.nan_to_num(typical, nan=0.0))[:, None]  # floor for log of zero-cost days
    logc = np.log(cost + eps)
    season = weekly_profile(logc, weekdays)
    seas_t = season[:, weekdays]
    deseason = logc - seas_t
    cleaned = deseason.copy()
    resid = np.full((n_s, n_t), np.nan)
    expected_log = np.full((n_s, n_t), np.nan)
    z = np.full((n_s, n_t), np.nan)
    flags = np.zeros((n_s, n_t), dtype=bool)
    drift_flags = np.zeros((n_s, n_t), dtype=bool)
    band = np.full((n_s, n_t), np.nan)
    run = np.zeros(n_s, dtype=int)
    w, sw = config.level_window_days, config.sigma_window_days
    ref_far, ref_near = config.drift_reference_days
    for t in range(w, n_t):
        with _quiet():
            window = cleaned[:, t - w : t]
            enough = np.sum(~np.isnan(window), axis=1) >= max(3, w // 2)
            level = np.nanmedian(window, axis=1)
            exp_t = np.where(enough & active[:, t], level + seas_t[:, t], np.nan)
            r = (logc[:, t] - exp_t) / scale[:, t]
            past = resid[:, max(0, t - sw) : t]
            n_past = np.sum(~np.isnan(past), axis=1)
            med = np.nanmedian(past, axis=1)
            mad = np.nanmedian(np.abs(past - med[:, None]), axis=1)
            # Drift rule: the level of 2-4 weeks ago, which a drift of the last days has not reached.
            ref_window = cleaned[:, max(0, t - ref_far) : max(0, t - ref_near)]
            ref_level = np.where(np.sum(~np.isnan(ref_window), axis=1) >= 7, np.nanmedian(ref_window, axis=1), np.nan)
        sigma = np.maximum(np.nan_to_num(1.4826 * mad, nan=np.inf), config.min_sigma)
        zt = np.where(n_past >= 7, r / sigma, np.nan)
        sigma = np.where(n_past >= 7, sigma, np.nan)
        scored = (t - first_day >= config.warmup_days) & ~np.isnan(zt)
        expected_cost = np.exp(exp_t) - eps[:, 0]
        impact = cost[:, t] - expected_cost
        rel = impact / np.maximum(expected_cost, eps[:, 0])
        az, arel = np.abs(np.nan_to_num(zt)), np.abs(np.nan_to_num(rel))
        explained = corroborated[:, t] & (az >= config.z_threshold) & (arel >= config.min_relative_deviation)
        unexplained = (az >= config.z_threshold_unexplained) & (arel >= config.min_relative_deviation_unexplained)
        imp = np.nan_to_num(impact)
        big = (imp >= config.min_dollar_rise) | (imp <= -config.min_dollar_impact)
        flag = scored & (explained | unexplained) & big
        exp_ref = ref_level + seas_t[:, t]
        ref_cost = np.exp(exp_ref) - eps[:, 0]
        z_ref = (logc[:, t] - exp_ref) / scale[:, t] / sigma
        drift_impact = cost[:, t] - ref_cost
        drift = (
            scored
            & ~flag
            & drifting[:, t]
            & (np.nan_to_num(z_ref) >= config.z_threshold)
            & (np.nan_to_num(drift_impact / np.maximum(ref_cost, eps[:, 0])) >= config.drift_min_relative_deviation)
            & (np.nan_to_num(drift_impact) >= config.min_dollar_rise)
        )
        exp_t = np.where(drift, exp_ref, exp_t)
        zt = np.where(drift, z_ref, zt)
        level = np.where(drift, ref_level, level)
        flag = flag | drift
        run = np.where(flag, run + 1, 0)
        accept = run > config.accept_new_level_after_days
        clean_it = flag & ~accept
        cleaned[:, t] = np.where(clean_it, level, deseason[:, t])
        resid[:, t] = np.where(flag, np.nan, r)
        expected_log[:, t], z[:, t], flags[:, t], drift_flags[:, t] = exp_t, zt, flag, drift
        band[:, t] = config.z_threshold * sigma * scale[:, t]
    expected = np.exp(expected_log) - eps
    low = np.maximum(np.exp(expected_log - band) - eps, 0.0)
    high = np.exp(expected_log + band) - eps
    return {"expected": expected, "z": z, "flags": flags, "drift": drift_flags, "low": low, "high": high}


def grade(values: np.ndarray, cuts: tuple[float, float, float]) -> np.ndarray:
    """0..3 grade: how many of the three ascending cuts |value| reaches."""
    return np.searchsorted(np.asarray(cuts), np.abs(values), side="right")


def severity(z: np.ndarray, dollar_impact: np.ndarray, config: AnomalyConfig) -> np.ndarray:
    idx = np.minimum(grade(z, config.z_grades), grade(dollar_impact, config.dollar_grades))
    return np.asarray(SEVERITIES, dtype=object)[idx]


def _same_weekday_baseline(values: np.ndarray, weeks: int = 4) -> np.ndarray:
    """Median of the same weekday over the previous `weeks` weeks (robust to one odd week)."""
    n_s, n_t = values.shape
    stack = np.full((weeks, n_s, n_t), np.nan)
    for k in range(1, weeks + 1):
        if 7 * k >= n_t:
            break  # shorter history than k weeks: those weeks stay missing
        stack[k - 1, :, 7 * k :] = values[:, : n_t - 7 * k]
    with _quiet():
        return np.nanmedian(stack, axis=0)


def _trailing_median(values: np.ndarray, window: int = 28) -> np.ndarray:
    """Median of the previous `window` days (today excluded), per scope."""
    with _quiet():
        frame = pd.DataFrame(values.T).shift(1).rolling(window, min_periods=7).median()
    return frame.to_numpy().T


def analyse_drivers(mats: dict[str, np.ndarray], config: AnomalyConfig) -> dict[str, np.ndarray]:
    """Driver terms of every scope-day against its baseline, the dominant driver,
    a readable detail, and whether a driver moved enough to explain an anomaly.

    Baselines: calls against the median of the same weekday in the previous
    four weeks (volume is weekly-seasonal); the per-call and per-token ratios
    against the median of the previous 28 days (they are not). Medians keep a
    short incident from becoming its own baseline.
    """
    tiny = 1e-12
    calls, tokens = mats["calls"], mats["tokens"]
    with _quiet():
        tpc = tokens / np.maximum(calls, tiny)
        cpt = mats["cost"] / np.maximum(tokens, tiny)
        mix = mats["mix_cost"] / np.maximum(tokens, tiny)
        hit = mats["cache_read_tokens"] / np.maximum(mats["input_tokens"], tiny)
        err = mats["errors"] / np.maximum(calls, tiny)
    # Ratios are undefined on days without usage; keep them out of the baselines.
    has_usage = (np.nan_to_num(calls) > 0) & (np.nan_to_num(tokens) > 0)
    base = {"calls": _same_weekday_baseline(calls)}
    for name, v in {"tpc": tpc, "cpt": cpt, "mix": mix, "hit": hit, "err": err}.items():
        base[name] = _trailing_median(np.where(has_usage, v, np.nan))

    def lr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with _quiet():
            return np.nan_to_num(np.log(np.maximum(a, tiny) / np.maximum(b, tiny)), nan=0.0, posinf=0.0, neginf=0.0)

    volume = lr(calls, base["calls"])
    per_call = np.where(has_usage, lr(tpc, base["tpc"]), 0.0)
    with _quiet():
        in_pc = mats["input_tokens"] / np.maximum(calls, tiny)
        out_pc = mats["output_tokens"] / np.maximum(calls, tiny)
    in_term = np.where(has_usage, lr(in_pc, _trailing_median(np.where(has_usage, in_pc, np.nan))), 0.0)
    out_term = np.where(has_usage, lr(out_pc, _trailing_median(np.where(has_usage, out_pc, np.nan))), 0.0)
    mix_term = np.where(has_usage, lr(mix, base["mix"]), 0.0)
    rate_term = np.where(has_usage, lr(cpt, base["cpt"]) - mix_term, 0.0)
    hit_drop = np.where(has_usage, np.nan_to_num(base["hit"] - hit), 0.0)
    err_rise = np.where(has_usage, np.nan_to_num(err - base["err"]), 0.0)
    terms = np.stack([np.abs(volume), np.abs(per_call), np.abs(mix_term), np.abs(rate_term)])
    which = np.argmax(terms, axis=0)
    names = np.array(["volume", "tokens_per_call", "model_mix", "price_per_token"], dtype=object)[which]
    names = np.where((names == "price_per_token") & (np.abs(hit_drop) >= 0.1), "cache_hit_rate", names)
    names = np.where((names == "volume") & (err_rise >= 0.05), "error_retries", names)
    corroborated = (
        (terms[1:].max(axis=0) >= np.log(config.driver_min_factor))
        | (terms[0] >= np.log(config.volume_min_factor))
        | (np.abs(hit_drop) >= config.min_cache_hit_change)
        | (err_rise >= config.min_error_rate_rise)
    )
    # A drift: tokens per call or price per token high for several days running.
    high = np.maximum(per_call, mix_term + rate_term) >= np.log(config.drift_min_factor)
    drifting = high.copy()
    for k in range(1, config.drift_persist_days):
        drifting[:, k:] &= high[:, :-k]
        drifting[:, :k] = False
    token_kind = np.where(np.abs(in_term) >= np.abs(out_term), "input tokens", "output tokens").astype(object)

    def pct(x: np.ndarray) -> np.ndarray:
        return np.char.mod("%+.0f%%", 100 * (np.exp(x) - 1))

    detail = (
        "calls "
        + pct(volume).astype(object)
        + ", tokens/call "
        + pct(per_call).astype(object)
        + ", model-mix price "
        + pct(mix_term).astype(object)
        + ", other price/token "
        + pct(rate_term).astype(object)
        + ", cache hit "
        + np.char.mod("%.0f%%", 100 * np.nan_to_num(base["hit"])).astype(object)
        + "->"
        + np.char.mod("%.0f%%", 100 * np.nan_to_num(hit)).astype(object)
        + ", error rate "
        + np.char.mod("%.1f%%", 100 * np.nan_to_num(base["err"])).astype(object)
        + "->"
        + np.char.mod("%.1f%%", 100 * np.nan_to_num(err)).astype(object)
        + " vs baseline"
    )
    return {
        "names": names,
        "detail": detail,
        "corroborated": corroborated,
        "drifting": drifting,
        "token_kind": token_kind,
    }


def detect_anomalies(panel: pd.DataFrame, config: AnomalyConfig | None = None, all_days: bool = False) -> pd.DataFrame:
    """Score every scope-day of `panel` (from `scope_day_panel`).

    Returns the `signals.cost_anomalies` rows: flagged days only, or every
    scored day with an `is_anomaly` column when `all_days` is true.
    """
    config = config or AnomalyConfig()
    if panel.empty:
        return pd.DataFrame(columns=ANOMALY_COLUMNS + (["is_anomaly"] if all_days else []))
    panel = panel.copy()
    panel["date"] = pd.to_datetime(panel["date"])
    dates = pd.date_range(panel["date"].min(), panel["date"].max(), freq="D")
    weekdays = dates.day_of_week.to_numpy()
    out = []
    agent_flags: pd.DataFrame | None = None
    agent_state = None
    # Agents first: their flags corroborate workspace anomalies.
    for scope_type, part in sorted(panel.groupby("scope_type"), key=lambda kv: kv[0] != "agent"):
        scopes = pd.Index(sorted(part["scope_id"].unique()))
        mats = {f: _matrix(part, f, dates, scopes) for f in FEATURES}
        first = part[part["cost"] > 0].groupby("scope_id")["date"].min().reindex(scopes)
        started = dates.to_numpy()[None, :] >= first.to_numpy(dtype="datetime64[ns]")[:, None]
        for f in FEATURES:
            mats[f] = np.where(started, np.nan_to_num(mats[f]), np.nan)
        drivers = analyse_drivers(mats, config)
        corroborated = drivers["corroborated"]
        if scope_type == "workspace" and agent_flags is not None:
            # A workspace-day is also explained by an anomaly of one of its agents.
            corroborated = corroborated | agent_flags.reindex(index=scopes, columns=dates, fill_value=False).to_numpy(
                dtype=bool
            )
        res = scan(
            mats["cost"], weekdays, config, noise_scale(mats["calls"], weekdays), corroborated, drivers["drifting"]
        )
        impact = mats["cost"] - res["expected"]
        flags = res["flags"]
        rule = np.where(res["drift"], "drift", "deviation").astype(object)
        names = drivers["names"].astype(object)
        source = np.select(
            [names == "tokens_per_call", names == "volume", names == "error_retries"],
            [drivers["token_kind"], "calls", "failed calls and their retries"],
            default=None,
        ).astype(object)
        ws_map = part.groupby("scope_id")["workspace_id"].first().reindex(scopes).to_numpy()
        if scope_type == "agent":
            agent_flags = pd.DataFrame(flags, index=scopes, columns=dates).groupby(ws_map).any()
            agent_state = (scopes, ws_map, flags, np.where(flags, np.abs(np.nan_to_num(impact)), -1.0), names)
        elif agent_state is not None:
            # A workspace-day with an anomalous agent is anomalous too, even when that
            # agent is too small to move the workspace's total; the agent is the driver.
            a_scopes, a_ws, a_flags, a_size, a_names = agent_state
            for w_i, ws in enumerate(scopes):
                members = np.nonzero(a_ws == ws)[0]
                if not len(members):
                    continue
                top = members[np.argmax(a_size[members], axis=0)]
                any_flag = a_flags[members].any(axis=0)
                cols = np.arange(len(dates))
                source[w_i] = np.where(any_flag, "agent " + a_scopes.to_numpy()[top].astype(object), source[w_i])
                names[w_i] = np.where(any_flag & ~flags[w_i], a_names[top, cols], names[w_i])
                rule[w_i] = np.where(any_flag & ~flags[w_i], "agent", rule[w_i])
                flags[w_i] = flags[w_i] | (any_flag & ~np.isnan(res["expected"][w_i]))
        sev = severity(res["z"], impact, config)
        keep = flags if not all_days else ~np.isnan(res["z"])
        si, ti = np.nonzero(keep)
        frame = pd.DataFrame(
            {
                "scope_type": scope_type,
                "scope_id": scopes.to_numpy()[si],
                "workspace_id": ws_map[si],
                "date": dates[ti].date,
                "actual_cost": mats["cost"][si, ti],
                "expected_cost": res["expected"][si, ti],
                "deviation": impact[si, ti] / np.maximum(res["expected"][si, ti], 1e-9),
                "z_score": res["z"][si, ti],
                "dollar_impact": impact[si, ti],
                "severity": sev[si, ti],
                "driver": names[si, ti],
                "driver_detail": drivers["detail"][si, ti],
                "expected_low": res["low"][si, ti],
                "expected_high": res["high"][si, ti],
                "driver_source": source[si, ti],
                "rule": rule[si, ti],
            }
        )
        if all_days:
            frame["is_anomaly"] = flags[si, ti]
        out.append(frame)
    result = pd.concat(out, ignore_index=True)
    if not all_days:
        result.loc[:, "severity"] = result["severity"].astype(str)
    return result.sort_values(["scope_type", "scope_id", "date"]).reset_index(drop=True)


def name_models(anomalies: pd.DataFrame, agent_day_models: pd.DataFrame, window_days: int = 28) -> pd.DataFrame:
    """Fill `driver_source` of agent rows driven by price (model mix, price per token, cache hit
    rate) with the model whose cost rose most against its mean daily cost over the previous
    `window_days` days: the model that moved."""
    rows = anomalies[
        (anomalies["scope_type"] == "agent")
        & anomalies["driver"].isin(["model_mix", "price_per_token", "cache_hit_rate"])
    ]
    if rows.empty or agent_day_models.empty:
        return anomalies
    m = agent_day_models.assign(date=pd.to_datetime(agent_day_models["date"]))
    out = anomalies.copy()
    for idx, row in rows.iterrows():
        day = pd.Timestamp(row["date"])
        mine = m[m["agent_id"] == row["scope_id"]]
        today = mine[mine["date"] == day].groupby("model")["cost"].sum()
        before = mine[(mine["date"] < day) & (mine["date"] >= day - pd.Timedelta(days=window_days))]
        usual = before.groupby("model")["cost"].sum() / max(before["date"].nunique(), 1)
        rise = today.sub(usual, fill_value=0.0)
        if len(rise):
            out.at[idx, "driver_source"] = f"model {rise.idxmax()} ({rise.max():+.2f} USD)"
    return out
