"""The Dagster UI, for real: `dagster dev` on 127.0.0.1, its GraphQL API, one launched run.

Started in its own process group (STACK.md: `dagster dev` ignores signals sent
to it from a script otherwise) and stopped with SIGTERM to the group. One
instance serves every test: the asset catalog (descriptions, owners, kinds,
checks), then a pipeline run through the warehouse (not the signals, publish
and site steps, which other tests run) over demo files written into the
landing folder, whose materialisations, check results and tags the UI shows.
"""

import datetime as dt
import time

import duckdb
import pytest

from generators import GeneratorConfig, generate_traces
from orchestration.dagster_dev import DagsterDevError, dagster_dev, dagster_instance_env, graphql

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT_S = 240
PIPELINE_TIMEOUT_S = 600
DEMO_CALLS, DEMO_DAYS = 1500, 3
LOCATION = {"repositoryLocationName": "agentledger", "repositoryName": "__repository__"}
# Refused at once: the failure-alert sensor is on because a webhook is configured, never because one answers.
UNREACHABLE_WEBHOOK = "http://127.0.0.1:9/agentledger-test"
# The configured first partition; the last one is today (UTC).
FIRST_PARTITION = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    env = {
        # As `make dev` sets it (dagster-dbt's dev-mode manifest refresh calls `dbt` from PATH).
        **dagster_instance_env(data_dir),
        "AGENTLEDGER_ALERT_WEBHOOK_URL": UNREACHABLE_WEBHOOK,
        "AGENTLEDGER_PARTITIONS_START": FIRST_PARTITION.isoformat(),
    }
    try:
        with dagster_dev(env, data_dir / "dagster-dev.log", startup_timeout_s=STARTUP_TIMEOUT_S) as dev:
            yield dev.port, data_dir
    except DagsterDevError as exc:
        pytest.fail(str(exc))


def test_ui_lists_the_asset_graph(dagster_ui):
    port, _ = dagster_ui
    nodes = graphql(port, "{ assetNodes { assetKey { path } groupName isPartitioned } }")["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert by_key["raw/trace_spans"]["isPartitioned"] is True
    assert by_key["raw/trace_spans"]["groupName"] == "ingest"
    assert by_key["marts/fct_llm_calls"]["isPartitioned"] is True
    assert by_key["marts/rpt_cost_daily"]["groupName"] == "warehouse"
    assert "landing/synthetic_traces" in by_key


def test_partitions_run_from_the_configured_start_to_today(dagster_ui):
    port, _ = dagster_ui
    query = '{ assetNodeOrError(assetKey: {path: ["raw", "trace_spans"]}) { ... on AssetNode { partitionKeys } } }'
    keys = graphql(port, query)["assetNodeOrError"]["partitionKeys"]
    assert keys[0] == FIRST_PARTITION.isoformat()
    assert keys[-1] == dt.datetime.now(dt.UTC).date().isoformat()
    assert len(keys) == 31


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


def _launch_and_wait(port: int, params: dict, timeout_s: float) -> str:
    # Launching answers once the run is queued; a busy machine can take longer than a plain query.
    launched = graphql(port, LAUNCH, {"params": params}, timeout_s=180)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        status = graphql(port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id})[
            "runOrError"
        ]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS", f"run {run_id} ended {status}"
    return run_id


@pytest.fixture(scope="module")
def demo_days(dagster_ui) -> tuple[dt.date, dt.date]:
    """1,500 synthetic calls over the last 3 days, written into the landing folder as a user would drop them."""
    _, data_dir = dagster_ui
    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=DEMO_DAYS - 1)
    generate_traces(
        GeneratorConfig(calls=DEMO_CALLS, days=DEMO_DAYS, start=first),
        data_dir / "landing" / "synthetic",
        progress=False,
    )
    return first, last


@pytest.fixture(scope="module")
def pipeline_run(dagster_ui, demo_days):
    """The pipeline over the demo's days launched from the UI's API, as a backfill of that range launches it.

    Ingest and warehouse only: the signals, publish and site steps have tests
    of their own, and this run is here for what the UI shows of it.
    """
    port, _ = dagster_ui
    first, last = demo_days
    nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    selection = [
        {"path": n["assetKey"]["path"]}
        for n in nodes
        if n["groupName"] in ("ingest", "warehouse") and n["assetKey"]["path"] != ["landing", "synthetic_traces"]
    ]
    run_id = _launch_and_wait(
        port,
        {
            "selector": {**LOCATION, "jobName": "agentledger_pipeline", "assetSelection": selection},
            "executionMetadata": {
                "tags": [
                    {"key": "dagster/asset_partition_range_start", "value": first.isoformat()},
                    {"key": "dagster/asset_partition_range_end", "value": last.isoformat()},
                ]
            },
        },
        PIPELINE_TIMEOUT_S,
    )
    return run_id, first, last


def test_ui_launches_a_run_to_success(dagster_ui, pipeline_run):
    _, data_dir = dagster_ui
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        days = conn.execute("select count(distinct call_date) from marts.fct_llm_calls").fetchone()[0]
    finally:
        conn.close()
    assert days == DEMO_DAYS


ASSET_CATALOG = """
{ assetNodes {
    assetKey { path } description kinds isMaterializable
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    assetChecksOrError { ... on AssetChecks { checks { name description } } }
} }
"""


