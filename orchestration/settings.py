"""The one configuration path: environment variables with documented defaults.

Every module reads settings through `load_settings()` (and the loader its
tuning through `load_ingest_settings()`); nothing else reads the environment
for AgentLedger's own options. Paths are derived from a single data directory
so that one variable moves everything a run writes.

| variable | default | meaning |
| --- | --- | --- |
| AGENTLEDGER_DATA_DIR | `<repo>/data` | landing folder, working DuckDB file, published outputs, Dagster home |
| AGENTLEDGER_WAREHOUSE | `<data>/warehouse.duckdb` | the working DuckDB file (dbt's profiles.yml reads the same variable) |
| AGENTLEDGER_USER_ID_SALT | `agentledger-default-salt` | salt for hashing `user_id` at ingestion; set your own secret in production |
| AGENTLEDGER_ALERT_WEBHOOK_URL | unset | Slack-compatible webhook for alerts; unset means alert records only |
| AGENTLEDGER_QUARANTINE_WARN_SHARE | `0.01` | share of quarantined rows in a load above which the ingestion check warns |
| AGENTLEDGER_QUARANTINE_ERROR_SHARE | `0.10` | share above which the ingestion check fails with severity error |
| AGENTLEDGER_PARTITIONS_START | unset: the earliest landed day | first day of the daily partitions (UTC); unset, the earliest call in the published copy, or before any publish the earliest day the loader accepts (AGENTLEDGER_MAX_SPAN_AGE_DAYS ago) |
| AGENTLEDGER_LANDING_TICK_SECONDS | `5` | how often the landing and report-site sensors look (5 s is the Dagster daemon's own sensor loop, so a lower value changes nothing); a file is still when two looks agree |
| AGENTLEDGER_SCHEDULE_CRON | `30 2 * * *` | when the nightly run starts (UTC) |
| AGENTLEDGER_FRESHNESS_HOURS | `36` | newest loaded span older than this fails the freshness check |
| AGENTLEDGER_DEMO_CALLS | `300000` | LLM calls in the demo's synthetic dataset |
| AGENTLEDGER_DEMO_DAYS | `90` | days of synthetic history, ending yesterday (UTC) |
| AGENTLEDGER_RECEIVER_TOKEN | unset | bearer token the OTLP/HTTP receiver requires; unset means none (it binds 127.0.0.1) |
| AGENTLEDGER_ENGINE | `duckdb` | the engine dbt builds on: `duckdb`, or `spark` (a local Spark session; `spark_thrift`/`spark_http` for a cluster; docs/engines.md) |
| AGENTLEDGER_SPARK_DIR | `<data>/spark` | the Spark engine's lake: raw Parquet (`raw/trace_spans/date=.../`), the Hive warehouse and its metastore |
| AGENTLEDGER_CHROMIUM | `/usr/bin/chromium` | the Chromium executable for the report checks, screenshots and PDFs |

The loader's own variables (`load_ingest_settings()`; their meaning and
rules in docs/ingestion.md):

| variable | default | meaning |
| --- | --- | --- |
| AGENTLEDGER_ATTRIBUTE_MAPPING | unset (built-in defaults) | path of a YAML or JSON file overriding which OTLP attributes fill workspace_id, department, environment, user_id, ... and which sources report input tokens without cache |
| AGENTLEDGER_MAX_SPAN_AGE_DAYS | `1826` (5 years) | spans that started longer ago are quarantined as absurdly old |
| AGENTLEDGER_FUTURE_TOLERANCE_SECONDS | `300` | spans that start later than now plus this are quarantined (clock skew allowance) |
| AGENTLEDGER_INGEST_MEMORY_LIMIT | `3GB` | DuckDB memory limit for a load; larger batches spill to disk |
| AGENTLEDGER_VALIDATION_SAMPLE_ROWS | `200000` | loaded batches larger than this are validated on a reproducible sample |
| AGENTLEDGER_INGEST_THREADS | `2` | DuckDB threads of a load (the machine it was sized for has two cores) |
| AGENTLEDGER_INGEST_MAX_LINE_BYTES | `134217728` (128 MiB) | `line_too_long`: the line is quarantined, the rest of the file loads |
| AGENTLEDGER_INGEST_MAX_HEADER_BYTES | `131072` (128 KiB) | `header_too_long`: a CSV whose header line is longer is quarantined whole |
| AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES | `17179869184` (16 GiB) | `decompressed_too_large`: a file (after gunzip) larger than this is quarantined whole |
| AGENTLEDGER_INGEST_MAX_JSON_DEPTH | `64` | `json_too_deep`: a `tags` value nested deeper; Python never parses file JSON deeper than this |
| AGENTLEDGER_INGEST_ALLOW_SYMLINKS | `false` | `symlink_outside_landing`: a symlink leading outside the landing folder is quarantined unless `true` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
REPORTS_DIR = REPO_ROOT / "reports"
SEEDS_DIR = REPO_ROOT / "seeds"
# The engines dbt can build on (profiles.yml has one target each).
SPARK_ENGINES = ("spark", "spark_thrift", "spark_http")
ENGINES = ("duckdb", *SPARK_ENGINES)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_path: Path
    user_id_salt: str
    alert_webhook_url: str | None
    quarantine_warn_share: float
    quarantine_error_share: float
    partitions_start: str | None  # None: from the earliest landed data (orchestration/partitions.py)
    schedule_cron: str
    freshness_hours: float
    demo_calls: int
    demo_days: int
    chromium_path: Path | None = None  # None: the Debian package's path (orchestration/publish/browser.py)
    receiver_token: str | None = None
    landing_tick_seconds: int = 5
    engine: str = "duckdb"
    spark_dir: Path | None = None  # None: <data>/spark

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

    @property
    def spark_lake_dir(self) -> Path:
        """The Spark engine's files: raw Parquet, the Hive warehouse, the Derby metastore."""
        return self.spark_dir or self.data_dir / "spark"

    @property
    def is_spark(self) -> bool:
        return self.engine in SPARK_ENGINES

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt subprocesses: the same database file (or Spark lake) as Python uses,
        and the engine that picks the profile's target."""
        return {
            "AGENTLEDGER_WAREHOUSE": str(self.warehouse_path),
            "AGENTLEDGER_ENGINE": self.engine,
            "AGENTLEDGER_SPARK_DIR": str(self.spark_lake_dir),
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


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer; expected e.g. {default}") from exc


def _engine_env() -> str:
    engine = (os.environ.get("AGENTLEDGER_ENGINE") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise ValueError(
            f"AGENTLEDGER_ENGINE={engine!r} is not an engine; use one of {', '.join(ENGINES)} (default duckdb)"
        )
    return engine


def load_settings() -> Settings:
    """Read settings from the environment at call time (never at import time)."""
    data_dir = Path(os.environ.get("AGENTLEDGER_DATA_DIR") or REPO_ROOT / "data").resolve()
    spark_dir = os.environ.get("AGENTLEDGER_SPARK_DIR")
    warehouse = os.environ.get("AGENTLEDGER_WAREHOUSE")
    return Settings(
        data_dir=data_dir,
        warehouse_path=Path(warehouse).resolve() if warehouse else data_dir / "warehouse.duckdb",
        user_id_salt=os.environ.get("AGENTLEDGER_USER_ID_SALT", "agentledger-default-salt"),
        alert_webhook_url=os.environ.get("AGENTLEDGER_ALERT_WEBHOOK_URL") or None,
        quarantine_warn_share=_float_env("AGENTLEDGER_QUARANTINE_WARN_SHARE", 0.01),
        quarantine_error_share=_float_env("AGENTLEDGER_QUARANTINE_ERROR_SHARE", 0.10),
        partitions_start=os.environ.get("AGENTLEDGER_PARTITIONS_START") or None,
        schedule_cron=os.environ.get("AGENTLEDGER_SCHEDULE_CRON", "30 2 * * *"),
        freshness_hours=_float_env("AGENTLEDGER_FRESHNESS_HOURS", 36.0),
        demo_calls=int(_float_env("AGENTLEDGER_DEMO_CALLS", 300_000)),
        demo_days=int(_float_env("AGENTLEDGER_DEMO_DAYS", 90)),
        chromium_path=Path(chromium) if (chromium := os.environ.get("AGENTLEDGER_CHROMIUM")) else None,
        receiver_token=os.environ.get("AGENTLEDGER_RECEIVER_TOKEN") or None,
        landing_tick_seconds=max(1, _int_env("AGENTLEDGER_LANDING_TICK_SECONDS", 5)),
        engine=_engine_env(),
        spark_dir=Path(spark_dir).resolve() if spark_dir else None,
    )


@dataclass(frozen=True)
class IngestSettings:
    """The loader's variables as set (limits not yet clamped; orchestration/ingest/options.py builds its options from them)."""

    attribute_mapping_path: Path | None
    max_span_age_days: int
    future_tolerance_seconds: int
    memory_limit: str
    validation_sample_rows: int
    threads: int
    max_line_bytes: int
    max_header_bytes: int
    max_decompressed_bytes: int
    max_json_depth: int
    allow_symlinks: bool


def load_ingest_settings() -> IngestSettings:
    """Read the loader's variables at call time (never at import time); a bad value names its variable."""
    allow = (os.environ.get("AGENTLEDGER_INGEST_ALLOW_SYMLINKS") or "").strip().lower()
    if allow not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"AGENTLEDGER_INGEST_ALLOW_SYMLINKS={allow!r}; expected true or false")
    mapping_path = os.environ.get("AGENTLEDGER_ATTRIBUTE_MAPPING")
    return IngestSettings(
        attribute_mapping_path=Path(mapping_path).expanduser().resolve() if mapping_path else None,
        max_span_age_days=_int_env("AGENTLEDGER_MAX_SPAN_AGE_DAYS", 1826),
        future_tolerance_seconds=_int_env("AGENTLEDGER_FUTURE_TOLERANCE_SECONDS", 300),
        memory_limit=os.environ.get("AGENTLEDGER_INGEST_MEMORY_LIMIT") or "3GB",
        validation_sample_rows=_int_env("AGENTLEDGER_VALIDATION_SAMPLE_ROWS", 200_000),
        threads=_int_env("AGENTLEDGER_INGEST_THREADS", 2),
        max_line_bytes=_int_env("AGENTLEDGER_INGEST_MAX_LINE_BYTES", 128 * 1024 * 1024),
        max_header_bytes=_int_env("AGENTLEDGER_INGEST_MAX_HEADER_BYTES", 128 * 1024),
        max_decompressed_bytes=_int_env("AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES", 16 * 1024**3),
        max_json_depth=_int_env("AGENTLEDGER_INGEST_MAX_JSON_DEPTH", 64),
        allow_symlinks=allow in ("1", "true", "yes"),
    )
