import dagster as dg

from orchestration.defs import signals, warehouse
from orchestration.resources import build_resources

EXPECTED_PARENTS = {
    "signals/cost_forecast": ["marts/rpt_signal_agent_daily", "signals/forecast_backtest"],
    "signals/forecast_backtest": ["marts/rpt_signal_agent_daily"],
    "signals/cost_anomalies": ["marts/rpt_signal_agent_daily", "marts/rpt_signal_agent_model_daily"],
    "signals/anomaly_detection_quality": ["signals/cost_anomalies"],
    "signals/budget_status": ["marts/rpt_signal_agent_daily", "signals/cost_forecast"],
    "signals/alerts": ["signals/budget_status", "signals/cost_anomalies"],
    "signals/recommendations": [
        "marts/rpt_signal_agent_peak_hours",
        "marts/rpt_signal_model_latency_recent",
        "marts/rpt_signal_usage_recent",
    ],
}


def test_signals_assets_hang_off_their_dbt_inputs():
    defs = dg.Definitions.merge(warehouse.defs, signals.defs, dg.Definitions(resources=build_resources()))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    got = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for assets_def in signals.defs.assets
        for key in assets_def.keys
    }
    assert got == EXPECTED_PARENTS
    groups = {k.to_user_string(): graph.get(k).group_name for a in signals.defs.assets for k in a.keys}
    assert groups["signals/cost_forecast"] == "forecast" and groups["signals/alerts"] == "signals"
    checks = sorted(c.name for c in signals.defs.asset_checks for c in c.check_specs)
    assert checks == ["anomaly_detection_meets_target", "budgets_are_valid", "forecast_intervals_meet_coverage"]
