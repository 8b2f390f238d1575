"""The session's small warehouse: one real pipeline run on a small generated dataset.

The slow tests that only read a built warehouse (the marts, the published
file, the export round trip, the report site in the browser) read what the
real Dagster job produced rather than each building their own: generator ->
landing folder -> ingestion -> dbt -> signals -> published file -> Evidence
site. The run happens once per test session and only when a test asks for
`pipeline_warehouse` (everything but the report site) or `pipeline_data_dir`
(the same run, then its report-site asset).

Tests that need data of their own shape (the edge datasets, the instrumented
corpus, kill and recovery, partitions and late data, hand-written spans)
build their own warehouse.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

# Tests that share a build stay on one pytest-xdist worker (tests/worker_groups.py).
from worker_groups import (
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_configure_node,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
)

from orchestration.dbt_invocation import environment

# A fixed window, so every session sees the same data (seed 5 gives several
# injected anomalies, budgets in every state and a forecastable history).
PIPELINE_START = dt.date(2026, 6, 1)
PIPELINE_DAYS = 60
PIPELINE_CALLS = 20_000
PIPELINE_AGENTS = 20
PIPELINE_SEED = 5
PIPELINE_JOB = "agentledger_pipeline"
REPORT_SITE_KEY = ("reports", "site")


@dataclass(frozen=True)
class PipelineData:
    """What the session's pipeline run wrote: paths are absolute and stay valid after the run."""

    data_dir: Path
    warehouse_path: Path  # the working file, as the last dbt step left it
    published_path: Path
    site_dir: Path | None  # None until the report site is built, or when npm is missing
    first_day: dt.date
    last_day: dt.date
    calls: int  # LLM calls generated (all of them load: the generator writes no bad rows)
    agents: int
    # One agent's spans arrive without a department (as from a source that
    # does not set it): the marts must take its department from org_mapping.
    agent_without_department: str
    agent_mapped_department: str
    site_skip_reason: str | None = None

    def env(self) -> dict[str, str]:
        """Environment that makes `load_settings()` point at this run's data directory."""
        return {"AGENTLEDGER_DATA_DIR": str(self.data_dir)}


def _pipeline_env(data_dir: Path) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "AGENTLEDGER_DATA_DIR": str(data_dir),
        # Derived from the data dir; a developer's override must not redirect the run.
        "AGENTLEDGER_WAREHOUSE": None,
        # Alerts are recorded, never posted, from tests.
        "AGENTLEDGER_ALERT_WEBHOOK_URL": None,
    }
    # The daily partitions are defined at import from this variable; it only
    # has to start on or before the first generated day.
    configured = os.environ.get("AGENTLEDGER_PARTITIONS_START")
    if configured and dt.date.fromisoformat(configured) > PIPELINE_START:
        env["AGENTLEDGER_PARTITIONS_START"] = PIPELINE_START.isoformat()
    return env


def _drop_department(landing: Path, org_mapping: Path) -> tuple[str, str]:
    """Blank the department on every span of the first generated agent the org mapping lists.

    Returns that agent and its department in the mapping.
    """
    with org_mapping.open() as f:
        mapped = {row["agent_id"]: row["department"] for row in csv.DictReader(f)}
    files = sorted(landing.rglob("*.parquet"))
    assert files, f"the generator wrote no Parquet files under {landing}"
    con = duckdb.connect()
    try:
        generated = [
            row[0]
            for row in con.execute(
                "select distinct agent_id from read_parquet(?) where agent_id is not null order by 1",
                [[str(f) for f in files]],
            ).fetchall()
        ]
        agent = next((a for a in generated if a in mapped), None)
        assert agent, f"no generated agent is listed in {org_mapping}; expected the generator's agent ids there"
        for path in files:
            rewritten = path.with_suffix(".rewrite")
            con.execute(
                f"copy (select * replace (case when agent_id = $agent then null else department end as department) "
                f"from read_parquet('{path}')) to '{rewritten}' (format parquet)",
                {"agent": agent},
            )
            os.replace(rewritten, path)
    finally:
        con.close()
    return agent, mapped[agent]


def _execute_pipeline(asset_filter) -> None:
    """Run the pipeline job in process over the fixed window, on the assets `asset_filter` keeps."""
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def(PIPELINE_JOB)
    last_day = PIPELINE_START + dt.timedelta(days=PIPELINE_DAYS - 1)
    job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": PIPELINE_START.isoformat(),
            "dagster/asset_partition_range_end": last_day.isoformat(),
        },
        asset_selection=[key for key in job.asset_layer.executable_asset_keys if asset_filter(tuple(key.path))],
        raise_on_error=True,
    )


def run_real_pipeline(data_dir: Path) -> PipelineData:
    """Generate the fixed dataset into `data_dir` and run the `agentledger_pipeline` job in process, all but the site."""
    from generators import GeneratorConfig, generate_traces

    with environment(_pipeline_env(data_dir)):
        from orchestration.reference import DEMO_REFERENCE_DIR, install_reference_files, org_mapping_path
        from orchestration.settings import load_settings

        settings = load_settings()
        # The generated data is the demo's: so are its budgets and org mapping.
        install_reference_files(DEMO_REFERENCE_DIR, settings)
        landing = settings.landing_dir / "synthetic"
        generate_traces(
            GeneratorConfig(
                calls=PIPELINE_CALLS,
                days=PIPELINE_DAYS,
                start=PIPELINE_START,
                seed=PIPELINE_SEED,
                agents=PIPELINE_AGENTS,
            ),
            landing,
            fmt="parquet",
            labels_path=data_dir / "ground_truth" / "anomalies.csv",
            progress=False,
        )
        agent, department = _drop_department(landing, org_mapping_path(settings))
        _execute_pipeline(lambda path: path != REPORT_SITE_KEY)
    return PipelineData(
        data_dir=data_dir,
        warehouse_path=settings.warehouse_path,
        published_path=settings.published_warehouse_path,
        site_dir=None,
        first_day=PIPELINE_START,
        last_day=PIPELINE_START + dt.timedelta(days=PIPELINE_DAYS - 1),
        calls=PIPELINE_CALLS,
        agents=PIPELINE_AGENTS,
        agent_without_department=agent,
        agent_mapped_department=department,
    )


def build_report_site(run: PipelineData) -> PipelineData:
    """Materialize the pipeline's report-site asset on top of `run` (it reads the published file)."""
    with environment(_pipeline_env(run.data_dir)):
        _execute_pipeline(lambda path: path == REPORT_SITE_KEY)
        from orchestration.publish.report_build import site_dir
        from orchestration.settings import load_settings

        built = site_dir(load_settings())
    return dataclasses.replace(run, site_dir=built)


@pytest.fixture(scope="session")
def pipeline_warehouse(tmp_path_factory) -> PipelineData:
    """The real pipeline's outputs for this session, without the report site (built once, on first use).

    Read it, never write it: every test of the session sees the same warehouse.
    """
    return run_real_pipeline(tmp_path_factory.mktemp("pipeline_data"))


@pytest.fixture(scope="session")
def pipeline_data_dir(pipeline_warehouse: PipelineData) -> PipelineData:
    """The session's pipeline run with its report site (the site is built once, on first use).

    The report site is built by the pipeline's own asset when npm is available;
    without npm `site_dir` stays None and `site_skip_reason` says why.
    """
    if shutil.which("npm") is None:
        return dataclasses.replace(
            pipeline_warehouse, site_skip_reason="npm is not installed (Node 20 is required for the report site)"
        )
    return build_report_site(pipeline_warehouse)


__all__ = [
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_unconfigure",
    "pytest_xdist_make_scheduler",
]
