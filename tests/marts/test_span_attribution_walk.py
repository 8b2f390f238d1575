"""int_span_attribution against a plain walk up the parent links, on random span trees.

Real and broken instrumentation alike: spans that name their own agent or
conversation or not, blank values, agents known only by name, parents in
another trace or missing, cycles, deep chains. The model's rows must equal
what following each span's parent link one level at a time gives, for the
default inherited fields and for all three.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pytest

from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS, raw_table_ddl
from orchestration.dbt_invocation import run_dbt

pytestmark = pytest.mark.slow

FIELDS = ("conversation_id", "department", "user_id")
MAX_DEPTH = 6  # small, so that cycles and long chains reach it


def random_spans(seed: int, traces: int = 250) -> list[dict]:
    rng = random.Random(seed)

    def value(prefix: str) -> str | None:
        return rng.choice([None, None, "", "  ", f"{prefix}{rng.randint(0, 4)}"])

    spans = []
    for t in range(traces):
        ids = [f"s{t}-{i}" for i in range(rng.randint(1, 12))]
        for i, span_id in enumerate(ids):
            if i == 0:
                # a root, a parent never loaded, a cycle through the last span, another trace's span
                parent = rng.choice([None, None, None, "never-loaded", ids[-1], "s0-0"])
            else:
                # mostly an earlier span; sometimes the last, which may close a cycle or be the span itself
                parent = rng.choice(ids[:i] + ([ids[-1]] if rng.random() < 0.1 else []))
            spans.append(
                dict.fromkeys(TRACE_COLUMNS)
                | {
                    "span_id": span_id,
                    "trace_id": f"t{t}",
                    "parent_span_id": parent,
                    "started_at": dt.datetime(2026, 5, 1) + dt.timedelta(hours=rng.randint(0, 71)),
                    "workspace_id": "ws-1",
                    "status": "ok",
                    "agent_id": value("agent"),
                    "agent_name": rng.choice([None, "", " ", f"Agent {rng.randint(0, 4)}"]),
                    **{f: value(f) for f in FIELDS},
                }
            )
    return spans


def expected_rows(spans: list[dict], fields: tuple[str, ...]) -> set[tuple]:
    """Follow each span's parent link up, within its trace, taking each missing field from the nearest span with one."""

    def clean(text: str | None) -> str | None:
        return text.strip() or None if text is not None else None

    def agent(span: dict) -> str | None:
        return clean(span["agent_id"]) or clean(span["agent_name"])

    by_id = {s["span_id"]: s for s in spans}
    found: dict[str, dict] = {}
    for span in spans:
        missing = {f for f in fields if clean(span[f]) is None} | ({"agent"} if agent(span) is None else set())
        if span["parent_span_id"] is None or not missing:
            continue
        parent = by_id.get(span["parent_span_id"])
        if parent is None or parent["trace_id"] != span["trace_id"]:
            continue
        row = {"agent": None, "agent_name": None, "depth": None, **dict.fromkeys(fields)}
        depth = 1
        while True:
            if "agent" in missing and agent(parent) is not None:
                row.update(agent=agent(parent), agent_name=parent["agent_name"], depth=depth)
                missing.discard("agent")
            for f in set(fields) & missing:
                if clean(parent[f]) is not None:
                    row[f] = clean(parent[f])
                    missing.discard(f)
            grandparent = by_id.get(parent["parent_span_id"])
            if not missing or depth == MAX_DEPTH or grandparent is None or grandparent["trace_id"] != span["trace_id"]:
                break
            parent, depth = grandparent, depth + 1
        found[span["span_id"]] = row
    first_day: dict[str, dt.date] = {}
    for span_id in found:
        span = by_id[span_id]
        day = span["started_at"].date()
        first_day[span["trace_id"]] = min(day, first_day.get(span["trace_id"], day))
    return {
        (
            span_id,
            by_id[span_id]["trace_id"],
            by_id[span_id]["started_at"].date(),
            row["agent"],
            row["agent_name"],
            row["depth"],
            *(row.get(f) for f in FIELDS),
            first_day[by_id[span_id]["trace_id"]],
        )
        for span_id, row in found.items()
        if row["agent"] is not None or any(row.get(f) is not None for f in FIELDS)
    }


@pytest.mark.parametrize("fields", [("conversation_id",), FIELDS], ids=["default", "all-fields"])
def test_every_span_inherits_what_walking_up_its_parents_finds(tmp_path: Path, fields: tuple[str, ...]) -> None:
    spans = random_spans(seed=len(fields))
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw")
    con.execute(raw_table_ddl())
    con.executemany(
        f"insert into {RAW_SPANS_TABLE} ({', '.join(TRACE_COLUMNS)}, _source_file, _source_row, _source_format, "
        f"_loaded_at) values ({', '.join('?' for _ in TRACE_COLUMNS)}, 'random.jsonl', ?, 'jsonl', now())",
        [[s[c] for c in TRACE_COLUMNS] + [i + 1] for i, s in enumerate(spans)],
    )
    con.close()
    variables = f"{{inherit_from_ancestors: [{', '.join(fields)}], max_ancestor_depth: {MAX_DEPTH}}}"
    run_dbt(
        ["run", "--select", "stg_raw__trace_spans", "int_span_attribution", "--vars", variables],
        warehouse,
        tmp_path / "dbt",
    )

    con = duckdb.connect(str(warehouse), read_only=True)
    actual = con.execute(
        "select span_id, trace_id, span_date, inherited_agent_id, inherited_agent_name, agent_ancestor_depth, "
        "inherited_conversation_id, inherited_department, inherited_user_id, first_span_date "
        "from intermediate.int_span_attribution"
    ).fetchall()
    con.close()

    expected = expected_rows(spans, fields)
    assert len(actual) == len(set(actual)), "a span inherits twice"
    assert len(expected) > 200, "the random trees should give many inheriting spans"
    assert set(actual) == expected, (
        f"missing {sorted(expected - set(actual))[:3]}, unexpected {sorted(set(actual) - expected)[:3]}"
    )
