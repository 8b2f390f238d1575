import numpy as np
import pandas as pd

from orchestration.signals.anomalies import AnomalyConfig, detect_anomalies, grade, scope_day_panel, severity
from orchestration.signals.forecast import detect_level_shift
from orchestration.signals.quality import score_detection

from signals_series import agent_days, weekly_series


def _flags(result: pd.DataFrame, agent: str) -> list[int]:
    start = pd.Timestamp("2026-08-03")
    sel = result[(result["scope_type"] == "agent") & (result["scope_id"] == agent)]
    return sorted((pd.to_datetime(sel["date"]) - start).dt.days.tolist())


def test_quiet_series_has_no_anomalies():
    result = detect_anomalies(scope_day_panel(agent_days(n_agents=3, days=70)))
    assert result.empty


def test_each_incident_kind_is_found_with_its_driver():
    incidents = {
        0: ("volume", 30, 32),
        1: ("tokens", 40, 45),
        2: ("cache", 50, 55),
        3: ("model", 35, 41),
        4: ("retries", 44, 45),
    }
    result = detect_anomalies(scope_day_panel(agent_days(n_agents=5, days=70, incidents=incidents)))
    expected_driver = {
        "volume": "volume",
        "tokens": "tokens_per_call",
        "cache": "cache_hit_rate",
        "model": "model_mix",
        "retries": "error_retries",
    }
    for a, (kind, d0, d1) in incidents.items():
        days = _flags(result, f"agent-{a}")
        assert days == list(range(d0, d1 + 1)), (kind, days)
        drivers = set(result[(result["scope_id"] == f"agent-{a}")]["driver"])
        assert drivers == {expected_driver[kind]}, (kind, drivers)
    spike = result[(result["scope_id"] == "agent-0")].iloc[0]
    assert spike["actual_cost"] > 4 * spike["expected_cost"]
    assert np.isclose(spike["dollar_impact"], spike["actual_cost"] - spike["expected_cost"])


def test_unexplained_deviation_needs_to_be_large():
    incidents = {0: ("bump", 30, 32), 1: ("mixed", 40, 41)}
    result = detect_anomalies(scope_day_panel(agent_days(n_agents=2, days=60, incidents=incidents)))
    assert _flags(result, "agent-0") == []  # +56 %: real but no driver explains it, and not extreme
    assert _flags(result, "agent-1") == [40, 41]  # x3 with a huge z-score counts even unexplained


def test_long_incident_does_not_become_baseline():
    # Cleaning flagged days keeps a three-week incident flagged to its end.
    result = detect_anomalies(scope_day_panel(agent_days(n_agents=1, days=80, incidents={0: ("tokens", 40, 60)})))
    assert _flags(result, "agent-0") == list(range(40, 61))


def test_workspace_scope_is_scored_too():
    result = detect_anomalies(scope_day_panel(agent_days(n_agents=2, days=60, incidents={0: ("volume", 30, 31)})))
    ws = result[result["scope_type"] == "workspace"]
    assert ws["scope_id"].tolist() == ["ws-a", "ws-a"]


def test_weekend_dip_is_not_an_anomaly_but_a_missing_weekday_is():
    frame = agent_days(n_agents=1, days=56)
    monday = frame.index[frame["date"] == pd.Timestamp("2026-09-14")][0]
    frame.loc[
        monday, ["cost", "calls", "input_tokens", "output_tokens", "cache_read_tokens", "tokens", "mix_cost", "errors"]
    ] = 0.0
    result = detect_anomalies(scope_day_panel(frame))
    agent = result[result["scope_type"] == "agent"]
    assert agent["date"].astype(str).tolist() == ["2026-09-14"]
    assert agent["dollar_impact"].iloc[0] < 0 and agent["driver"].iloc[0] == "volume"


def test_severity_needs_both_size_and_dollars():
    cfg = AnomalyConfig(z_grades=(6, 10, 16), dollar_grades=(10, 50, 200))
    assert grade(np.array([5.9, 6.0, 12.0, 40.0]), cfg.z_grades).tolist() == [0, 1, 2, 3]
    sev = severity(np.array([40.0, 40.0, 7.0, 4.5]), np.array([500.0, 3.0, 500.0, -60.0]), cfg)
    assert sev.tolist() == ["critical", "low", "medium", "low"]


def test_level_shift_detector_fires_on_steps_not_on_growth():
    growth = weekly_series(days=84, growth_per_day=0.01, noise=0.05)["cost"]
    assert detect_level_shift(growth) is None
    step = weekly_series(days=84, growth_per_day=0.0, noise=0.05)["cost"]
    step.iloc[50:] *= 2
    assert detect_level_shift(step) == 50


