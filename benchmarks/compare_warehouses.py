"""Are two warehouses equal, table by table? Evidence that a restructuring changed no number.

Usage:
    python -m benchmarks.compare_warehouses BEFORE.duckdb AFTER.duckdb
        [--map marts.old_name=marts.new_name ...] [--schema marts --schema signals]
        [--published BEFORE_PUBLISHED.duckdb AFTER_PUBLISHED.duckdb] [--keep-run-times]
        [--significant-digits N] [--ignore-column signals.recommendations.evidence ...]

For every table of the compared schemas (default `marts` and `signals`) in
either file, compares the two row sets with EXCEPT ALL in both directions on
the columns both sides have, so duplicates count and row order does not.
A table renamed between the two is compared under its new name through
`--map` (schema-qualified or bare names; a bare name keeps its schema).
Prints one line per table, `equal` or the rows found on one side only (with a
few examples), and exits 1 on any difference, including a table missing from
AFTER. Tables only in AFTER are listed as new; columns only on one side are
listed and left out of the comparison.

The signal tables stamp each row with the time of the run that wrote it
(`trained_at`, `generated_at`, ...): two runs never agree on those, so in the
`signals` schema they are left out unless `--keep-run-times` is given.

Floating-point sums depend on the order rows are added in, and a parallel
GROUP BY returns its rows in no fixed order, so two runs of the same code may
differ in the last bits of a DOUBLE (and Prophet's optimiser amplifies that to
about 1e-10). Exact comparison is the default; `--significant-digits N`
compares DOUBLE columns rounded to N significant digits instead, and says so.
`--ignore-column` leaves out a column whose text embeds such doubles (the
recommendations' JSON evidence), also said in the output.

Both files are attached read-only; nothing is written to either.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

DEFAULT_SCHEMAS = ("marts", "signals")
RUN_TIME_COLUMNS = frozenset(
    {"trained_at", "evaluated_at", "checked_at", "generated_at", "created_at", "attempted_at", "delivered_at"}
)
RUN_TIME_SCHEMA = "signals"
EXAMPLE_ROWS = 3


@dataclass(frozen=True)
class TableResult:
    before: str
    after: str
    status: str  # equal | different | missing | new
    only_before: int = 0
    only_after: int = 0
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("different", "missing")


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`old=new` pairs to {schema.old: schema.new}; a bare name on either side means the old table's schema."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        if pair.count("=") != 1:
            raise SystemExit(f"--map {pair!r}: expected OLD=NEW, e.g. marts.rpt_cost_by_day=marts.rpt_cost_daily")
        old, new = (part.strip() for part in pair.split("="))
        if "." not in old:
            raise SystemExit(f"--map {pair!r}: name the old table with its schema, e.g. marts.{old}")
        if "." not in new:
            new = f"{old.split('.', 1)[0]}.{new}"
        mapping[old] = new
    return mapping


def tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in (select unnest(?)) order by 1",
        [catalog, list(schemas)],
    ).fetchall()
    return [r[0] for r in rows]


def columns(con: duckdb.DuckDBPyConnection, catalog: str, qualified: str) -> dict[str, str]:
    """Column name -> data type, in table order."""
    schema, name = qualified.split(".", 1)
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, name],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def compared_expression(column: str, data_type: str, significant_digits: int | None) -> str:
    """The column as compared: DOUBLE/FLOAT rounded to `significant_digits` when given."""
    q = quote(column)
    if significant_digits is None or data_type.upper() not in ("DOUBLE", "FLOAT", "REAL"):
        return q
    return (
        f"case when {q} is null or {q} = 0 or isinf({q}) or isnan({q}) then {q} "
        f"else round({q}, {significant_digits - 1} - cast(floor(log10(abs({q}))) as integer)) end as {q}"
    )


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def relation(catalog: str, qualified: str) -> str:
    schema, name = qualified.split(".", 1)
    return f"{quote(catalog)}.{quote(schema)}.{quote(name)}"


def compare_table(
    con: duckdb.DuckDBPyConnection,
    before: str,
    after: str,
    keep_run_times: bool,
    significant_digits: int | None = None,
    ignored: frozenset[str] = frozenset(),
) -> TableResult:
    before_columns = columns(con, "before", before)
    after_columns = columns(con, "after", after)
    common = [c for c in before_columns if c in after_columns]
    skipped: list[str] = []
    if not keep_run_times and before.split(".", 1)[0] == RUN_TIME_SCHEMA:
        skipped = [c for c in common if c in RUN_TIME_COLUMNS]
        common = [c for c in common if c not in RUN_TIME_COLUMNS]
    left_out = [c for c in common if f"{before}.{c}" in ignored]
    common = [c for c in common if c not in left_out]
    notes = []
    if skipped:
        notes.append(f"run-time columns left out: {', '.join(skipped)}")
    if left_out:
        notes.append(f"columns left out (--ignore-column): {', '.join(left_out)}")
    rounded = [c for c in common if compared_expression(c, before_columns[c], significant_digits) != quote(c)]
    if rounded:
        notes.append(f"doubles to {significant_digits} significant digits: {', '.join(rounded)}")
    only_b = [c for c in before_columns if c not in after_columns]
    only_a = [c for c in after_columns if c not in before_columns]
    if only_b:
        notes.append(f"columns only before: {', '.join(only_b)}")
    if only_a:
        notes.append(f"columns only after: {', '.join(only_a)}")
    if not common:
        return TableResult(before, after, "different", detail="; ".join(notes + ["no column in common"]))
    select = ", ".join(compared_expression(c, before_columns[c], significant_digits) for c in common)
    b, a = relation("before", before), relation("after", after)
    left = f"select {select} from {b} except all select {select} from {a}"
    right = f"select {select} from {a} except all select {select} from {b}"
    only_before = con.execute(f"select count(*) from ({left})").fetchone()[0]
    only_after = con.execute(f"select count(*) from ({right})").fetchone()[0]
    if only_before or only_after:
        for label, query, count in (("before", left, only_before), ("after", right, only_after)):
            if count:
                examples = con.execute(f"{query} limit {EXAMPLE_ROWS}").fetchall()
                notes.append(f"e.g. only {label}: " + " | ".join(str(dict(zip(common, row))) for row in examples))
        return TableResult(before, after, "different", only_before, only_after, "; ".join(notes))
    rows = con.execute(f"select count(*) from {b}").fetchone()[0]
    return TableResult(before, after, "equal", detail="; ".join([f"{rows} rows"] + notes))


def compare_files(
    before_path: Path,
    after_path: Path,
    schemas: tuple[str, ...],
    mapping: dict[str, str],
    keep_run_times: bool,
    significant_digits: int | None = None,
    ignored: frozenset[str] = frozenset(),
) -> list[TableResult]:
    for path in (before_path, after_path):
        if not path.is_file():
            raise SystemExit(f"{path}: no such DuckDB file")
    con = duckdb.connect()
    try:
        con.execute(f"attach '{before_path}' as before (read_only)")
        con.execute(f"attach '{after_path}' as after (read_only)")
        before_tables = tables(con, "before", schemas)
        after_tables = set(tables(con, "after", schemas + tuple(n.split(".", 1)[0] for n in mapping.values())))
        results: list[TableResult] = []
        matched: set[str] = set()
        for table in before_tables:
            target = mapping.get(table, table)
            if target not in after_tables:
                results.append(
                    TableResult(table, target, "missing", detail="not in AFTER (give --map OLD=NEW if renamed)")
                )
                continue
            matched.add(target)
            results.append(compare_table(con, table, target, keep_run_times, significant_digits, ignored))
        for table in sorted(after_tables - matched):
            if table.split(".", 1)[0] in schemas:
                results.append(TableResult("", table, "new", detail="only in AFTER"))
        return results
    finally:
        con.close()


def report(title: str, results: list[TableResult]) -> None:
    print(f"== {title}")
    for r in results:
        name = r.before if r.before == r.after or not r.before else f"{r.before} -> {r.after}"
        name = name or r.after
        counts = f" ({r.only_before} rows only before, {r.only_after} only after)" if r.status == "different" else ""
        print(f"{r.status:9} {name}{counts}" + (f"  [{r.detail}]" if r.detail else ""))
    failed = sum(r.failed for r in results)
    equal = sum(r.status == "equal" for r in results)
    print(f"-- {equal} equal, {failed} different or missing, {sum(r.status == 'new' for r in results)} new")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="a table renamed between BEFORE and AFTER, e.g. marts.rpt_cost_by_day=marts.rpt_cost_daily",
    )
    parser.add_argument(
        "--schema",
        action="append",
        dest="schemas",
        metavar="SCHEMA",
        help=f"schema to compare (repeatable; default: {', '.join(DEFAULT_SCHEMAS)})",
    )
    parser.add_argument(
        "--published",
        nargs=2,
        type=Path,
        metavar=("BEFORE_PUBLISHED", "AFTER_PUBLISHED"),
        help="also compare the two published copies the same way",
    )
    parser.add_argument(
        "--keep-run-times",
        action="store_true",
        help="compare the signals' run-time stamp columns too (they differ between any two runs)",
    )
    parser.add_argument(
        "--significant-digits",
        type=int,
        metavar="N",
        help="compare DOUBLE columns rounded to N significant digits (default: exactly)",
    )
    parser.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        metavar="SCHEMA.TABLE.COLUMN",
        help="leave a column out of the comparison (named in the output)",
    )
    args = parser.parse_args(argv)
    schemas = tuple(args.schemas or DEFAULT_SCHEMAS)
    mapping = parse_mapping(args.map)
    if args.significant_digits is not None and args.significant_digits < 1:
        raise SystemExit("--significant-digits must be at least 1")
    ignored = frozenset(args.ignore_column)
    for column in ignored:
        if column.count(".") != 2:
            raise SystemExit(f"--ignore-column {column!r}: expected SCHEMA.TABLE.COLUMN")
    digits = args.significant_digits

    results = compare_files(args.before, args.after, schemas, mapping, args.keep_run_times, digits, ignored)
    report(f"{args.before} vs {args.after}", results)
    failed = any(r.failed for r in results)
    if args.published:
        published = compare_files(
            args.published[0], args.published[1], schemas, mapping, args.keep_run_times, digits, ignored
        )
        report(f"{args.published[0]} vs {args.published[1]} (published)", published)
        failed = failed or any(r.failed for r in published)
    print("DIFFERENT" if failed else "EQUAL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
