"""The canonical Parquet output: determinism, contract, OTel semantics, structure, errors, layout."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from generators import traces as traces_module
from generators.config import GeneratorConfig
from generators.traces import generate_traces
from orchestration.contract import MODEL_OPERATIONS, REQUIRED_COLUMNS, duckdb_columns

from generator_testdata import SMALL, generate, read_parquet


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(root))
        result = generate(root)
    con = read_parquet(result)
    yield result, con
    con.close()


def _digest(paths) -> dict[str, str]:
    return {
        p.name if p.suffix == ".csv" else str(p.relative_to(p.parents[2])): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in paths
    }


def test_same_arguments_give_byte_identical_files(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path))
    config = GeneratorConfig(calls=6_000, days=30, start=date(2026, 1, 5), seed=3, agents=5)
    a = generate_traces(config, tmp_path / "a" / "landing", progress=False)
    b = generate_traces(config, tmp_path / "b" / "landing", progress=False, writer_threads=1)
    assert len(a.files) == 30
    assert _digest(a.files) == _digest(b.files)
    assert a.labels_path.read_bytes() == b.labels_path.read_bytes()
    assert a.outages_path.read_bytes() == b.outages_path.read_bytes()
    c = generate_traces(
        GeneratorConfig(calls=6_000, days=30, start=date(2026, 1, 5), seed=4, agents=5),
        tmp_path / "c" / "landing",
        progress=False,
    )
    assert _digest(a.files) != _digest(c.files)


def test_files_are_partitioned_by_day_and_labels_sit_outside_the_landing_tree(dataset):
    result, _ = dataset
    landing = result.files[0].parents[2]
    expected = [
        landing / "parquet" / f"date={SMALL.start + timedelta(days=d):%Y-%m-%d}" / "part-00000.parquet"
        for d in range(30)
    ]
    assert list(result.files) == expected
    assert all(p.exists() for p in expected)
    assert result.labels_path == landing.parent / "ground_truth" / "anomalies.csv"
    assert landing not in result.labels_path.parents
    assert (result.start_date, result.end_date) == (date(2026, 3, 2), date(2026, 3, 31))


def test_columns_and_types_are_exactly_the_contract(dataset):
    _, con = dataset
    described = con.execute("describe spans").fetchall()
    assert [(r[0], r[1]) for r in described] == list(duckdb_columns().items())


def test_required_columns_are_never_null_and_span_ids_unique(dataset):
    result, con = dataset
    nulls = con.execute(
        "select " + ", ".join(f"count(*) - count({c})" for c in REQUIRED_COLUMNS) + " from spans"
    ).fetchone()
    assert dict(zip(REQUIRED_COLUMNS, nulls)) == dict.fromkeys(REQUIRED_COLUMNS, 0)
    total, distinct = con.execute("select count(*), count(distinct span_id) from spans").fetchone()
    assert total == distinct == result.spans
    assert (
        con.execute(f"select count(*) from spans where operation in {MODEL_OPERATIONS}").fetchone()[0]
        == SMALL.calls
        == result.llm_calls
    )


def test_token_counts_follow_otel_semantics(dataset):
    _, con = dataset
    broken = con.execute(
        """
        select count(*) filter (where cache_read_tokens + cache_write_tokens > input_tokens),
               count(*) filter (where reasoning_tokens > output_tokens),
               count(*) filter (where least(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens) < 0)
        from spans where input_tokens is not null
        """
    ).fetchone()
    assert broken == (0, 0, 0)
    # Model spans carry usage, provider and model; agent and tool spans carry none of them.
    model_ops = f"operation in {MODEL_OPERATIONS}"
    wrong = con.execute(
        f"""
        select count(*) filter (where {model_ops} and (input_tokens is null or output_tokens is null or provider is null or request_model is null)),
               count(*) filter (where not ({model_ops}) and (input_tokens is not null or provider is not null or request_model is not null)),
               count(*) filter (where operation = 'execute_tool' and tool_name is null)
        from spans
        """
    ).fetchone()
    assert wrong == (0, 0, 0)
    # The interesting cases exist: cache reads and writes, reasoning, long context, batch tier, unpriced models.
    seen = con.execute(
        """
        select count(*) filter (where cache_read_tokens > 0), count(*) filter (where cache_write_tokens > 0),
               count(*) filter (where reasoning_tokens > 0), count(*) filter (where input_tokens > 200000),
               count(*) filter (where service_tier = 'batch'), count(*) filter (where provider = 'vllm'),
               count(*) filter (where response_model <> request_model)
        from spans
        """
    ).fetchone()
    assert all(n > 0 for n in seen), seen


def test_every_trace_is_one_invoke_agent_root_with_children_inside_it(dataset):
    _, con = dataset
    roots = con.execute(
        "select count(*), count(distinct trace_id), count(*) filter (where operation <> 'invoke_agent') from spans where parent_span_id is null"
    ).fetchone()
    traces = con.execute("select count(distinct trace_id) from spans").fetchone()[0]
    assert roots == (traces, traces, 0)
    orphans = con.execute(
        """
        select count(*) from spans c left join spans r on c.parent_span_id = r.span_id and r.parent_span_id is null
        where c.parent_span_id is not null and (r.span_id is null or r.trace_id <> c.trace_id)
        """
    ).fetchone()[0]
    assert orphans == 0
    outside = con.execute(
        """
        select count(*) from spans c join spans r on c.parent_span_id = r.span_id
        where c.started_at < r.started_at
           or c.started_at + to_microseconds(cast(c.duration_ms * 1000 as bigint)) > r.started_at + to_microseconds(cast(r.duration_ms * 1000 as bigint))
        """
    ).fetchone()[0]
    assert outside == 0
    calls_per_trace = con.execute(
        "select avg(n) from (select count(*) n from spans where operation in ('chat', 'generate_content', 'embeddings') group by trace_id)"
    ).fetchone()[0]
    assert calls_per_trace > 1.5


def _outage_windows(result) -> list[tuple[str, datetime, datetime]]:
    with result.outages_path.open() as fh:
        return [
            (
                r["provider"],
                datetime.fromisoformat(r["start_at"].rstrip("Z")),
                datetime.fromisoformat(r["end_at"].rstrip("Z")),
            )
            for r in csv.DictReader(fh)
        ]


def _error_share_outside_outages(con, windows) -> float:
    exclude = (
        " or ".join(
            f"(provider = '{p}' and started_at between '{s}'::timestamp - interval 10 minute and '{e}'::timestamp + interval 10 minute)"
            for p, s, e in windows
        )
        or "false"
    )
    return con.execute(
        f"select avg((status = 'error')::int) from spans where operation in {MODEL_OPERATIONS} and not ({exclude})"
    ).fetchone()[0]


def test_error_rate_is_near_the_setting_and_outages_add_bursts(dataset, tmp_path):
    result, con = dataset
    windows = _outage_windows(result)
    assert windows, "expected at least one provider outage"
    assert _error_share_outside_outages(con, windows) == pytest.approx(0.05, abs=0.012)
    in_outage = con.execute(
        "select avg((status = 'error')::int) from spans where provider = ? and started_at between ? and ?",
        [windows[0][0], windows[0][1], windows[0][2]],
    ).fetchone()[0]
    assert in_outage is None or in_outage > 0.4
    errors_without_type = con.execute(
        "select count(*) from spans where status = 'error' and error_type is null"
    ).fetchone()[0]
    assert errors_without_type == 0
    assert con.execute("select count(*) from spans where status = 'ok' and error_type is not null").fetchone()[0] == 0

    high = generate_traces(
        GeneratorConfig(calls=8_000, days=30, start=date(2026, 3, 2), seed=11, agents=6, error_rate=0.2),
        tmp_path / "landing",
        progress=False,
    )
    con2 = read_parquet(high)
    assert _error_share_outside_outages(con2, _outage_windows(high)) == pytest.approx(0.2, abs=0.03)
    con2.close()


def test_large_days_are_split_into_parts_without_losing_calls(tmp_path, monkeypatch):
    monkeypatch.setattr(traces_module, "MAX_CALLS_PER_PART", 1_500)
    result = generate_traces(
        GeneratorConfig(calls=10_000, days=2, start=date(2026, 1, 5), seed=1, agents=5),
        tmp_path / "landing",
        progress=False,
    )
    by_day: dict[str, list[str]] = {}
    for p in result.files:
        by_day.setdefault(p.parent.name, []).append(p.name)
    assert sorted(by_day) == ["date=2026-01-05", "date=2026-01-06"]
    for names in by_day.values():
        assert len(names) >= 2
        assert sorted(names) == [f"part-{i:05d}.parquet" for i in range(len(names))]
    con = read_parquet(result)
    per_file = con.execute(
        "select max(n) from (select count(*) n from read_parquet(["
        + ", ".join(f"'{f}'" for f in result.files)
        + "], filename = true) where input_tokens is not null group by filename)"
    ).fetchone()[0]
    assert per_file <= 1_500
    assert con.execute("select count(*) from spans where input_tokens is not null").fetchone()[0] == 10_000
    assert con.execute("select count(*), count(distinct span_id) from spans").fetchone() == (result.spans, result.spans)
    con.close()


def test_rerun_removes_stale_day_files(tmp_path):
    landing = tmp_path / "landing"
    generate_traces(
        GeneratorConfig(calls=2_000, days=5, start=date(2026, 1, 1), seed=1, agents=5), landing, progress=False
    )
    generate_traces(
        GeneratorConfig(calls=2_000, days=3, start=date(2026, 1, 1), seed=1, agents=5), landing, progress=False
    )
    assert sorted(p.name for p in (landing / "parquet").iterdir()) == [
        "date=2026-01-01",
        "date=2026-01-02",
        "date=2026-01-03",
    ]


def test_invalid_configuration_is_rejected_with_the_field_named():
    with pytest.raises(ValueError, match="calls=0"):
        GeneratorConfig(calls=0)
    with pytest.raises(ValueError, match=r"error_rate=0\.9"):
        GeneratorConfig(error_rate=0.9)
    with pytest.raises(ValueError, match="format 'xml'"):
        generate_traces(GeneratorConfig(calls=10, days=1), "unused", fmt="xml")


def test_default_start_ends_the_run_yesterday():

    config = GeneratorConfig(days=90)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert config.end_date == yesterday
    assert (config.end_date - config.start_date).days == 89
    assert np.isfinite(config.error_rate)
