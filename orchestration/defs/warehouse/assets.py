"""dbt models, seeds and tests as Dagster assets and asset checks.

The project is split in three so that partitions mean something:
- reference: the seeds (prices), the org mapping loaded from the user's
  reference file (tag `reference`) and models built from them alone,
  unpartitioned;
- daily: the models feeding the call-level fact, partitioned by day; each run
  passes its window to dbt in the environment variables of WINDOW_ENV, read
  by the macro run_window() (the incremental fact re-processes
  `lookback_days` before min_date for late data);
- marts: every table derived from the fact, built after the partitions;
  the incremental ones (the trace fact) over the days of the run's
  partitions, all of them from scratch in a run that names no partitions.

Unit tests are not run here: dbt recommends them for development and CI
(`make test` runs them in a real `dbt build`), not for every production run.
"""

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_invocation import PRODUCTION_BUILD, environment, prune_invocation_targets, window_env
from orchestration.dbt_project import agentledger_dbt_project
from orchestration.dbt_translator import translator, with_readable_check_names
from orchestration.partitions import DUCKDB_WRITER_POOL, daily_partitions, run_partition_days
from orchestration.publish.spark_marts import mirror_spark_marts
from orchestration.resources import WarehouseResource
from orchestration.settings import Settings
from orchestration.table_metadata import with_dbt_table_metadata

# The partitioned set is every model on the path from the raw spans to the
# call-level fact; the reference set is the seeds, the reference models (the
# org mapping) and the models built from them alone (price bands, provider
# map); the marts are everything else.
DAILY_SELECT = "source:raw.trace_spans+,+fct_llm_calls"
REFERENCE_SELECT = "resource_type:seed tag:reference +fct_llm_calls"
REFERENCE_EXCLUDE = "source:raw.trace_spans+"
MARTS_EXCLUDE = "resource_type:seed tag:reference +fct_llm_calls"

# The asset ops that call dbt; dagster-dbt names each call's artifact folder after its op.
DBT_ASSET_OPS = ("dbt_reference_seeds", "dbt_daily_models", "dbt_marts")

RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


# The manifest with dbt tests under their readable check names (orchestration/dbt_translator.py).
manifest = with_readable_check_names(json.loads(Path(agentledger_dbt_project.manifest_path).read_text()))


@dbt_assets(
    manifest=manifest,
    select=REFERENCE_SELECT,
    exclude=REFERENCE_EXCLUDE,
    name="dbt_reference_seeds",
    dagster_dbt_translator=translator,
    project=agentledger_dbt_project,
    pool=DUCKDB_WRITER_POOL,
    retry_policy=RETRY,
)
def dbt_reference_seeds(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Reference data: the price catalog, custom prices, the org mapping and the price bands built from them."""
    yield from dbt_build(context, dbt, warehouse, [], window_env(None))


@dbt_assets(
    manifest=manifest,
    select=DAILY_SELECT,
    name="dbt_daily_models",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    project=agentledger_dbt_project,
    pool=DUCKDB_WRITER_POOL,
    retry_policy=RETRY,
)
def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Staging, pricing and the incremental call-level fact for the run's days."""
    window = context.partition_time_window
    # The window end is exclusive; dbt's window is inclusive days.
    days = (window.start.date().isoformat(), (window.end - dt.timedelta(days=1)).date().isoformat())
    yield from dbt_build(context, dbt, warehouse, [], window_env(days))


@dbt_assets(
    manifest=manifest,
    exclude=MARTS_EXCLUDE,
    name="dbt_marts",
    dagster_dbt_translator=translator,
    project=agentledger_dbt_project,
    pool=DUCKDB_WRITER_POOL,
    retry_policy=RETRY,
)
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Dimensions, the trace fact and report tables, built from the call fact after the partitions."""
    args, env = marts_window_args(context.run.tags)
    yield from dbt_build(context, dbt, warehouse, args, env, mirror_from_spark=True)


def dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
    window: dict[str, str],
    mirror_from_spark: bool = False,
):
    """Run `dbt build` as production runs it, with the window in its environment; its events carry row counts.

    First removes the week-old artifact folders of earlier invocations
    (dagster-dbt writes one per dbt call and keeps them all). The events are
    reported once dbt has exited, with each table's row count and the report
    tables' first rows (orchestration/table_metadata.py).
    """
    prune_invocation_targets(dbt_target_root(), DBT_ASSET_OPS)
    with environment(window):
        invocation = dbt.cli(["build", *args, *PRODUCTION_BUILD], context=context)
    events = invocation.stream()
    settings = warehouse.settings()
    if mirror_from_spark and settings.is_spark:
        events = _then_mirror_spark_marts(context, events, settings)
    yield from with_dbt_table_metadata(events, manifest, settings.warehouse_path)


def _then_mirror_spark_marts(context: dg.AssetExecutionContext, events, settings: Settings):
    """The build's events, then Spark's marts copied into the working DuckDB file (before row counts are read).

    The signals, the published file and the report site read the marts from that file on either engine.
    """
    yield from events
    mirrored = mirror_spark_marts(settings, Path(agentledger_dbt_project.manifest_path))
    context.log.info(f"{len(mirrored.tables)} tables copied from Spark in {mirrored.seconds:.1f} s")


def dbt_target_root() -> Path:
    """Where dagster-dbt puts each invocation's folder: DBT_TARGET_PATH, else target/, in the project."""
    root = Path(os.getenv("DBT_TARGET_PATH", "target"))
    return root if root.is_absolute() else Path(agentledger_dbt_project.project_dir) / root


def marts_window_args(run_tags: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """dbt arguments and window environment for the marts: the run's partitions, or a full refresh.

    A run that loads days (the schedule, the landing sensor, a backfill or
    `make reprice`) names its partitions, and only those days changed in the
    call fact. A run that names none (the marts materialised alone) cannot
    know what changed, so it rebuilds the incremental marts from scratch.
    """
    days = run_partition_days(dict(run_tags))
    if days is None:
        return ["--full-refresh"], window_env(None)
    return [], window_env(days)


defs = dg.Definitions(assets=[dbt_reference_seeds, dbt_daily_models, dbt_marts])
