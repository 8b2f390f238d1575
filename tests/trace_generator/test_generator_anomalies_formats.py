"""Ground-truth anomalies, the other file formats, the OTLP encoding, the price table and the CLI."""

from __future__ import annotations

import csv
import json
import statistics
from datetime import UTC, date, timedelta
from decimal import Decimal

import duckdb
import pytest

from generators.__main__ import main
from generators.catalog import MODELS
from generators.config import GeneratorConfig
from generators.plan import KINDS, warmup_days
from generators.pricing import PriceTable
from generators.traces import LABEL_COLUMNS, generate_traces
from orchestration.contract import duckdb_columns

from generator_testdata import SMALL, daily_agent_cost, generate, read_parquet


@pytest.fixture(scope="module")
def parquet_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("anom")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(root))
        result = generate(root)
    return result


def _labels(result) -> list[dict]:
    with result.labels_path.open() as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == LABEL_COLUMNS
        return list(reader)


def test_labels_cover_every_kind_after_the_warm_up(parquet_run):
    labels = _labels(parquet_run)
    assert {r["kind"] for r in labels} == set(KINDS)
    first_allowed = SMALL.start + timedelta(days=warmup_days(SMALL.days))
    for r in labels:
        start, end = date.fromisoformat(r["start_date"]), date.fromisoformat(r["end_date"])
        assert first_allowed <= start <= end <= SMALL.end_date, r
        assert float(r["expected_cost_multiplier"]) >= 2.0, r
        assert r["expected_effect"]


def test_a_90_day_run_has_several_anomalies_of_each_kind(tmp_path):
    result = generate_traces(
        GeneratorConfig(calls=3_000, days=90, start=date(2026, 1, 1), seed=5), tmp_path / "landing", progress=False
    )
    labels = _labels(result)
    counts = {k: sum(r["kind"] == k for r in labels) for k in KINDS}
    assert all(n >= 2 for n in counts.values()), counts
    assert min(date.fromisoformat(r["start_date"]) for r in labels) >= date(2026, 1, 22)
    # Never two anomalies on one agent-day.
    taken = set()
    for r in labels:
        d, end = date.fromisoformat(r["start_date"]), date.fromisoformat(r["end_date"])
        while d <= end:
            assert (r["agent_id"], d) not in taken
            taken.add((r["agent_id"], d))
            d += timedelta(days=1)


def test_labelled_agent_days_cost_clearly_more_than_the_agents_usual_day(parquet_run):
    con = read_parquet(parquet_run)
    cost = daily_agent_cost(con)
    con.close()
    for r in _labels(parquet_run):
        start, end = date.fromisoformat(r["start_date"]), date.fromisoformat(r["end_date"])
        labelled = {(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)}
        for day in labelled:
            # The agent's own unlabelled days of the same kind (weekday or weekend day) are its baseline.
            weekend = date.fromisoformat(day).weekday() >= 5
            usual = [
                c
                for (agent, d), c in cost.items()
                if agent == r["agent_id"] and d not in labelled and (date.fromisoformat(d).weekday() >= 5) == weekend
            ]
            median = statistics.median(usual)
            assert cost[(r["agent_id"], day)] > 2.0 * median, (
                r["anomaly_id"],
                r["kind"],
                day,
                cost[(r["agent_id"], day)],
                median,
            )


def test_model_switch_and_cache_regression_show_in_the_tokens(parquet_run):
    con = read_parquet(parquet_run)
    for r in _labels(parquet_run):
        inside = f"agent_id = '{r['agent_id']}' and cast(started_at as date) between '{r['start_date']}' and '{r['end_date']}'"
        if r["kind"] == "model_switch":
            target = r["expected_effect"].rsplit(" to ", 1)[1]
            models = con.execute(
                f"select distinct request_model from spans where {inside} and operation in ('chat', 'generate_content')"
            ).fetchall()
            assert models == [(target,)]
        if r["kind"] == "cache_regression":
            during, before = con.execute(
                f"""select sum(cache_read_tokens) filter (where {inside}) / sum(input_tokens) filter (where {inside}),
                           sum(cache_read_tokens) filter (where agent_id = '{r["agent_id"]}' and cast(started_at as date) < '{r["start_date"]}')
                         / sum(input_tokens) filter (where agent_id = '{r["agent_id"]}' and cast(started_at as date) < '{r["start_date"]}')
                    from spans"""
            ).fetchone()
            assert before > 0.6 and during < 0.05
    con.close()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_text_formats_hold_the_same_rows_as_parquet(parquet_run, tmp_path, fmt):
    result = generate(tmp_path, fmt=fmt)
    assert [p.parent.name for p in result.files] == [p.parent.name for p in parquet_run.files]
    assert all(p.name == f"part-00000.{fmt}" for p in result.files)
    files = ", ".join(f"'{f}'" for f in result.files)
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in duckdb_columns().items()) + "}"
    reader = "read_json" if fmt == "jsonl" else "read_csv"
    extra = ", format = 'newline_delimited'" if fmt == "jsonl" else ", header = true"
    con = read_parquet(parquet_run)
    con.execute(f"create view text_spans as select * from {reader}([{files}], columns = {columns}{extra})")
    summary = "select count(*), count(distinct span_id), sum(input_tokens), sum(reasoning_tokens), count(parent_span_id), sum(hash(span_id, tags, started_at))"
    assert con.execute(f"{summary} from text_spans").fetchone() == con.execute(f"{summary} from spans").fetchone()
    con.close()


