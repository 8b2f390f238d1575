"""The loaded batch checked by Great Expectations with the loader's own rules.

The same `rules.build_rules()` that route rows to quarantine become an
expectation suite here, validated on raw.trace_spans rows of a window read
into pandas (GX cannot validate DuckDB through SQLAlchemy, see STACK.md). It
is a second line of defence for rows written by anything other than the
loader, and for the clock-relative rules after time has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import duckdb

from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS
from orchestration.ingest.options import load_ingest_options
from orchestration.ingest.rules import Rule, build_rules
from orchestration.settings import Settings

if TYPE_CHECKING:  # pandas loads with Great Expectations, in the step that validates
    import pandas as pd


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str
    field: str
    expectation: str
    success: bool
    unexpected_count: int
    element_count: int


@dataclass
class ValidationReport:
    success: bool
    rows_in_batch: int
    rows_validated: int
    sampled: bool
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    note: str = ""

    @property
    def unexpected_counts(self) -> dict[str, int]:
        """Rule name -> rows failing it (in the validated rows)."""
        return {o.rule: o.unexpected_count for o in self.outcomes}

    @property
    def failed_rules(self) -> list[str]:
        return [o.rule for o in self.outcomes if not o.success]


def _frame_with_derived(con: duckdb.DuckDBPyConnection, relation: str, rules: list[Rule]) -> pd.DataFrame:
    derived = {name: sql for r in rules for name, sql in r.derived_columns().items()}
    extra = "".join(f", {sql} as {name}" for name, sql in derived.items())
    return con.execute(f"select {', '.join(TRACE_COLUMNS)}{extra} from {relation}").df()


def validate_frame(frame: pd.DataFrame, rules: list[Rule] | None = None) -> list[ExpectationOutcome]:
    """Run the rules' expectation suite on a DataFrame holding contract columns (and derived ones)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    rules = rules if rules is not None else build_rules(load_ingest_options(), _now())
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("raw_trace_spans")
        .add_dataframe_asset("loaded_batch")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="raw_trace_spans_rules"))
    for rule in rules:
        suite.add_expectation(rule.expectation())
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="raw_trace_spans_batch", data=batch_definition, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    outcomes = []
    for r in result.results:
        meta = r.expectation_config.meta or {}
        outcomes.append(
            ExpectationOutcome(
                rule=meta.get("rule", r.expectation_config.type),
                field=meta.get("field", ""),
                expectation=r.expectation_config.type,
                success=bool(r.success),
                unexpected_count=int(r.result.get("unexpected_count") or 0),
                element_count=int(r.result.get("element_count") or len(frame)),
            )
        )
    return outcomes


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def validate_loaded_batch(settings: Settings, start: date | None, end: date | None) -> ValidationReport:
    """Validate raw.trace_spans rows whose started_at day is in [start, end].

    Batches above AGENTLEDGER_VALIDATION_SAMPLE_ROWS are validated on a
    reproducible reservoir sample of that many rows; `sampled` and `note`
    say so, and unexpected counts then refer to the sample.
    """
    options = load_ingest_options()
    rules = build_rules(options, _now())
    where = ["true"]
    if start is not None:
        where.append(f"started_at >= DATE '{start.isoformat()}'")
    if end is not None:
        where.append(f"started_at < DATE '{end.isoformat()}' + INTERVAL 1 DAY")
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        relation = f"(select * from {RAW_SPANS_TABLE} where {' and '.join(where)})"
        total = con.execute(f"select count(*) from {relation}").fetchone()[0]
        limit = options.validation_sample_rows
        sampled = total > limit
        if sampled:
            relation = f"(select * from {relation} using sample reservoir({limit} rows) repeatable (42))"
        frame = _frame_with_derived(con, relation, rules)
    finally:
        con.close()
    outcomes = validate_frame(frame, rules) if len(frame) else []
    note = (
        f"validated a reproducible sample of {len(frame)} of {total} rows" if sampled else f"validated all {total} rows"
    )
    return ValidationReport(
        success=all(o.success for o in outcomes),
        rows_in_batch=total,
        rows_validated=len(frame),
        sampled=sampled,
        outcomes=outcomes,
        note=note,
    )