def test_detection_scoring_counts_agent_days():
    labels = pd.DataFrame(
        {
            "anomaly_id": ["x", "y"],
            "kind": ["runaway_loop", "prompt_blowup"],
            "workspace_id": ["ws-a", "ws-b"],
            "agent_id": ["agent-0", "agent-1"],
            "start_date": ["2026-09-01", "2026-09-10"],
            "end_date": ["2026-09-03", "2026-09-10"],
            "expected_effect": ["", ""],
            "expected_cost_multiplier": [5, 3],
        }
    )
    detected = pd.DataFrame(
        {
            "scope_type": ["agent"] * 4 + ["workspace"],
            "scope_id": ["agent-0", "agent-0", "agent-2", "agent-1", "ws-a"],
            "date": pd.to_datetime(["2026-09-01", "2026-09-02", "2026-09-05", "2026-09-10", "2026-09-01"]).date,
        }
    )
    q = score_detection(detected, labels)
    q = q[q["kind"] == "all"].set_index("grain")
    row = q.loc["agent_day"]
    assert (row["true_positives"], row["false_positives"], row["false_negatives"]) == (3, 1, 1)
    assert row["precision"] == 0.75 and row["recall"] == 0.75 and row["f1"] == 0.75


def test_same_weekday_baseline_handles_history_shorter_than_its_weeks():
    from orchestration.signals.anomalies import _same_weekday_baseline

    values = np.arange(20, dtype=float).reshape(2, 10)  # 10 days: one week of look-back at most

    baseline = _same_weekday_baseline(values, weeks=4)

    assert np.isnan(baseline[:, :7]).all()
    assert (baseline[:, 7:] == values[:, :3]).all()


_SCALED = ["cost", "calls", "input_tokens", "output_tokens", "cache_read_tokens", "tokens", "mix_cost", "errors"]


def _day(frame: pd.DataFrame, agent: str, days: slice | int) -> pd.Series:
    offset = (frame["date"] - pd.Timestamp("2026-08-03")).dt.days
    sel = offset.isin(range(days.start, days.stop)) if isinstance(days, slice) else offset == days
    return (frame["agent_id"] == agent) & sel


def test_a_new_agents_first_weeks_are_its_baseline_not_alarms():
    frame = agent_days(n_agents=2, days=80)
    frame = frame[~_day(frame, "agent-1", slice(0, 40))].copy()  # launched on day 40 ...
    for k in range(7):  # ... and ramping up over its first week
        frame.loc[_day(frame, "agent-1", 40 + k), _SCALED] *= (k + 1) / 7
    result = detect_anomalies(scope_day_panel(frame))
    assert _flags(result, "agent-1") == []


def test_a_drop_to_zero_on_a_tiny_agent_is_not_an_alarm():
    frame = agent_days(n_agents=2, days=60)
    frame.loc[frame["agent_id"] == "agent-1", _SCALED] *= 0.03  # about 12 cents a day
    for agent in ("agent-0", "agent-1"):
        frame.loc[_day(frame, agent, 44), _SCALED] = 0.0  # a Wednesday without calls
    result = detect_anomalies(scope_day_panel(frame))
    assert _flags(result, "agent-0") == [44]
    assert _flags(result, "agent-1") == []
    assert AnomalyConfig().min_dollar_impact > 0.12


def test_a_drift_building_over_days_is_not_absorbed_by_the_baseline():
    frame = agent_days(n_agents=1, days=80)
    steps = 3.5 ** (np.arange(1, 13) / 12)  # tokens per call x3.5 over 12 days, held 4 more
    for k, m in enumerate(np.concatenate([steps, np.full(4, 3.5)])):
        sel = _day(frame, "agent-0", 40 + k)
        for col in ("input_tokens", "cache_read_tokens", "tokens", "mix_cost", "cost"):
            frame.loc[sel, col] *= m
    result = detect_anomalies(scope_day_panel(frame))
    flagged = _flags(result, "agent-0")
    material = [40 + k for k in range(16) if (steps[k] if k < 12 else 3.5) >= 2.0]
    assert all(d >= 40 for d in flagged)
    assert len(set(flagged) & set(material)) >= 0.8 * len(material), flagged
    rows = result[(result["scope_id"] == "agent-0")]
    assert "drift" in set(rows["rule"]) and set(rows["driver"]) == {"tokens_per_call"}
    assert set(rows["driver_source"]) == {"input tokens"}


def test_a_spike_on_an_agent_too_small_to_move_its_workspace_marks_the_workspace():
    frame = agent_days(n_agents=4, days=60)
    frame.loc[frame["agent_id"] == "agent-2", _SCALED] *= 0.02  # ws-a: agent-0 and the small agent-2
    frame.loc[_day(frame, "agent-2", slice(40, 42)), _SCALED] *= 6
    result = detect_anomalies(scope_day_panel(frame))
    assert _flags(result, "agent-2") == [40, 41]
    ws = result[result["scope_type"] == "workspace"]
    assert ws["scope_id"].tolist() == ["ws-a", "ws-a"]
    assert set(ws["driver_source"]) == {"agent agent-2"} and set(ws["rule"]) == {"agent"}
    assert (ws["actual_cost"] < ws["expected_high"]).all()  # the workspace's own total stayed in its band
