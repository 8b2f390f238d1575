"""The whole pipeline on tiny, awkward datasets: it never fails for the data's shape.

The matrix (MATRIX below says which dataset carries which property): one
call; one day; no errors; only errors; one agent; no agent at all; only
unpriced models; only embeddings; a day with no traffic in the middle; less
history than the forecaster or the anomaly baseline needs.

Each dataset is a fresh data directory, as someone else's first run would be:
trace files written here (canonical JSONL or OpenTelemetry OTLP JSON), no
reference files unless the dataset says so. One in-process run of the real
`agentledger_pipeline` job per dataset: ingestion, dbt with every data test,
forecasts and signals, publish. Then the report site:

- the dataset with the least in it (one call, one day, one agent, no errors,
  nothing to compare with) gets the real `npm run build` through the
  pipeline's own report-site asset, which fails on any query or compile error
  a page reports;
- the others get the site's source queries (`npm run sources`) run against
  their published file and checked the way the build checks them (no query
  error, every required source has rows, no source empty), at a fraction of
  the cost (a build is ~60 s and ~3 GB; the report-site tests in
  tests/publish build the full site once more, on the shared warehouse).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_invocation import environment

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 9, 14)  # a Monday
REPORT_SITE_KEY = ("reports", "site")

# ---------------------------------------------------------------- span writers


def _ts(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def call(n: int, day: dt.date, **over) -> dict:
    """One canonical LLM call span: a priced OpenAI chat call by default."""
    row = {
        "span_id": f"s{day:%m%d}{n:05d}",
        "trace_id": f"t{day:%m%d}{n // 3:05d}",
        "started_at": _ts(day, 37 * n).isoformat(),
        "duration_ms": 800.0 + 13 * (n % 7),
        "operation": "chat",
        "provider": "openai",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "workspace_id": "ws-edge",
        "agent_id": "agent-a",
        "agent_name": "assistant",
        "environment": "production",
        "status": "ok",
        "input_tokens": 1200 + 10 * (n % 5),
        "output_tokens": 180 + 3 * (n % 4),
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not None}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _hex(text: str, digits: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:digits]


def _attr(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


OTLP_ATTRIBUTES = {
    "operation": "gen_ai.operation.name",
    "provider": "gen_ai.provider.name",
    "request_model": "gen_ai.request.model",
    "response_model": "gen_ai.response.model",
    "agent_id": "gen_ai.agent.id",
    "agent_name": "gen_ai.agent.name",
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "error_type": "error.type",
}


def write_otlp(path: Path, rows: list[dict]) -> None:
    """The same spans as one OTLP JSON document (workspace in service.namespace, as exporters set it)."""
    by_workspace: dict[str, list[dict]] = {}
    for r in rows:
        start = dt.datetime.fromisoformat(r["started_at"])
        start_ns = int(start.timestamp()) * 1_000_000_000 + start.microsecond * 1000
        span = {
            "traceId": _hex(r["trace_id"], 32),
            "spanId": _hex(r["span_id"], 16),
            "parentSpanId": "",
            "name": f"{r['operation']} {r.get('request_model', '')}".strip(),
            "kind": 3,
            "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(start_ns + int(r["duration_ms"] * 1_000_000)),
            "attributes": [
                _attr(OTLP_ATTRIBUTES[k], v) for k, v in r.items() if k in OTLP_ATTRIBUTES and v is not None
            ],
            "status": {"code": 2, "message": r.get("error_type", "")} if r["status"] == "error" else {},
        }
        by_workspace.setdefault(r["workspace_id"], []).append(span)
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        _attr("service.namespace", ws),
                        _attr("service.name", "edge-service"),
                        _attr("deployment.environment.name", "production"),
                    ]
                },
                "scopeSpans": [
                    {"scope": {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"}, "spans": spans}
                ],
            }
            for ws, spans in by_workspace.items()
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))


# ---------------------------------------------------------------- datasets


@dataclass(frozen=True)
class Dataset:
    name: str
    first: dt.date
    last: dt.date
    write: Callable[[Path], None]  # writes into <data dir>
    build_site: bool = False
    expect_calls: int | None = None


def _days(n: int, skip: tuple[int, ...] = ()) -> list[dt.date]:
    return [DAY + dt.timedelta(days=i) for i in range(n) if i not in skip]


def _one_call(data: Path) -> None:
    write_jsonl(data / "landing" / "one_call.jsonl", [call(0, DAY, agent_id="agent-solo", agent_name="solo")])
    # Reference files as a user would start them: a budget on the workspace that has the call,
    # one on a workspace with no traffic yet, one invalid row; an org mapping for the agent.
    ref = data / "reference"
    ref.mkdir(parents=True)
    (ref / "budgets.csv").write_text(
        "budget_id,scope_type,scope_id,monthly_limit_usd,alert_thresholds,owner,notes\n"
        "ws-main,workspace,ws-edge,100,0.5|0.8|1.0,ops@example.com,\n"
        "ws-later,workspace,ws-not-live-yet,50,0.8|1.0,ops@example.com,before its first call\n"
        "typo,workspace,ws-edge,a lot,0.8|1.0,ops@example.com,\n"
    )
    (ref / "org_mapping.csv").write_text("agent_id,department,team,cost_centre\nagent-solo,Support,Tier 1,CC-1\n")


def _one_day(data: Path) -> None:
    # Forty calls in one day, three agents in two workspaces, not one error.
    rows = [call(i, DAY, agent_id=f"agent-{'abc'[i % 3]}", workspace_id=f"ws-{i % 2}") for i in range(40)]
    write_jsonl(data / "landing" / "day.jsonl", rows)


def _only_errors(data: Path) -> None:
    # failed calls report no usage: loaded as error calls, tokens unknown, cost 0
    rows = [
        call(
            i,
            d,
            status="error",
            error_type=("rate_limit", "timeout", "500")[i % 3],
            agent_id=f"agent-{i % 2}",
            input_tokens=None,
            output_tokens=None,
        )
        for d in _days(2)
        for i in range(5)
    ]
    write_otlp(data / "landing" / "otel" / "errors.json", rows)


def _no_agent(data: Path) -> None:
    rows = [call(i, d, agent_id=None, agent_name=None, workspace_id=f"ws-{i % 2}") for d in _days(2) for i in range(10)]
    write_otlp(data / "landing" / "otel" / "no_agent.json", rows)


def _only_unpriced(data: Path) -> None:
    rows = [
        call(
            i,
            d,
            provider="acme-ai",
            request_model="acme-large-7",
            response_model="acme-large-7-0914",
            agent_id=f"agent-{i % 2}",
        )
        for d in _days(3)
        for i in range(6)
    ]
    write_jsonl(data / "landing" / "unpriced.jsonl", rows)


def _only_embeddings(data: Path) -> None:
    # embeddings report input tokens only
    rows = [
        call(
            i,
            d,
            operation="embeddings",
            request_model="text-embedding-3-small",
            response_model=None,
            input_tokens=300 + i,
            output_tokens=None,
        )
        for d in _days(2)
        for i in range(10)
    ]
    write_jsonl(data / "landing" / "embeddings.jsonl", rows)


def _one_agent_with_a_gap(data: Path) -> None:
    # One agent over ten days (fewer than the 14 the forecaster and the anomaly
    # baseline need), nothing at all on the third day, a failed call now and then.
    rows = [
        call(
            i,
            d,
            agent_id="agent-only",
            input_tokens=1000 + 50 * k,
            status="error" if i == 3 else "ok",
            error_type="timeout" if i == 3 else None,
        )
        for k, d in enumerate(_days(10))
        if k != 2
        for i in range(12)
    ]
    write_jsonl(data / "landing" / "agent.jsonl", rows)


# Each entry of the matrix is a property of at least one dataset; a dataset
# holds several when they do not mask each other (a run costs a minute or more).
DATASETS = [
    # one call => also one day, one agent, no errors; with the user's reference files
    Dataset("one_call", DAY, DAY, _one_call, build_site=True, expect_calls=1),
    # one day of traffic, no errors (error waste sums to 0 against no failed call)
    Dataset("one_day", DAY, DAY, _one_day, expect_calls=40),
    Dataset("only_errors", DAY, DAY + dt.timedelta(days=1), _only_errors, expect_calls=10),
    Dataset("no_agent", DAY, DAY + dt.timedelta(days=1), _no_agent, expect_calls=20),
    Dataset("only_unpriced", DAY, DAY + dt.timedelta(days=2), _only_unpriced, expect_calls=18),
    Dataset("only_embeddings", DAY, DAY + dt.timedelta(days=1), _only_embeddings, expect_calls=20),
    # one agent, a day without traffic in the middle, less history than the signals need
    Dataset("one_agent_gap_short", DAY, DAY + dt.timedelta(days=9), _one_agent_with_a_gap, expect_calls=108),
]
MATRIX = {
    "one call": "one_call",
    "one day": "one_day",
    "no errors": "one_day",
    "only errors": "only_errors",
    "one agent": "one_agent_gap_short",
    "no agent at all": "no_agent",
    "only unpriced models": "only_unpriced",
    "only embeddings": "only_embeddings",
    "a day with no traffic in the middle": "one_agent_gap_short",
    "less history than the forecaster or anomaly baseline needs": "one_agent_gap_short",
}


# ---------------------------------------------------------------- running


@dataclass
class EdgeRun:
    dataset: Dataset
    data_dir: Path
    success: bool
    failures: list[str]
    metadata: dict[str, dict]  # asset key -> materialization metadata
    checks: dict[str, tuple[bool, str]]  # "asset:check" -> (passed, severity)
    seconds: float
    site_rows: dict[str, int] = field(default_factory=dict)

    @property
    def published(self) -> Path:
        return self.data_dir / "published" / "agentledger.duckdb"

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.published), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def run_dataset(dataset: Dataset, root: Path) -> EdgeRun:
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.publish.report_build import check_report_sources
    from orchestration.settings import load_settings

    data_dir = root / dataset.name
    dataset.write(data_dir)
    started = time.monotonic()
    with environment(
        {
            "AGENTLEDGER_DATA_DIR": str(data_dir),
            "AGENTLEDGER_WAREHOUSE": None,
            "AGENTLEDGER_ALERT_WEBHOOK_URL": None,
        }
    ):
        job = defs.resolve_job_def("agentledger_pipeline")
        selection = None
        if not dataset.build_site:
            selection = [k for k in job.asset_layer.executable_asset_keys if tuple(k.path) != REPORT_SITE_KEY]
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": dataset.first.isoformat(),
                "dagster/asset_partition_range_end": dataset.last.isoformat(),
            },
            asset_selection=selection,
            raise_on_error=False,
        )
        failures = [
            f"{e.step_key}: {e.step_failure_data.error.message.strip()[:3000] if e.step_failure_data.error else ''}"
            for e in result.all_events
            if e.is_step_failure
        ]
        metadata = {
            e.asset_key.to_user_string(): {
                k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()
            }
            for e in result.get_asset_materialization_events()
        }
        # Keyed asset:check: check names are unique on their asset only (orchestration/dbt_translator.py).
        checks = {
            f"{e.asset_key.to_user_string()}:{e.check_name}": (e.passed, e.severity.value)
            for e in result.get_asset_check_evaluations()
        }
        run = EdgeRun(dataset, data_dir, result.success, failures, metadata, checks, 0.0)
        if result.success and not dataset.build_site:
            run.site_rows = check_report_sources(load_settings())
        run.seconds = time.monotonic() - started
        return run


class EdgeRuns:
    """Runs each dataset on first use (so `-k one_call` runs one), then keeps the result."""

    def __init__(self, root: Path):
        self.root = root
        self.runs: dict[str, EdgeRun] = {}

    def __getitem__(self, name: str) -> EdgeRun:
        if name not in self.runs:
            dataset = next(d for d in DATASETS if d.name == name)
            run = self.runs[name] = run_dataset(dataset, self.root)
            print(f"\nedge dataset {name}: {'ok' if run.success else 'FAILED'} in {run.seconds:.0f}s")
        return self.runs[name]


@pytest.fixture(scope="module")
def edge_runs(tmp_path_factory) -> Iterator[EdgeRuns]:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (Node 20 is required for the report site)")
    configured = os.environ.get("AGENTLEDGER_PARTITIONS_START")
    # The daily partitions are defined at import from this variable; they must cover the datasets.
    with environment(
        {"AGENTLEDGER_PARTITIONS_START": "2026-01-01"}
        if not configured or dt.date.fromisoformat(configured) > DAY
        else {}
    ):
        yield EdgeRuns(tmp_path_factory.mktemp("edge_data"))


@pytest.mark.parametrize("name", [pytest.param(d.name, marks=pytest.mark.same_worker(d.name)) for d in DATASETS])
def test_pipeline_publishes_on_edge_data(edge_runs, name):
    run = edge_runs[name]
    assert run.success and not run.failures, "\n\n".join(run.failures)
    assert run.published.exists()
    [(calls,)] = run.query("select count(*) from marts.fct_llm_calls")
    assert calls == run.dataset.expect_calls
    if run.dataset.build_site:
        assert (run.data_dir / "published" / "site" / "index.html").exists()
        assert run.metadata["reports/site"]["pages_built"] >= 13
    else:
        assert run.site_rows and all(n > 0 for n in run.site_rows.values()), run.site_rows
    # Every data test of the marts ran and passed: no failed dbt check.
    failed = sorted(name for name, (passed, severity) in run.checks.items() if not passed and severity == "ERROR")
    assert failed == []


@pytest.mark.same_worker("one_agent_gap_short")
def test_signals_say_why_history_is_too_short(edge_runs):
    """Less history than the forecaster and the anomaly baseline need: said, not failed."""
    run = edge_runs["one_agent_gap_short"]
    methods = run.query("select distinct method, fallback_reason from signals.cost_forecast")
    assert methods and all(m == "none" for m, _ in methods)
    assert all("shorter than the 14 days required" in reason for _, reason in methods)
    forecast = run.metadata["signals/cost_forecast"]
    assert forecast.get("scopes_none", 0) > 0
    anomalies = run.metadata["signals/cost_anomalies"]
    assert anomalies["anomalies"] == 0 and "baseline" in anomalies["note"]
    assert "too short" in run.metadata["signals/forecast_backtest"]["note"]


@pytest.mark.same_worker("one_call")
def test_budgets_without_traffic_and_invalid_rows_do_not_fail_the_run(edge_runs):
    run = edge_runs["one_call"]
    status = dict(run.query("select budget_id, status from signals.budget_status"))
    assert status["ws-later"] == "no_traffic" and status["ws-main"] in ("ok", "warning")
    assert "typo" not in status
    [(line, field, message)] = run.query("select line, field, message from signals.budget_errors")
    assert (line, field) == (4, "monthly_limit_usd") and "budgets.csv line 4" in message
    meta = run.metadata["signals/budget_status"]
    assert meta["invalid_rows"] == 1 and meta["no_traffic_budgets"] == "ws-later"
    assert run.checks["signals/budget_status:budgets_are_valid"] == (False, "WARN")
    # The user's org mapping reached the marts.
    assert run.query("select department, team from marts.dim_agents where agent_id = 'agent-solo'") == [
        ("Support", "Tier 1")
    ]
    page = run.data_dir / "published" / "site" / "budgets.html"
    if not page.exists():
        page = run.data_dir / "published" / "site" / "budgets" / "index.html"
    html = page.read_text()
    assert "no-traffic-budgets" in html and "budget-errors" in html


@pytest.mark.same_worker("one_day")
def test_a_first_run_without_reference_files_has_no_budgets(edge_runs):
    run = edge_runs["one_day"]
    assert run.query("select count(*) from signals.budget_status") == [(0,)]
    assert run.query("select count(*) from reference.org_mapping") == [(0,)]
    assert run.metadata["signals/budget_status"]["budgets"] == 0


def test_matrix_is_covered():
    names = {d.name for d in DATASETS}
    assert set(MATRIX.values()) <= names and len(MATRIX) == 10
