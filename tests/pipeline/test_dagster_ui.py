"""The Dagster UI, for real: `dagster dev` on 127.0.0.1, its GraphQL API, one launched run.

Started in its own process group (STACK.md: `dagster dev` ignores signals sent
to it from a script otherwise) and stopped with SIGTERM to the group.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.settings import REPO_ROOT

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT_S = 240
RUN_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {
        **os.environ,
        "AGENTLEDGER_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        # As `make dev` does: dagster-dbt's dev-mode manifest refresh calls `dbt` from PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (data_dir / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            status = _graphql(port, "{ version }")
            if status.get("version"):
                # The code location loads after the server answers.
                nodes = _graphql(port, "{ assetNodes { assetKey { path } } }")["assetNodes"]
                if nodes:
                    break
        except (OSError, AssertionError, KeyError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.flush()
            pytest.fail(f"dagster dev did not come up: {(data_dir / 'dagster-dev.log').read_text()[-3000:]}")
        time.sleep(2)
    yield port, data_dir
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


def test_ui_lists_the_asset_graph(dagster_ui):
    port, _ = dagster_ui
    nodes = _graphql(port, "{ assetNodes { assetKey { path } groupName isPartitioned } }")["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert by_key["raw/trace_spans"]["isPartitioned"] is True
    assert by_key["raw/trace_spans"]["groupName"] == "ingest"
    assert by_key["marts/fct_llm_calls"]["isPartitioned"] is True
    assert by_key["marts/rpt_cost_daily"]["groupName"] == "warehouse"
    assert "landing/synthetic_traces" in by_key


def test_ui_launches_a_run_to_success(dagster_ui):
    port, data_dir = dagster_ui
    launched = _graphql(
        port,
        """
        mutation Launch($params: ExecutionParams!) {
          launchRun(executionParams: $params) {
            __typename
            ... on LaunchRunSuccess { run { runId } }
            ... on PythonError { message }
            ... on RunConfigValidationInvalid { errors { message } }
          }
        }
        """,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": "agentledger",
                    "repositoryName": "__repository__",
                    "jobName": "generate_demo_data",
                },
                "runConfigData": {"ops": {"landing__synthetic_traces": {"config": {"calls": 1500, "days": 3}}}},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        status = _graphql(port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id})[
            "runOrError"
        ]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS"
    written = list((data_dir / "landing" / "synthetic").rglob("*.parquet"))
    assert len(written) == 3
