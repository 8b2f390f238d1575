"""Shared session fixture: one real pipeline run on a small generated dataset.

End-to-end tests of the published outputs (export round trip, report site in
the browser) read what the real Dagster job produced rather than a warehouse
written by hand: generator -> landing folder -> ingestion -> dbt -> signals ->
published file -> Evidence site. The run happens once per test session and
only when a test asks for `pipeline_data_dir`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# pytest imports this file by putting its folder first on sys.path. Its
# subfolders tests/orchestration and tests/generators would then shadow the
# real packages of those names (a directory without __init__.py counts as a
# namespace package, and the editable install's finder comes after the path
# finder), so the folder is taken off again once this module is loaded.
_TESTS_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != _TESTS_DIR]

# A fixed window, so every session sees the same data (seed 5 gives several
# injected anomalies, budgets in every state and a forecastable history).
PIPELINE_START = dt.date(2026, 6, 1)
PIPELINE_DAYS = 60
PIPELINE_CALLS = 20_000
PIPELINE_SEED = 5
PIPELINE_JOB = "agentledger_pipeline"
REPORT_SITE_KEY = ("reports", "site")


@dataclass(frozen=True)
class PipelineData:
    """What the session's pipeline run wrote: paths are absolute and stay valid after the run."""

    data_dir: Path
    published_path: Path
    site_dir: Path | None  # None when npm is missing and the site was not built
    first_day: dt.date
    last_day: dt.date
    site_skip_reason: str | None = None

    def env(self) -> dict[str, str]:
        """Environment that makes `load_settings()` point at this run's data directory."""
        return {"AGENTLEDGER_DATA_DIR": str(self.data_dir)}


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) variables for the duration of the block, then restore them."""
    previous = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_real_pipeline(data_dir: Path, build_site: bool = True) -> PipelineData:
    """Generate the fixed dataset into `data_dir` and run the `agentledger_pipeline` job in process.

    With `build_site=False` the report-site asset is left out of the run (the
    rest of the job is unchanged).
    """
    import dagster as dg

    from generators import GeneratorConfig, generate_traces

    last_day = PIPELINE_START + dt.timedelta(days=PIPELINE_DAYS - 1)
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

    with _environment(env):
        from orchestration.reference import DEMO_REFERENCE_DIR, install_reference_files
        from orchestration.settings import load_settings

        # The generated data is the demo's: so are its budgets and org mapping.
        install_reference_files(DEMO_REFERENCE_DIR, load_settings())
        generate_traces(
            GeneratorConfig(calls=PIPELINE_CALLS, days=PIPELINE_DAYS, start=PIPELINE_START, seed=PIPELINE_SEED),
            data_dir / "landing" / "synthetic",
            labels_path=data_dir / "ground_truth" / "anomalies.csv",
        )
        from orchestration.definitions import defs

        job = defs.resolve_job_def(PIPELINE_JOB)
        selection = None
        if not build_site:
            selection = [key for key in job.asset_layer.executable_asset_keys if tuple(key.path) != REPORT_SITE_KEY]
        job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": PIPELINE_START.isoformat(),
                "dagster/asset_partition_range_end": last_day.isoformat(),
            },
            asset_selection=selection,
            raise_on_error=True,
        )
        settings = load_settings()
        from orchestration.publish.report_build import site_dir

        built = site_dir(settings) if build_site else None
    return PipelineData(
        data_dir=data_dir,
        published_path=settings.published_warehouse_path,
        site_dir=built,
        first_day=PIPELINE_START,
        last_day=last_day,
    )


@pytest.fixture(scope="session")
def pipeline_data_dir(tmp_path_factory) -> PipelineData:
    """The real pipeline's outputs for this session (built once, on first use).

    The report site is built by the pipeline's own asset when npm is available;
    without npm the rest of the job still runs and `site_dir` is None.
    """
    data_dir = tmp_path_factory.mktemp("pipeline_data")
    npm = shutil.which("npm")
    result = run_real_pipeline(data_dir, build_site=npm is not None)
    if npm is None:
        return PipelineData(
            **{**result.__dict__, "site_skip_reason": "npm is not installed (Node 20 is required for the report site)"}
        )
    return result
