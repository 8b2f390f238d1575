"""Validation rules, each defined once and used twice.

A rule yields (1) a SQL predicate over the typed batch that is true when a row
passes (NULL counts as pass except for required fields): the loader routes
rows failing any predicate to `raw.quarantine` on the hot path; and (2) a
Great Expectations expectation checking the same condition on the loaded
batch read into pandas (`validation.validate_loaded_batch`). Where GE has no
expectation over an expression (a sum of columns), the rule names a derived
column whose SQL both forms share.

Rules that depend on the clock (started_at range) are built per run from the
options and the run's `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestration.contract import (
    OPERATION_REQUIRED_FIELDS,
    OPERATIONS,
    REQUIRED_COLUMNS,
    SERVICE_TIERS,
    STATUSES,
    TOKEN_COLUMNS,
)
from orchestration.ingest.options import IngestOptions
from orchestration.ingest.sql_text import in_list

MAX_DURATION_MS = 24 * 3600 * 1000.0


@dataclass(frozen=True)
class Rule:
    name: str
    field: str
    expected: str  # completes "expected ..." in quarantine messages

    def passes_sql(self) -> str:
        raise NotImplementedError

    def got_sql(self) -> str:
        """What the row held, as text, for the quarantine message."""
        return f"coalesce({self.field}::VARCHAR, 'null')"

    def derived_columns(self) -> dict[str, str]:
        return {}

    def expectation(self):
        raise NotImplementedError

    def _meta(self) -> dict:
        return {"rule": self.name, "field": self.field}


@dataclass(frozen=True)
class Required(Rule):
    """Not null; with `operations`, only on the successful (status ok) rows of those operations.

    A failed call is required to carry nothing beyond the base fields
    (contract.OPERATION_REQUIRED_FIELDS).
    """

    operations: tuple[str, ...] = ()

    def passes_sql(self) -> str:
        if self.operations:
            applies = f"operation in {in_list(self.operations)} and status = 'ok'"
            return f"(not coalesce({applies}, false) or {self.field} is not null)"
        return f"({self.field} is not null)"

    def expectation(self):
        from great_expectations import expectations as gxe

        if self.operations:
            ops = ", ".join(f'"{o}"' for o in self.operations)
            condition = f'operation in [{ops}] and status == "ok"'
            return gxe.ExpectColumnValuesToNotBeNull(
                column=self.field, row_condition=condition, condition_parser="pandas", meta=self._meta()
            )
        return gxe.ExpectColumnValuesToNotBeNull(column=self.field, meta=self._meta())


@dataclass(frozen=True)
class RequiredWithUsage(Rule):
    """Not null on rows that carry token usage: usage without an operation cannot be told a call or not."""

    def passes_sql(self) -> str:
        return f"({self.field} is not null or (input_tokens is null and output_tokens is null))"

    def expectation(self):
        from great_expectations import expectations as gxe

        return gxe.ExpectColumnValuesToNotBeNull(
            column=self.field,
            row_condition="input_tokens.notnull() or output_tokens.notnull()",
            condition_parser="pandas",
            meta=self._meta(),
        )


@dataclass(frozen=True)
class InSet(Rule):
    values: tuple[str, ...] = ()

    def passes_sql(self) -> str:
        return f"({self.field} is null or {self.field} in {in_list(self.values)})"

    def expectation(self):
        from great_expectations import expectations as gxe

        return gxe.ExpectColumnValuesToBeInSet(column=self.field, value_set=list(self.values), meta=self._meta())


@dataclass(frozen=True)
class Between(Rule):
    low: object = None  # Python value (number or naive UTC datetime)
    high: object = None

    @staticmethod
    def _sql_value(value) -> str:
        if isinstance(value, datetime):
            return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
        return repr(float(value))

    def passes_sql(self) -> str:
        parts = [f"{self.field} is null"]
        bounds = []
        if self.low is not None:
            bounds.append(f"{self.field} >= {self._sql_value(self.low)}")
        if self.high is not None:
            bounds.append(f"{self.field} <= {self._sql_value(self.high)}")
        # NaN compares greater than every number in DuckDB, so it fails `<= high`.
        return "(" + parts[0] + " or (" + " and ".join(bounds) + "))"

    def expectation(self):
        from great_expectations import expectations as gxe

        return gxe.ExpectColumnValuesToBeBetween(
            column=self.field, min_value=self.low, max_value=self.high, meta=self._meta()
        )


@dataclass(frozen=True)
class SumNotAbove(Rule):
    """sum(parts) <= field, the parts' NULLs counting as 0; the field's NULL passes."""

    parts: tuple[str, ...] = ()
    derived_name: str = ""

    def _sum_sql(self) -> str:
        return " + ".join(f"coalesce({p}, 0)" for p in self.parts)

    def passes_sql(self) -> str:
        return f"({self.field} is null or ({self._sum_sql()}) <= {self.field})"

    def got_sql(self) -> str:
        return f"'{' + '.join(self.parts)} = ' || ({self._sum_sql()})::VARCHAR || ' > {self.field} = ' || {self.field}::VARCHAR"

    def derived_columns(self) -> dict[str, str]:
        return {self.derived_name: self._sum_sql()}

    def expectation(self):
        from great_expectations import expectations as gxe

        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=self.field,
            column_B=self.derived_name,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=self._meta(),
        )


@dataclass(frozen=True)
class Finite(Rule):
    """Not NaN and not infinite (DuckDB orders NaN above every number, so a
    lower bound alone lets it through)."""

    def passes_sql(self) -> str:
        return f"({self.field} is null or isfinite({self.field}))"

    def expectation(self):
        from great_expectations import expectations as gxe

        # pandas reads NaN as missing; infinities fall outside the double range.
        return gxe.ExpectColumnValuesToBeBetween(
            column=self.field, min_value=-1.7976931348623157e308, max_value=1.7976931348623157e308, meta=self._meta()
        )


def _numeric_rules() -> list[Rule]:
    """Every DOUBLE field finite and in range (counts are checked as whole decimal numbers when typed)."""
    return [
        Finite("finite_duration_ms", "duration_ms", "a finite number"),
        Finite("finite_time_to_first_token_ms", "time_to_first_token_ms", "a finite number"),
        Finite("finite_reported_cost_usd", "reported_cost_usd", "a finite number"),
        Between(
            "time_to_first_token_sane",
            "time_to_first_token_ms",
            "0 <= time_to_first_token_ms <= 86400000 (24 h)",
            low=0,
            high=MAX_DURATION_MS,
        ),
        Between("non_negative_reported_cost_usd", "reported_cost_usd", "a cost >= 0", low=0),
    ]


def build_rules(options: IngestOptions, now: datetime) -> list[Rule]:
    """All row rules, in the order their failures are reported."""
    rules: list[Rule] = [Required(f"required_{c}", c, "a value (the field is required)") for c in REQUIRED_COLUMNS]
    rules.append(
        RequiredWithUsage(
            "required_operation_with_usage",
            "operation",
            "a value when the span carries token counts (one of " + ", ".join(OPERATIONS) + ")",
        )
    )
    rules += [
        InSet("known_operation", "operation", "one of " + ", ".join(OPERATIONS), values=OPERATIONS),
        InSet("known_status", "status", "one of " + ", ".join(STATUSES), values=STATUSES),
        InSet(
            "known_service_tier",
            "service_tier",
            "one of " + ", ".join(SERVICE_TIERS) + " or null",
            values=SERVICE_TIERS,
        ),
    ]
    rules += [_required_for_operations(c) for c in ("provider", "request_model", "input_tokens", "output_tokens")]
    rules += [Between(f"non_negative_{c}", c, "a count >= 0", low=0) for c in TOKEN_COLUMNS]
    rules += [
        Between("non_negative_time_to_first_token_ms", "time_to_first_token_ms", "a duration >= 0", low=0),
        SumNotAbove(
            "cache_within_input",
            "input_tokens",
            "cache_read_tokens + cache_write_tokens <= input_tokens (input includes cached tokens)",
            parts=("cache_read_tokens", "cache_write_tokens"),
            derived_name="_cache_tokens",
        ),
        SumNotAbove(
            "reasoning_within_output",
            "output_tokens",
            "reasoning_tokens <= output_tokens (output includes reasoning tokens)",
            parts=("reasoning_tokens",),
            derived_name="_reasoning_tokens",
        ),
    ]
    earliest = now - timedelta(days=options.max_span_age_days)
    latest = now + timedelta(seconds=options.future_tolerance_seconds)
    rules += [
        Between(
            "started_at_in_range",
            "started_at",
            f"a start between {earliest:%Y-%m-%d %H:%M} and {latest:%Y-%m-%d %H:%M} UTC "
            f"(not older than {options.max_span_age_days} days, not in the future)",
            low=earliest.replace(microsecond=0),
            high=latest.replace(microsecond=0),
        ),
        Between("duration_sane", "duration_ms", "0 <= duration_ms <= 86400000 (24 h)", low=0, high=MAX_DURATION_MS),
    ]
    rules += _numeric_rules()
    return rules


def _required_for_operations(field: str) -> Required:
    """required_for_model_operation_<field>: from the contract's per-operation requirements.

    Required of successful calls only: a failed call that reported no usage
    is loaded as an error call (tokens null, cost 0), not quarantined.
    """
    operations = tuple(op for op, fields in OPERATION_REQUIRED_FIELDS.items() if field in fields)
    return Required(
        f"required_for_model_operation_{field}",
        field,
        "a value (required for successful " + ", ".join(operations) + " calls)",
        operations=operations,
    )


def started_at_range(rules: list[Rule]) -> tuple[datetime, datetime]:
    rule = next(r for r in rules if r.name == "started_at_in_range")
    assert isinstance(rule, Between)
    return rule.low, rule.high  # type: ignore[return-value]


def all_pass_sql(rules: list[Rule]) -> str:
    return " and ".join(f"coalesce({r.passes_sql()}, true)" for r in rules)


FAILURE_STRUCT = "STRUCT(rule VARCHAR, field VARCHAR, expected VARCHAR, got VARCHAR)"


def failures_sql(rules: list[Rule]) -> str:
    """SQL list of failure structs (rule, field, expected, got) for one row."""
    from orchestration.ingest.sql_text import lit

    items = [
        f"case when not coalesce({r.passes_sql()}, true) then "
        f"{{'rule': {lit(r.name)}, 'field': {lit(r.field)}, 'expected': {lit(r.expected)}, 'got': {r.got_sql()}}}::{FAILURE_STRUCT} end"
        for r in rules
    ]
    return f"list_filter([{', '.join(items)}], lambda x: x is not null)"