OTLP_KEYS = {
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.agent.id",
    "gen_ai.agent.name",
    "gen_ai.conversation.id",
    "gen_ai.tool.name",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "error.type",
    "user.id",
    "openai.request.service_tier",
    "gen_ai.server.time_to_first_token",
    "agentledger.reported_cost_usd",
    "agentledger.tags",
}


def test_otlp_lines_are_export_requests_with_genai_attributes(parquet_run, tmp_path):
    result = generate(tmp_path, fmt="otlp")
    assert all(p.name == "part-00000.otlp.jsonl" for p in result.files)
    spans = []
    resource_keys = set()
    for path in result.files:
        for line in path.read_text().splitlines():
            request = json.loads(line)
            assert list(request) == ["resourceSpans"]
            for rs in request["resourceSpans"]:
                resource_keys |= {a["key"] for a in rs["resource"]["attributes"]}
                for ss in rs["scopeSpans"]:
                    spans.extend(ss["spans"])
    assert resource_keys == {
        "service.name",
        "service.namespace",
        "deployment.environment.name",
        "agentledger.department",
    }
    assert len(spans) == parquet_run.spans
    keys = {a["key"] for s in spans for a in s["attributes"]}
    assert keys <= OTLP_KEYS
    assert {
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.tool.name",
        "error.type",
    } <= keys
    chat = next(s for s in spans if s["name"].startswith("chat "))
    assert len(chat["traceId"]) == 32 and len(chat["spanId"]) == 16 and len(chat["parentSpanId"]) == 16
    assert chat["kind"] == 3 and chat["status"]["code"] in (1, 2)
    assert int(chat["endTimeUnixNano"]) >= int(chat["startTimeUnixNano"])
    attrs = {a["key"]: a["value"] for a in chat["attributes"]}
    assert (
        set(attrs["gen_ai.usage.input_tokens"]) == {"intValue"}
        and attrs["gen_ai.usage.input_tokens"]["intValue"].isdigit()
    )
    roots = [s for s in spans if "parentSpanId" not in s]
    assert roots and all(s["name"].startswith("invoke_agent ") for s in roots)
    input_total = sum(
        int(a["value"]["intValue"]) for s in spans for a in s["attributes"] if a["key"] == "gen_ai.usage.input_tokens"
    )
    con = read_parquet(parquet_run)
    assert input_total == con.execute("select sum(input_tokens) from spans").fetchone()[0]
    errors = sum(s["status"]["code"] == 2 for s in spans)
    assert errors == con.execute("select count(*) from spans where status = 'error'").fetchone()[0]
    con.close()


def test_price_table_matches_the_genai_prices_catalog():
    from datetime import datetime

    from genai_prices import Usage, calc_price

    table = PriceTable()
    import numpy as np

    for code, m in enumerate(MODELS):
        usages = [(12_000, 4_000, 1_000, 700), (300_000, 100_000, 20_000, 2_000)]
        for hour in (3, 12, 20):
            ts = datetime(2026, 6, 1, hour, 5, tzinfo=UTC)
            for inp, cr, cw, out in usages:
                if m.cache_style == "implicit":
                    cw = 0
                if m.cache_style == "none":
                    cr = cw = 0
                if inp > m.context_window:
                    continue
                mine = table.cost(
                    np.array([code]),
                    np.array([inp]),
                    np.array([cr]),
                    np.array([cw]),
                    np.array([out]),
                    minute_of_day=np.array([hour * 60 + 5]),
                )[0]
                if not m.priced:
                    assert np.isnan(mine)
                    with pytest.raises(LookupError):
                        calc_price(
                            Usage(input_tokens=inp, output_tokens=out),
                            m.request_model,
                            provider_id=m.provider,
                            genai_request_timestamp=ts,
                        )
                    continue
                ref = calc_price(
                    Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw),
                    m.request_model,
                    provider_id=m.provider,
                    genai_request_timestamp=ts,
                ).total_price
                assert Decimal(str(round(mine, 10))) == pytest.approx(ref, rel=Decimal("1e-6")), (
                    m.request_model,
                    hour,
                    inp,
                )


def test_cli_writes_the_dataset_and_reports_bad_arguments(tmp_path, capsys):
    code = main(
        [
            "traces",
            "--calls",
            "2000",
            "--days",
            "3",
            "--start",
            "2026-02-01",
            "--seed",
            "2",
            "--out",
            str(tmp_path / "landing"),
            "--format",
            "csv",
            "--agents",
            "5",
            "--labels",
            str(tmp_path / "truth.csv"),
            "--error-rate",
            "0.1",
        ]
    )
    assert code == 0
    assert "2000 LLM calls" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "landing" / "csv").iterdir()) == [
        "date=2026-02-01",
        "date=2026-02-02",
        "date=2026-02-03",
    ]
    assert (tmp_path / "truth.csv").read_text().startswith(",".join(LABEL_COLUMNS))
    assert main(["traces", "--calls", "0", "--out", str(tmp_path / "x")]) == 2
    assert "calls=0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["traces", "--start", "01/02/2026", "--out", str(tmp_path / "x")])
    assert "expected a date as YYYY-MM-DD" in capsys.readouterr().err
    duckdb.connect().close()
