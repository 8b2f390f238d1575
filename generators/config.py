"""What a generation run is asked for, and what it produced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FORMATS = ("parquet", "jsonl", "csv", "otlp")
# "standard": the demo's incidents (runaway loops, model switches, prompt
# blow-ups, cache regressions). "validation": a different mix the anomaly
# detector is never tuned on (generators/validation.py).
ANOMALY_MIXES = ("standard", "validation")
FILE_EXTENSIONS = {"parquet": "parquet", "jsonl": "jsonl", "csv": "csv", "otlp": "otlp.jsonl"}
MAX_DAYS = 3650


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of one synthetic run. Same values (and an explicit `start`) give byte-identical files.

    `start=None` means "the run ends yesterday, UTC", which is what demos want;
    it makes the output depend on the day it is generated.
    """

    calls: int = 300_000
    days: int = 90
    start: date | None = None
    seed: int = 7
    agents: int = 20
    error_rate: float = 0.05
    anomaly_mix: str = "standard"

    def __post_init__(self) -> None:
        if self.calls < 1:
            raise ValueError(f"calls={self.calls}: expected a positive number of LLM calls")
        if not 1 <= self.days <= MAX_DAYS:
            raise ValueError(f"days={self.days}: expected 1..{MAX_DAYS}")
        if not 1 <= self.agents <= 250:
            raise ValueError(f"agents={self.agents}: expected 1..250 (5-50 is the realistic range)")
        if not 0.0 <= self.error_rate <= 0.5:
            raise ValueError(f"error_rate={self.error_rate}: expected a share between 0 and 0.5")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed}: expected 0 <= seed < 2**32")
        if self.anomaly_mix not in ANOMALY_MIXES:
            raise ValueError(f"anomaly_mix={self.anomaly_mix!r}: expected one of {', '.join(ANOMALY_MIXES)}")

    @property
    def start_date(self) -> date:
        if self.start is not None:
            return self.start
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        return yesterday - timedelta(days=self.days - 1)

    @property
    def end_date(self) -> date:
        """Last generated day, inclusive."""
        return self.start_date + timedelta(days=self.days - 1)


# Named configurations (`python -m generators traces --preset NAME`). The
# anomaly detector's parameters are chosen on "tuning" (the validation mix on
# its own seed) and on "demo"; "validation" only ever scores them. The
# "-small" variants are the same mixes at a size the test suite can afford.
PRESETS: dict[str, GeneratorConfig] = {
    "demo": GeneratorConfig(),
    "tuning": GeneratorConfig(calls=420_000, days=120, seed=7, agents=35, anomaly_mix="validation"),
    "validation": GeneratorConfig(calls=420_000, days=120, seed=2718, agents=35, anomaly_mix="validation"),
    "tuning-small": GeneratorConfig(calls=140_000, days=120, seed=7, agents=35, anomaly_mix="validation"),
    "validation-small": GeneratorConfig(calls=140_000, days=120, seed=2718, agents=35, anomaly_mix="validation"),
}


@dataclass(frozen=True)
class GenerationResult:
    """Files a run wrote and the volumes in them."""

    files: tuple[Path, ...]
    format: str
    llm_calls: int
    spans: int
    traces: int
    days: int
    start_date: date
    end_date: date
    labels_path: Path
    outages_path: Path
    anomalies: int = 0
    # Files whose bytes changed (new or rewritten); the others were already identical and kept their mtime.
    files_written: tuple[Path, ...] = ()
    files_removed: tuple[Path, ...] = ()  # part files of an earlier run that this one no longer produces
