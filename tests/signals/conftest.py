"""The validation warehouse, built once per session for the tests that score on it.

generator preset `validation-small` (35 agents, 120 days, the validation
incident mix, its own seed) -> landing -> ingestion -> dbt seed + run (the
call-level fact and the signal inputs). Both the anomaly detector's and the
forecast's validation tests read it; nothing tunes on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest

VALIDATION_START = date(2026, 7, 27)


@dataclass(frozen=True)
class ValidationWarehouse:
    data_dir: Path
    warehouse: Path
    labels: Path


@pytest.fixture(scope="session")
def validation_warehouse(tmp_path_factory: pytest.TempPathFactory) -> ValidationWarehouse:
    from generators.config import PRESETS
    from generators.traces import generate_traces
    from orchestration.dbt_invocation import run_dbt
    from orchestration.ingest.loader import ingest_window
    from orchestration.settings import load_settings

    work = tmp_path_factory.mktemp("validation_small")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(work))
        mp.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
        settings = load_settings()
        labels = settings.ground_truth_dir / "anomalies.csv"
        generate_traces(
            replace(PRESETS["validation-small"], start=VALIDATION_START),
            settings.landing_dir,
            labels_path=labels,
            progress=False,
        )
        ingest_window(settings)
        run_dbt(["seed"], settings.warehouse_path, work)
        run_dbt(
            ["run", "--select", "+fct_llm_calls", "rpt_signal_agent_daily", "rpt_signal_agent_model_daily"],
            settings.warehouse_path,
            work,
        )
    return ValidationWarehouse(work, settings.warehouse_path, labels)