def test_every_asset_has_a_description_an_owner_and_kinds(dagster_ui):
    port, _ = dagster_ui
    nodes = [n for n in graphql(port, ASSET_CATALOG)["assetNodes"] if n["isMaterializable"]]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    for key, node in by_key.items():
        assert node["description"], f"{key}: no description"
        assert node["owners"], f"{key}: no owner"
        assert node["kinds"], f"{key}: no kinds"
    assert {"dbt", "duckdb"} <= set(by_key["marts/rpt_cost_daily"]["kinds"])
    assert {"dbt", "duckdb"} <= set(by_key["marts/fct_llm_calls"]["kinds"])
    assert "prophet" in by_key["signals/cost_forecast"]["kinds"]
    assert "evidence" in by_key["reports/site"]["kinds"]
    assert {"python", "duckdb"} <= set(by_key["raw/trace_spans"]["kinds"])
    assert by_key["marts/rpt_cost_daily"]["owners"] == [{"team": "data-platform"}]
    assert "127.0.0.1:3001" in by_key["reports/site"]["description"]


def test_every_check_has_a_description_and_a_readable_name(dagster_ui):
    port, _ = dagster_ui
    nodes = graphql(port, ASSET_CATALOG)["assetNodes"]
    checks = {
        ("/".join(n["assetKey"]["path"]), c["name"]): c["description"]
        for n in nodes
        for c in (n["assetChecksOrError"].get("checks") or [])
    }
    assert len(checks) > 150  # the dbt tests and the Python checks
    for (key, name), description in checks.items():
        assert description, f"{key}: check {name} has no description"
        assert len(name) <= 60, f"{key}: check name {name} is not short"
    # dbt's generated name, `relationships_rpt_cost_daily_agent_id__agent_id__ref_dim_agents_`, reads:
    described = checks[("marts/rpt_cost_daily", "agent_id_in_dim_agents")]
    assert "`agent_id` exists as `agent_id` in `dim_agents`" in described
    assert "relationships_rpt_cost_daily_agent_id__agent_id__ref_dim_agents_" in described
    assert "no two rows share these values" in checks[("marts/rpt_cost_daily", "one_row_per_grain")]
    assert "quarantined" in checks[("raw/trace_spans", "quarantine_share")]


def test_failure_alert_sensor_is_on_when_a_webhook_is_configured(dagster_ui):
    port, _ = dagster_ui
    sensor = graphql(
        port,
        """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
            ... on Sensor { sensorState { status } } } }""",
        {"s": {**LOCATION, "sensorName": "pipeline_failure_alert"}},
    )["sensorOrError"]
    assert sensor["sensorState"]["status"] == "RUNNING"


LATEST_MATERIALIZATION = """
query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(limit: 1) { runId metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on MarkdownMetadataEntry { mdStr }
    } }
} } }
"""


def _latest_metadata(port: int, key: str) -> tuple[str, dict]:
    materializations = graphql(port, LATEST_MATERIALIZATION, {"key": {"path": key.split("/")}})["assetOrError"][
        "assetMaterializations"
    ]
    assert materializations, f"{key} was never materialised"
    entries = materializations[0]["metadataEntries"]
    return materializations[0]["runId"], {e["label"]: e.get("intValue", e.get("mdStr")) for e in entries}


def test_materialisations_carry_row_counts_and_report_previews(dagster_ui, pipeline_run):
    port, data_dir = dagster_ui
    run_id, _, _ = pipeline_run
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        expected = {
            "raw/trace_spans": conn.execute("select count(*) from raw.trace_spans").fetchone()[0],
            "marts/fct_llm_calls": conn.execute("select count(*) from marts.fct_llm_calls").fetchone()[0],
            "marts/rpt_cost_daily": conn.execute("select count(*) from marts.rpt_cost_daily").fetchone()[0],
            "reference/model_prices": conn.execute("select count(*) from reference.model_prices").fetchone()[0],
        }
    finally:
        conn.close()
    assert expected["marts/fct_llm_calls"] > 0
    for key, rows in expected.items():
        materialised_by, metadata = _latest_metadata(port, key)
        assert materialised_by == run_id, key
        assert metadata["dagster/row_count"] == rows, key

    _, report = _latest_metadata(port, "marts/rpt_cost_daily")
    header, rule, *rows = report["preview"].splitlines()
    assert header.startswith("| call_date | ") and rule.startswith("| --- |")
    assert 1 <= len([r for r in rows if r.startswith("|")]) <= 5
    _, fact = _latest_metadata(port, "marts/fct_llm_calls")
    assert "preview" not in fact  # previews are for report tables


def test_dbt_check_results_reach_their_readable_checks(dagster_ui, pipeline_run):
    port, _ = dagster_ui
    run_id, _, _ = pipeline_run
    executions = graphql(
        port,
        """query($key: AssetKeyInput!, $name: String!) {
            assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) { runId status } }""",
        {"key": {"path": ["marts", "rpt_cost_daily"]}, "name": "agent_id_in_dim_agents"},
    )["assetCheckExecutions"]
    assert executions == [{"runId": run_id, "status": "SUCCEEDED"}]


def test_run_tags_name_its_days_and_files(dagster_ui, pipeline_run):
    port, _ = dagster_ui
    run_id, first, last = pipeline_run
    tags = graphql(
        port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }", {"id": run_id}
    )["runOrError"]["tags"]
    by_key = {t["key"]: t["value"] for t in tags}
    assert by_key["agentledger/days"] == f"{first.isoformat()}..{last.isoformat()}"
    assert by_key["agentledger/day_count"] == str(DEMO_DAYS)
    assert by_key["agentledger/file_count"] == str(DEMO_DAYS)
    files = by_key["agentledger/files"].split(", ")
    assert len(files) == DEMO_DAYS and all(f.startswith("synthetic/") and f.endswith(".parquet") for f in files)
