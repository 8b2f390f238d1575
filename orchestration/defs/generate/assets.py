"""The synthetic dataset for demos and tests, as an asset.

It writes trace files into the landing folder exactly as a user would drop
them, so everything downstream runs the same path as real data.
"""

import shutil

import dagster as dg

from orchestration.demo_rerun import SYNTHETIC_SUBDIR, demo_window
from orchestration.reference import DEMO_REFERENCE_DIR, install_reference_files
from orchestration.resources import WarehouseResource
from orchestration.table_metadata import ROW_COUNT_KEY


class SyntheticTracesConfig(dg.Config):
    calls: int | None = None  # default: AGENTLEDGER_DEMO_CALLS
    days: int | None = None  # default: AGENTLEDGER_DEMO_DAYS
    end_date: str | None = None  # last day, inclusive (YYYY-MM-DD); default: yesterday UTC
    seed: int | None = None  # default: the generator's own, on which docs/signals.md was measured
    file_format: str = "parquet"  # parquet, jsonl, csv or otlp


@dg.asset(
    key=dg.AssetKey(["landing", "synthetic_traces"]),
    group_name="ingest",
    kinds={"python", "parquet"},
    owners=["team:data-platform"],
    description=(
        "Deterministic synthetic agent traces (with labelled anomalies) written to "
        "<data dir>/landing/synthetic/, for demos and tests, with the demo's budgets and org mapping "
        "in <data dir>/reference/ when none are there. Real deployments drop their own files in the "
        "landing folder instead."
    ),
)
def synthetic_traces(
    context: dg.AssetExecutionContext, config: SyntheticTracesConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    # The generator (and pandas) load only in the run that generates.
    from generators import GeneratorConfig, generate_traces

    settings = warehouse.settings()
    days = config.days or settings.demo_days
    start, end = demo_window(days, config.end_date)
    out_dir = settings.landing_dir / SYNTHETIC_SUBDIR
    # A regenerated dataset replaces the previous one: another format's files go,
    # and the generator rewrites only the files whose bytes change (identical
    # arguments give byte-identical files, left untouched, which the loader skips).
    if out_dir.exists():
        for other in out_dir.iterdir():
            if other.name != config.file_format:
                shutil.rmtree(other) if other.is_dir() else other.unlink()
    result = generate_traces(
        GeneratorConfig(
            calls=config.calls or settings.demo_calls,
            days=days,
            start=start,
            seed=GeneratorConfig.seed if config.seed is None else config.seed,
        ),
        out_dir,
        fmt=config.file_format,
        labels_path=settings.ground_truth_dir / "anomalies.csv",
    )
    # The synthetic workspaces, departments and agents have their own budgets and owners.
    installed = install_reference_files(DEMO_REFERENCE_DIR, settings)
    context.log.info(
        f"Generated {result.llm_calls:,} LLM calls ({result.spans:,} spans) for {start}..{end} in {out_dir}: "
        f"{len(result.files_written)} of {len(result.files)} files written, the rest unchanged"
        + (f", {len(result.files_removed)} stale removed" if result.files_removed else "")
    )
    return dg.MaterializeResult(
        metadata={
            # The rows written to the landing files: one per span.
            ROW_COUNT_KEY: result.spans,
            "llm_calls": result.llm_calls,
            "spans": result.spans,
            "first_day": start.isoformat(),
            "last_day": end.isoformat(),
            "files": len(result.files),
            "files_written": len(result.files_written),
            "landing_dir": dg.MetadataValue.path(str(out_dir)),
            "labels": dg.MetadataValue.path(str(result.labels_path)),
            "reference_files_installed": ", ".join(p.name for p in installed) or "none (kept existing)",
        }
    )


defs = dg.Definitions(assets=[synthetic_traces])
