"""The anomaly detector scored on data it was never tuned on, through the real pipeline.

generator preset `validation-small` (35 agents, 120 days, the validation
incident mix, its own seed) -> landing -> ingestion -> dbt seed + run
(the session's `validation_warehouse`, conftest.py) -> signals.cost_anomalies -> scored against the
generator's labels. The detector runs with its frozen defaults
(`AnomalyConfig()`); nothing here tunes it. Every false alarm is printed with
its explanation (expected value and band, rule, driver, what moved).
"""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.signals import pipeline
from orchestration.signals.io import connect, read_table
from orchestration.signals.quality import expand_labels, read_labels

pytestmark = pytest.mark.slow

KINDS = {
    "runaway_loop",
    "level_shift",
    "token_drift",
    "model_switch",
    "retry_storm",
    "weekend_spike",
    "small_agent_spike",
}


@pytest.fixture(scope="module")
def validation_run(validation_warehouse):
    """The detector's tables on the session's validation warehouse (conftest.py)."""
    with connect(validation_warehouse.warehouse) as con:
        pipeline.refresh_anomalies(con)
        quality = pipeline.refresh_detection_quality(con, validation_warehouse.labels)
        anomalies = read_table(con, "cost_anomalies")
        scores = read_table(con, "anomaly_detection_quality")
    return quality, anomalies, scores, read_labels(validation_warehouse.labels)


def _false_alarms(anomalies: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    truth = expand_labels(labels)
    labelled = set(zip(truth["agent_id"], truth["date"]))
    agent = anomalies[anomalies["scope_type"] == "agent"]
    days = pd.to_datetime(agent["date"]).dt.date
    return agent[[(a, d) not in labelled for a, d in zip(agent["scope_id"], days)]]


def test_validation_targets_are_met(validation_run):
    _, anomalies, scores, labels = validation_run
    scores = scores.set_index(["grain", "kind"])
    agent, ws = scores.loc[("agent_day", "all")], scores.loc[("workspace_day", "all")]
    false_alarms = _false_alarms(anomalies, labels)
    print(
        f"\nagent-day precision {agent['precision']:.3f} recall {agent['recall']:.3f} f1 {agent['f1']:.3f}; "
        f"workspace-day f1 {ws['f1']:.3f}"
    )
    print(scores.xs("agent_day", level="grain")[["labelled", "true_positives", "recall"]].to_string())
    print(f"false alarms ({len(false_alarms)}):")
    for row in false_alarms.itertuples():
        print(
            f"  {row.scope_id} {str(row.date)[:10]}: actual {row.actual_cost:.2f} USD, expected {row.expected_cost:.2f} "
            f"[{row.expected_low:.2f}, {row.expected_high:.2f}], impact {row.dollar_impact:+.2f} USD, "
            f"z {row.z_score:.1f}, rule {row.rule}, driver {row.driver} ({row.driver_source}): {row.driver_detail}"
        )
    assert agent["labelled"] > 60
    assert agent["precision"] >= 0.85 and agent["f1"] >= 0.8, agent.to_dict()
    assert ws["f1"] >= 0.8, ws.to_dict()
    assert set(scores.xs("agent_day", level="grain").index) == KINDS | {"all"}


def test_every_anomaly_says_why_it_fired(validation_run):
    _, anomalies, _, _ = validation_run
    assert len(anomalies) > 0
    assert (anomalies["expected_low"] <= anomalies["expected_cost"]).all()
    assert (anomalies["expected_cost"] <= anomalies["expected_high"]).all()
    # A day fires outside its band, on the side of the deviation; a workspace-day
    # carried by one of its agents ("agent") may sit inside the workspace's band.
    own = anomalies[anomalies["rule"] != "agent"]
    rises, drops = own[own["dollar_impact"] > 0], own[own["dollar_impact"] < 0]
    assert len(rises) and (rises["actual_cost"] > rises["expected_high"]).all()
    assert (drops["actual_cost"] < drops["expected_low"]).all()
    assert set(anomalies["rule"]) <= {"deviation", "drift", "agent"}
    assert anomalies["driver"].notna().all() and anomalies["driver_detail"].str.contains("vs baseline").all()
    ws = anomalies[anomalies["scope_type"] == "workspace"]
    assert ws["driver_source"].str.startswith("agent agt_").mean() > 0.8
    agent = anomalies[anomalies["scope_type"] == "agent"]
    models = agent[agent["driver"] == "model_mix"]
    assert len(models) and models["driver_source"].str.startswith("model ").all()
    tokens = agent[agent["driver"] == "tokens_per_call"]
    assert len(tokens) and tokens["driver_source"].isin(["input tokens", "output tokens"]).all()
    assert (agent.loc[agent["driver"] == "volume", "driver_source"] == "calls").all()


def test_drifts_and_small_agents_are_caught(validation_run):
    _, _, scores, _ = validation_run
    recall = scores[scores["grain"] == "agent_day"].set_index("kind")["recall"]
    assert recall["token_drift"] >= 0.5 and recall["small_agent_spike"] >= 0.8, recall.to_dict()
