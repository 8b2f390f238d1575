"""Calls take the agent of their nearest ancestor span, also when that span arrives later, on another day.

Real instrumentations put gen_ai.agent.id on the invoke_agent span and not on
the chat spans below it. Here the chat spans of a trace that crosses
midnight are loaded and built first; the agent span (the evening before)
arrives later and is loaded by its own day's run, as the landing sensor would
run it. The calls of the next day must then carry the agent in the fact and
in every aggregate, exactly as a full rebuild would have them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS, raw_table_ddl
from orchestration.dbt_invocation import run_dbt

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 10, 20)
NEXT = DAY + dt.timedelta(days=1)
COMPARED = (
    "intermediate.int_span_attribution",
    "marts.fct_llm_calls",
    "marts.fct_traces",
    "intermediate.int_trace_agents",
    "intermediate.int_span_activity_daily",
    "marts.fct_agent_daily",
    "marts.fct_cost_daily",
    "marts.fct_usage_sources_daily",
    "marts.rpt_cost_daily",
    "marts.rpt_agent_daily",
    "marts.rpt_usage_sources",
    "marts.dim_agents",
    "marts.rpt_agent_overview",
)


def span(span_id, trace_id, parent, started_at, operation=None, agent=None, conversation=None, **usage) -> dict:
    row = dict.fromkeys(TRACE_COLUMNS)
    row.update(
        span_id=span_id,
        trace_id=trace_id,
        parent_span_id=parent,
        started_at=started_at,
        duration_ms=500.0,
        operation=operation,
        workspace_id="ws-1",
        status="ok",
        agent_id=agent,
        agent_name=agent.title() if agent else None,
        conversation_id=conversation,
    )
    if operation in ("chat", "embeddings"):
        row.update(
            provider="openai",
            request_model="gpt-4o-mini",
            input_tokens=1000,
            output_tokens=100 if operation == "chat" else 0,
        )
    row.update(usage)
    return row


# trace t1 crosses midnight: its agent span (late, day DAY) above a step span, above chat calls on NEXT
AGENT_SPAN = span("a1", "t1", "root1", f"{DAY} 23:59:50", "invoke_agent", agent="planner", conversation="conv-9")
FIRST_LOAD = [
    span("root1", "t1", None, f"{DAY} 23:59:49"),
    span("step1", "t1", "a1", f"{NEXT} 00:00:05"),
    span("c1", "t1", "step1", f"{NEXT} 00:00:10", "chat"),
    span("c2", "t1", "step1", f"{NEXT} 00:00:20", "embeddings"),
    span("c3", "t1", "a1", f"{NEXT} 00:00:30", "chat", agent="writer"),  # its own agent wins
    # a failed call: no usage, still a call of the agent
    span(
        "c5",
        "t1",
        "step1",
        f"{NEXT} 00:00:40",
        "chat",
        status="error",
        error_type="RateLimitError",
        input_tokens=None,
        output_tokens=None,
    ),
    # trace t2 has no agent anywhere
    span("c4", "t2", None, f"{NEXT} 10:00:00", "chat"),
]


def load(warehouse: Path, rows: list[dict]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        con.execute(raw_table_ddl())
        cols = ", ".join(TRACE_COLUMNS)
        for i, row in enumerate(rows):
            con.execute(
                f"insert into {RAW_SPANS_TABLE} ({cols}, _source_file, _source_row, _source_format, _loaded_at) "
                f"values ({', '.join('?' for _ in TRACE_COLUMNS)}, 'test.jsonl', ?, 'jsonl', now())",
                [row[c] for c in TRACE_COLUMNS] + [i + 1],
            )
    finally:
        con.close()


def dbt(args: list[str], warehouse: Path, work: Path, window: tuple[str, str] | None = None) -> None:
    run_dbt([*args, "--exclude-resource-type", "unit_test"], warehouse, work, window=window)


def calls(warehouse: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "select span_id, agent_id, agent_name, agent_attribution, conversation_id from marts.fct_llm_calls"
            ).fetchall()
        }
    finally:
        con.close()


def test_an_ancestor_arriving_later_on_the_day_before_reattributes_its_calls(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    load(warehouse, FIRST_LOAD)
    dbt(["build"], warehouse, tmp_path)
    before = calls(warehouse)
    assert before["c1"] == (None, None, "none", None)
    assert before["c3"] == ("writer", "Writer", "span", None)

    # the agent span arrives; the sensor runs its day alone
    load(warehouse, [AGENT_SPAN])
    dbt(["build", "--select", "fqn:*", "--exclude", "resource_type:seed"], warehouse, tmp_path, (str(DAY), str(DAY)))
    after = calls(warehouse)
    assert after["c1"] == ("planner", "Planner", "ancestor", "conv-9")
    assert after["c2"] == ("planner", "Planner", "ancestor", "conv-9")
    assert after["c3"] == ("writer", "Writer", "span", "conv-9")
    assert after["c4"] == (None, None, "none", None)
    assert after["c5"] == ("planner", "Planner", "ancestor", "conv-9")
    con = duckdb.connect(str(warehouse))
    try:
        by_agent = dict(
            con.execute(
                f"select agent_id, sum(calls) from marts.fct_agent_daily where call_date = '{NEXT}' group by all"
            ).fetchall()
        )
        assert by_agent == {"planner": 3, "writer": 1, "unassigned": 1}
        sources = con.execute(
            "select sum(calls_with_own_agent), sum(calls_with_inherited_agent), sum(calls_without_agent) from marts.rpt_usage_sources"
        ).fetchone()
        assert sources == (1, 3, 1)
        for model in COMPARED:
            con.execute(f"create table main.{model.replace('.', '__')}_incremental as select * from {model}")
    finally:
        con.close()

    dbt(["build", "--full-refresh", "--exclude", "resource_type:seed"], warehouse, tmp_path)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        differences = {
            model: con.execute(
                f"""select (select count(*) from (select * from main.{model.replace(".", "__")}_incremental
                                                  except all select * from {model})),
                           (select count(*) from (select * from {model}
                                                  except all select * from main.{model.replace(".", "__")}_incremental))"""
            ).fetchone()
            for model in COMPARED
        }
    finally:
        con.close()
    assert differences == dict.fromkeys(COMPARED, (0, 0))
    assert json.dumps(calls(warehouse), sort_keys=True) == json.dumps(after, sort_keys=True)
