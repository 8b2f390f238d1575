"""`make demo`: generate the synthetic dataset and run the whole pipeline through Dagster.

Runs are recorded in the Dagster instance under DAGSTER_HOME (the Makefile
points it at <data dir>/dagster_home), so `make dev` shows them afterwards.

The demo's budgets and org mapping (generators/demo_reference/, written for
the generator's workspaces, departments and agents) are installed into
`<data dir>/reference/` first; reference files already there are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

import dagster as dg
import duckdb

from generators import GeneratorConfig
from orchestration.defs.automation.definitions import range_tags
from orchestration.defs.generate.assets import demo_window
from orchestration.reference import DEMO_REFERENCE_DIR, REFERENCE_FILES, install_reference_files
from orchestration.run_range import CONSOLE_INFO, PID_TAG, announce_reclaimed_runs
from orchestration.settings import Settings, load_settings

DATASET_MARKER = "demo_dataset.json"


def _reset_if_dataset_changed(settings: Settings, window: dict[str, object]) -> None:
    """The demo's synthetic days move with the calendar; the working file is derived
    from the landing folder, so a new window starts it afresh rather than mixing two
    synthetic histories. The published copy stays until the new run replaces it."""
    marker = settings.data_dir / DATASET_MARKER
    previous = json.loads(marker.read_text()) if marker.exists() else None
    if previous is not None and previous != window and settings.warehouse_path.exists():
        print(f"Synthetic window changed ({previous} -> {window}): rebuilding {settings.warehouse_path.name}")
        settings.warehouse_path.unlink()
        shutil.rmtree(settings.landing_dir / "synthetic", ignore_errors=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(window))


def _summary(settings: Settings) -> str:
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        calls, cost, first, last = conn.execute(
            "select count(*), sum(total_cost_usd), min(call_date), max(call_date) from marts.fct_llm_calls"
        ).fetchone()
    finally:
        conn.close()
    return f"{calls:,} LLM calls from {first} to {last}, total cost ${cost:,.2f}"


def main() -> int:
    from orchestration.definitions import defs

    settings = load_settings()
    first, last = demo_window(settings.demo_days, None)
    _reset_if_dataset_changed(
        settings,
        {"first": first.isoformat(), "last": last.isoformat(), "calls": settings.demo_calls, "seed": GeneratorConfig.seed},
    )
    installed = install_reference_files(DEMO_REFERENCE_DIR, settings)
    kept = [name for name in REFERENCE_FILES if settings.reference_dir / name not in installed]
    if installed:
        print(f"Installed the demo's {', '.join(p.name for p in installed)} into {settings.reference_dir}")
    if kept:
        print(f"Kept the existing {', '.join(kept)} in {settings.reference_dir}")
    instance = dg.DagsterInstance.get()
    announce_reclaimed_runs(instance)
    started = time.monotonic()

    print(f"[1/2] Generating {settings.demo_calls:,} synthetic LLM calls for {first}..{last}")
    generate = defs.resolve_job_def("generate_demo_data").execute_in_process(
        instance=instance, run_config=CONSOLE_INFO, raise_on_error=False
    )
    if not generate.success:
        print("Generating the synthetic dataset failed; see the run in the Dagster UI (make dev).", file=sys.stderr)
        return 1

    print("[2/2] Running the pipeline: ingest, dbt, forecasts and signals, publish, report site")
    run = defs.resolve_job_def("agentledger_pipeline").execute_in_process(
        instance=instance,
        run_config=CONSOLE_INFO,
        tags={**range_tags(first, last), PID_TAG: str(os.getpid())},
        raise_on_error=False,
    )
    if not run.success:
        print(f"The pipeline run {run.run_id} failed; see it in the Dagster UI (make dev).", file=sys.stderr)
        return 1

    elapsed = time.monotonic() - started
    print(
        f"\nDone in {elapsed:.0f}s: {_summary(settings)}\n"
        f"  working warehouse : {settings.warehouse_path}\n"
        f"  published marts   : {settings.published_warehouse_path} (read-only copy for analysts)\n"
        f"  report site       : {settings.published_dir / 'site'}  ->  make serve-report  (http://127.0.0.1:3001)\n"
        f"  Dagster UI        : make dev  (http://127.0.0.1:3000, run {run.run_id[:8]})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
