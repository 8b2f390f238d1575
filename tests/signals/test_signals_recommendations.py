import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.settings import DBT_PROJECT_DIR
from orchestration.signals.recommendations import model_family, read_usage, recommendations_from_warehouse

# The recommendations read dbt models built from the call fact.
SIGNAL_INPUTS = ("rpt_signal_usage_recent", "rpt_signal_model_latency_recent", "rpt_signal_agent_peak_hours")


def _build_signal_inputs(warehouse: Path, work: Path) -> None:
    """Run the real dbt models of the recommendations' evidence over the call fact in `warehouse`."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(work),
        "AGENTLEDGER_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [
            str(dbt),
            "run",
            "--select",
            *SIGNAL_INPUTS,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"dbt run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"


PRICES = {  # USD per token: input, cache read, output
    "gpt-4o": (2.5e-6, 1.25e-6, 10e-6),
    "gpt-4o-mini": (0.15e-6, 0.075e-6, 0.6e-6),
    "claude-sonnet-4-5": (3e-6, 0.3e-6, 15e-6),
}


def _calls(
    agent,
    model,
    provider,
    n_per_day,
    input_tokens,
    output_tokens,
    days=20,
    cache_read=0,
    error_rate=0.0,
    duration_ms=2000.0,
    streamed=True,
    hour=None,
    seed=0,
):
    rng = np.random.default_rng(seed)
    n = n_per_day * days
    day = np.repeat(np.arange(days), n_per_day)
    hours = np.full(n, hour) if hour is not None else rng.integers(0, 24, n)
    started = pd.Timestamp("2026-10-01") + pd.to_timedelta(day, unit="D") + pd.to_timedelta(hours, unit="h")
    p_in, p_cr, p_out = PRICES[model]
    uncached = input_tokens - cache_read
    return pd.DataFrame(
        {
            "span_id": [f"{agent}-{i}" for i in range(n)],
            "started_at": started,
            "call_date": started.normalize().date,
            "agent_id": agent,
            "workspace_id": "ws",
            "provider": provider,
            "catalog_model_id": model,
            "response_model": model,
            "request_model": model,
            "operation": "chat",
            "service_tier": None,
            "is_priced": True,
            "is_error": rng.random(n) < error_rate,
            "duration_ms": duration_ms,
            "time_to_first_token_ms": 300.0 if streamed else np.nan,
            "input_tokens": input_tokens,
            "uncached_input_tokens": uncached,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": 0,
            "output_tokens": output_tokens,
            "uncached_input_cost_usd": uncached * p_in,
            "cache_read_cost_usd": cache_read * p_cr,
            "cache_write_cost_usd": 0.0,
            "output_cost_usd": output_tokens * p_out,
            "reasoning_cost_usd": 0.0,
            "total_cost_usd": uncached * p_in + cache_read * p_cr + output_tokens * p_out,
        }
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("recommendations")
    frames = [
        _calls("switcher", "gpt-4o", "openai", 100, 1000, 300, error_rate=0.02, seed=1),
        _calls("mini-user", "gpt-4o-mini", "openai", 100, 1000, 300, error_rate=0.01, duration_ms=1500, seed=2),
        _calls("no-cache", "claude-sonnet-4-5", "anthropic", 50, 20_000, 200, seed=3),
        _calls("cached", "claude-sonnet-4-5", "anthropic", 50, 20_000, 200, cache_read=16_000, seed=4),
        _calls(
            "nightly", "gpt-4o-mini", "openai", 200, 20_000, 400, duration_ms=30_000, streamed=False, hour=3, seed=5
        ),
        _calls("verbose", "claude-sonnet-4-5", "anthropic", 30, 500, 4000, cache_read=0, seed=6),
        _calls("flaky", "claude-sonnet-4-5", "anthropic", 200, 5000, 300, error_rate=0.3, seed=7),
    ]
    df = pd.concat(frames, ignore_index=True)
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.register("df", df)
    con.execute("""create table marts.fct_llm_calls as select * exclude (call_date, total_cost_usd),
                   call_date::date as call_date, total_cost_usd::decimal(38, 12) as total_cost_usd from df""")
    con.close()
    _build_signal_inputs(path, tmp_path)
    con = duckdb.connect(str(path))
    yield con
    con.close()


def test_model_family():
    assert [model_family(m) for m in ("gpt-4o-mini", "claude-3-5-haiku", "gemini-2.5-pro", "o3-mini")] == [
        "gpt",
        "claude",
        "gemini",
        "o",
    ]


def test_rules_fire_on_the_agents_built_for_them(warehouse):
    recs = recommendations_from_warehouse(warehouse)
    by = {(r.kind, r.scope_id): r for r in recs.itertuples()}
    assert ("model_switch", "switcher") in by
    sw = by[("model_switch", "switcher")]
    assert "gpt-4o-mini" in sw.title
    # 20 days of 100 calls x (1000 x 2.5e-6 + 300 x 10e-6) = $11.0; on mini $0.66; scaled to 30 days.
    assert sw.estimated_monthly_saving_usd == pytest.approx((11.0 - 0.66) * 1.5, rel=1e-6)
    assert ("prompt_caching", "no-cache") in by and ("prompt_caching", "cached") not in by
    pc = by[("prompt_caching", "no-cache")]
    # half of the uncached input moves to the realised cache-read rate (0.1 x input)
    uncached_cost = 50 * 20 * 20_000 * 3e-6
    assert pc.estimated_monthly_saving_usd == pytest.approx(uncached_cost * 0.5 * 0.9 * 1.5, rel=1e-6)
    assert ("batch_tier", "nightly") in by and by[("batch_tier", "nightly")].confidence == "high"
    assert ("trim_output", "verbose") in by
    assert ("error_waste", "flaky") in by
    assert ("model_switch", "mini-user") not in by  # nothing cheaper in its family
    ev = json.loads(by[("error_waste", "flaky")].evidence)
    assert 0.2 < ev["errors"] / ev["calls"] < 0.4


def test_ranked_by_saving_with_stable_ids(warehouse):
    recs = recommendations_from_warehouse(warehouse)
    assert recs["rank"].tolist() == list(range(1, len(recs) + 1))
    assert recs["estimated_monthly_saving_usd"].is_monotonic_decreasing
    again = recommendations_from_warehouse(warehouse)
    assert again["recommendation_id"].tolist() == recs["recommendation_id"].tolist()


def test_a_window_other_than_the_models_is_refused(warehouse):
    with pytest.raises(ValueError, match="recommendation_window_days"):
        read_usage(warehouse, 14)


def test_each_kind_has_an_evidence_query_that_runs_against_the_call_fact():
    """The query a recommendation offers as its evidence is valid SQL over marts.fct_llm_calls."""
    import duckdb

    from orchestration.signals.recommendations import _EVIDENCE_MEASURES, evidence_query

    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_llm_calls as select * from (values "
        "(date '2026-11-01', 3, 'openai', 'gpt-4o', null, null, 'o''brien-bot', 0.5::double, 900, 20, 10, 1200.0, "
        "400.0, 0.1::double, 0.2::double, 0.01::double, 0.0::double, false), "
        "(date '2026-11-02', 4, 'openai', 'gpt-4o', null, null, 'o''brien-bot', 0.7::double, 1000, 0, 0, 900.0, "
        "null, 0.2::double, 0.3::double, 0.0::double, 0.0::double, true)) "
        "t(call_date, call_hour, provider, catalog_model_id, response_model, request_model, agent_id, total_cost_usd, "
        "input_tokens, cache_read_tokens, cache_write_tokens, duration_ms, time_to_first_token_ms, "
        "uncached_input_cost_usd, output_cost_usd, reasoning_cost_usd, output_tokens, is_error)"
    )
    for kind in _EVIDENCE_MEASURES:
        rows = con.execute(
            evidence_query(kind, "o'brien-bot", "gpt-4o" if kind == "model_switch" else None, 30)
        ).fetchall()
        assert [r[0].isoformat() for r in rows] == ["2026-11-01", "2026-11-02"], kind
        assert all(r[3] == 1 for r in rows), kind
