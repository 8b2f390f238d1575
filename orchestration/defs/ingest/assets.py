"""Landing folder -> raw layer, one day partition (or a range of them) per run."""

import datetime as dt

import dagster as dg
import duckdb

from orchestration.ingest import ingest_window, validate_loaded_batch
from orchestration.ingest.lake import export_raw_days, raw_spans_dir
from orchestration.partitions import DUCKDB_WRITER_POOL, daily_partitions
from orchestration.resources import WarehouseResource
from orchestration.run_tags import coverage_tags, files_of_last_load
from orchestration.table_metadata import asset_table_metadata

RAW_SPANS = dg.AssetKey(["raw", "trace_spans"])
QUARANTINE_CHECK = "quarantine_share"
CONTRACT_CHECK = "contract_expectations"


class IngestConfig(dg.Config):
    force: bool = False  # reprocess files already loaded for these days (still idempotent)


@dg.asset(
    key=RAW_SPANS,
    group_name="ingest",
    kinds={"duckdb", "python"},
    owners=["team:data-platform"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_WRITER_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    check_specs=[
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=RAW_SPANS,
            description="Share of rows quarantined in this load is under the configured thresholds.",
        ),
        dg.AssetCheckSpec(
            CONTRACT_CHECK,
            asset=RAW_SPANS,
            description="Great Expectations suite of the trace contract on the loaded days.",
        ),
    ],
    description=(
        "Trace spans from every file under <data dir>/landing (canonical Parquet/JSONL/CSV and "
        "OpenTelemetry OTLP JSON), validated against the trace contract: failing rows go to "
        "raw.quarantine with a reason, every file is counted in raw.ingestion_ledger, spans are "
        "deduplicated on span_id and user ids hashed."
    ),
)
def raw_trace_spans(context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource):
    settings = warehouse.settings()
    window = context.partition_time_window
    first, last = window.start.date(), (window.end - dt.timedelta(days=1)).date()
    summary = ingest_window(settings, first, last, force=config.force)
    if settings.is_spark:
        # the Spark engine reads the validated spans as day-partitioned Parquet
        exported = export_raw_days(settings, first, last)
        context.log.info(f"{len(exported)} days written to {raw_spans_dir(settings)}")
    context.log.info(
        f"{first}..{last}: {summary.rows_read:,} rows read, {summary.rows_loaded:,} loaded, "
        f"{summary.rows_quarantined:,} quarantined, {summary.duplicates_skipped:,} duplicates skipped "
        f"({summary.files_seen} files, {summary.files_skipped_unchanged} unchanged)"
    )
    with warehouse.connect(read_only=True) as con:
        table = asset_table_metadata(con, RAW_SPANS)
        read_files = files_of_last_load(con, first, last) if summary.files_loaded + summary.files_quarantined else []
    # The run's days and files, in the run list and on the run page (orchestration/run_tags.py).
    context.instance.add_run_tags(context.run_id, coverage_tags(first, last, read_files))
    yield dg.MaterializeResult(
        metadata={
            **table,
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "files_seen": summary.files_seen,
            "files_loaded": summary.files_loaded,
            "files_skipped_unchanged": summary.files_skipped_unchanged,
            "files_quarantined": summary.files_quarantined,
            "rows_read": summary.rows_read,
            "rows_loaded": summary.rows_loaded,
            "rows_quarantined": summary.rows_quarantined,
            "duplicates_skipped": summary.duplicates_skipped,
            "bad_share": dg.MetadataValue.float(summary.bad_share),
        }
    )

    share = summary.bad_share
    if share > settings.quarantine_error_share:
        severity, passed = dg.AssetCheckSeverity.ERROR, False
    elif share > settings.quarantine_warn_share:
        severity, passed = dg.AssetCheckSeverity.WARN, False
    else:
        severity, passed = dg.AssetCheckSeverity.WARN, True
    yield dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        passed=passed,
        severity=severity,
        metadata={
            "rows_read": summary.rows_read,
            "rows_quarantined": summary.rows_quarantined,
            "files_quarantined": summary.files_quarantined,
            "bad_share": dg.MetadataValue.float(share),
            "warn_above": settings.quarantine_warn_share,
            "error_above": settings.quarantine_error_share,
        },
    )

    report = validate_loaded_batch(settings, first, last)
    yield dg.AssetCheckResult(
        check_name=CONTRACT_CHECK,
        passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_in_batch": report.rows_in_batch,
            "rows_validated": report.rows_validated,
            "sampled": report.sampled,
            "failed_expectations": ", ".join(report.failed_rules) or "none",
            "unexpected_counts": dg.MetadataValue.json(report.unexpected_counts),
            "note": report.note,
        },
    )


@dg.asset_check(
    asset=RAW_SPANS,
    name="freshness",
    description="The newest loaded span is more recent than AGENTLEDGER_FRESHNESS_HOURS.",
)
def raw_spans_freshness(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings()
    if not settings.warehouse_path.exists():
        return dg.AssetCheckResult(passed=False, metadata={"reason": "no warehouse yet"})
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        newest = conn.execute("select max(started_at) from raw.trace_spans").fetchone()[0]
    except duckdb.CatalogException:
        newest = None
    finally:
        conn.close()
    if newest is None:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "raw.trace_spans is empty"})
    age_hours = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - newest).total_seconds() / 3600
    return dg.AssetCheckResult(
        passed=age_hours <= settings.freshness_hours,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "newest_span_utc": newest.isoformat(),
            "age_hours": dg.MetadataValue.float(round(age_hours, 2)),
            "max_age_hours": settings.freshness_hours,
        },
    )


defs = dg.Definitions(assets=[raw_trace_spans], asset_checks=[raw_spans_freshness])
