"""The validation incident mix: its incidents, its awkward agents and its presets."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from generators.__main__ import main
from generators.agents import build_agents
from generators.config import PRESETS, GeneratorConfig
from generators.plan import warmup_days
from generators.traces import generate_traces
from generators.validation import MATERIAL_DRIFT, TINY_WEIGHT, plan_validation

from generator_testdata import read_parquet

START = date(2026, 7, 27)
KINDS = {
    "runaway_loop",
    "level_shift",
    "token_drift",
    "model_switch",
    "retry_storm",
    "weekend_spike",
    "small_agent_spike",
}
CONFIG = GeneratorConfig(calls=30_000, days=120, start=START, seed=2718, agents=35, anomaly_mix="validation")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("validation_mix")
    result = generate_traces(CONFIG, root / "landing", progress=False)
    with result.labels_path.open() as fh:
        labels = list(csv.DictReader(fh))
    return result, labels, read_parquet(result)


def test_presets_name_the_tuning_and_validation_datasets():
    assert PRESETS["demo"] == GeneratorConfig()
    for name in ("tuning", "validation", "tuning-small", "validation-small"):
        cfg = PRESETS[name]
        assert (cfg.agents, cfg.days, cfg.anomaly_mix) == (35, 120, "validation"), name
    assert PRESETS["tuning"].seed != PRESETS["validation"].seed
    assert PRESETS["validation-small"] == replace(PRESETS["validation"], calls=PRESETS["validation-small"].calls)
    with pytest.raises(ValueError, match="anomaly_mix"):
        GeneratorConfig(anomaly_mix="other")


def test_every_kind_is_labelled_after_the_warm_up_never_overlapping(run):
    _, labels, _ = run
    assert {r["kind"] for r in labels} == KINDS
    first = START + timedelta(days=warmup_days(CONFIG.days))
    taken = set()
    for r in labels:
        s, e = date.fromisoformat(r["start_date"]), date.fromisoformat(r["end_date"])
        assert first <= s <= e <= CONFIG.end_date, r
        for d in range((e - s).days + 1):
            key = (r["agent_id"], s + timedelta(days=d))
            assert key not in taken, r
            taken.add(key)
        if r["kind"] == "weekend_spike":
            assert (s.weekday(), e.weekday(), (e - s).days) == (5, 6, 1), r
        if r["kind"] == "level_shift":
            assert (e - s).days == 6, r


def test_small_agent_spikes_hit_the_smallest_agents():
    agents = build_agents(35, 2718)
    plan = plan_validation(agents, 120, START, 2718)
    weights = sorted(a.weight for a in plan.agents if a.weight > 0.1 * min(b.weight for b in agents))
    small = [a for a in plan.anomalies if a.kind == "small_agent_spike"]
    assert small
    for a in small:
        assert plan.agents[a.agent].weight <= weights[len(weights) // 4], a


def test_drift_ramps_before_its_label_and_is_material_inside(run):
    agents = build_agents(35, 2718)
    plan = plan_validation(agents, 120, START, 2718)
    drifts = [a for a in plan.anomalies if a.kind == "token_drift"]
    assert drifts
    for a in drifts:
        inside = plan.drift[a.agent, a.start_day : a.end_day + 1]
        assert (inside >= MATERIAL_DRIFT).all() and inside.max() == pytest.approx(a.factor)
        before = plan.drift[a.agent, a.start_day - 3 : a.start_day]
        assert (before > 1.0).all() and (before < MATERIAL_DRIFT).all()  # a slow ramp, not a step
        assert (plan.drift[a.agent, a.end_day + 1 :] == 1.0).all()


def test_retry_storms_fail_and_launches_and_tiny_agents_shape_the_traffic(run):
    _result, labels, con = run
    storm = next(r for r in labels if r["kind"] == "retry_storm")
    rate = con.execute(
        "select avg(case when error_type is not null then 1.0 else 0 end) from spans "
        "where agent_id = ? and request_model is not null and cast(started_at as date) between ? and ?",
        [storm["agent_id"], storm["start_date"], storm["end_date"]],
    ).fetchone()[0]
    assert 0.3 <= rate <= 0.7
    plan = plan_validation(build_agents(35, 2718), 120, START, 2718)
    launched = np.nonzero(plan.shape[:, 0] == 0.0)[0]
    assert len(launched) >= 1 and (plan.shape[launched, -1] == 1.0).all()
    tiny = [
        a.index
        for a, b in zip(plan.agents, build_agents(35, 2718))
        if a.weight == pytest.approx(b.weight * TINY_WEIGHT)
    ]
    assert tiny and all((plan.shape[i] == 0.0).any() for i in tiny)
    agent_id = plan.agents[launched[0]].agent_id
    first_day = int(np.argmax(plan.shape[launched[0]] > 0))
    first_call = con.execute(
        "select min(cast(started_at as date)) from spans where agent_id = ?", [agent_id]
    ).fetchone()[0]
    assert first_call >= START + timedelta(days=first_day)


def test_cli_preset_with_an_override(tmp_path, capsys):
    code = main(
        [
            "traces",
            "--preset",
            "validation-small",
            "--calls",
            "4000",
            "--days",
            "40",
            "--start",
            "2026-01-05",
            "--out",
            str(tmp_path / "landing"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "4000 LLM calls" in out and "2026-01-05..2026-02-13" in out
    with (tmp_path / "ground_truth" / "anomalies.csv").open() as fh:
        kinds = {r["kind"] for r in csv.DictReader(fh)}
    assert kinds <= KINDS and "level_shift" in kinds
