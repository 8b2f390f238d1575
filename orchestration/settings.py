"""The one configuration path: environment variables with documented defaults.

Every module reads settings through `load_settings()`; nothing else reads the
environment for AgentLedger's own options. Paths are derived from a single
data directory so that one variable moves everything a run writes.

| variable | default | meaning |
| --- | --- | --- |
| AGENTLEDGER_DATA_DIR | `<repo>/data` | landing folder, working DuckDB file, published outputs, Dagster home |
| AGENTLEDGER_WAREHOUSE | `<data>/warehouse.duckdb` | the working DuckDB file (dbt's profiles.yml reads the same variable) |
| AGENTLEDGER_USER_ID_SALT | `agentledger-default-salt` | salt for hashing `user_id` at ingestion; set your own secret in production |
| AGENTLEDGER_ALERT_WEBHOOK_URL | unset | Slack-compatible webhook for alerts; unset means alert records only |
| AGENTLEDGER_QUARANTINE_WARN_SHARE | `0.01` | share of quarantined rows in a load above which the ingestion check warns |
| AGENTLEDGER_QUARANTINE_ERROR_SHARE | `0.10` | share above which the ingestion check fails with severity error |
| AGENTLEDGER_PARTITIONS_START | `2025-01-01` | first day of the daily partitions (UTC) |
| AGENTLEDGER_SCHEDULE_CRON | `30 2 * * *` | when the nightly run starts (UTC) |
| AGENTLEDGER_FRESHNESS_HOURS | `36` | newest loaded span older than this fails the freshness check |
| AGENTLEDGER_DEMO_CALLS | `300000` | LLM calls in the demo's synthetic dataset |
| AGENTLEDGER_DEMO_DAYS | `90` | days of synthetic history, ending yesterday (UTC) |
| AGENTLEDGER_RECEIVER_TOKEN | unset | bearer token the OTLP/HTTP receiver requires; unset means none (it binds 127.0.0.1) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
REPORTS_DIR = REPO_ROOT / "reports"
SEEDS_DIR = REPO_ROOT / "seeds"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_path: Path
    user_id_salt: str
    alert_webhook_url: str | None
    quarantine_warn_share: float
    quarantine_error_share: float
    partitions_start: str
    schedule_cron: str
    freshness_hours: float
    demo_calls: int
    demo_days: int
    receiver_token: str | None = None

    @property
    def landing_dir(self) -> Path:
        """Where trace files are dropped (any depth below it)."""
        return self.data_dir / "landing"

    @property
    def published_dir(self) -> Path:
        """Read-only outputs for analysts and the report site."""
        return self.data_dir / "published"

    @property
    def published_warehouse_path(self) -> Path:
        return self.published_dir / "agentledger.duckdb"

    @property
    def ground_truth_dir(self) -> Path:
        """Labels of the anomalies the synthetic generator injected (outside landing)."""
        return self.data_dir / "ground_truth"

    @property
    def reference_dir(self) -> Path:
        """The user's reference files (budgets.csv, org_mapping.csv); see orchestration/reference.py."""
        return self.data_dir / "reference"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def logs_dir(self) -> Path:
        """One log file per command-line run (dbt, Dagster and report-build output)."""
        return self.data_dir / "logs"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt subprocesses: the same database file as Python uses."""
        return {
            "AGENTLEDGER_WAREHOUSE": str(self.warehouse_path),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number; expected e.g. {default}") from exc


def load_settings() -> Settings:
    """Read settings from the environment at call time (never at import time)."""
    data_dir = Path(os.environ.get("AGENTLEDGER_DATA_DIR") or REPO_ROOT / "data").resolve()
    warehouse = os.environ.get("AGENTLEDGER_WAREHOUSE")
    return Settings(
        data_dir=data_dir,
        warehouse_path=Path(warehouse).resolve() if warehouse else data_dir / "warehouse.duckdb",
        user_id_salt=os.environ.get("AGENTLEDGER_USER_ID_SALT", "agentledger-default-salt"),
        alert_webhook_url=os.environ.get("AGENTLEDGER_ALERT_WEBHOOK_URL") or None,
        quarantine_warn_share=_float_env("AGENTLEDGER_QUARANTINE_WARN_SHARE", 0.01),
        quarantine_error_share=_float_env("AGENTLEDGER_QUARANTINE_ERROR_SHARE", 0.10),
        partitions_start=os.environ.get("AGENTLEDGER_PARTITIONS_START", "2025-01-01"),
        schedule_cron=os.environ.get("AGENTLEDGER_SCHEDULE_CRON", "30 2 * * *"),
        freshness_hours=_float_env("AGENTLEDGER_FRESHNESS_HOURS", 36.0),
        demo_calls=int(_float_env("AGENTLEDGER_DEMO_CALLS", 300_000)),
        demo_days=int(_float_env("AGENTLEDGER_DEMO_DAYS", 90)),
        receiver_token=os.environ.get("AGENTLEDGER_RECEIVER_TOKEN") or None,
    )
