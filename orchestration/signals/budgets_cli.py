"""Change budgets at runtime without editing the budgets file.

    python -m orchestration.signals.budgets_cli list
    python -m orchestration.signals.budgets_cli set BUDGET_ID [--scope-type T] [--scope-id ID]
        [--limit USD] [--thresholds 0.5|0.8|1.0] [--owner NAME] [--notes TEXT]
    python -m orchestration.signals.budgets_cli remove BUDGET_ID

Changes go to `<data dir>/budgets/overrides.csv`, merged over the user's
`<data dir>/reference/budgets.csv` (which may not exist) by budget_id on the
next signals run. A row is validated before it is written (same rules as the
budgets file). A scope the warehouse has no call for yet is accepted with a
warning (the budget shows `no_traffic` until its first call); --no-scope-check
skips that look-up.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

from orchestration.settings import load_settings
from orchestration.signals.budgets import (
    BUDGET_COLUMNS,
    OVERRIDE_COLUMNS,
    BudgetValidationError,
    budgets_path,
    overrides_path,
    read_budgets,
    read_csv_rows,
    validate_row,
)


def _known_scopes(check: bool) -> dict[str, set[str]] | None:
    """Scopes present in the warehouse, or None when there is nothing to check against."""
    if not check:
        return None
    settings = load_settings()
    if not settings.warehouse_path.exists():
        return None
    from orchestration.signals.io import FCT_TABLE, connect, table_exists

    with connect(settings.warehouse_path, read_only=True) as con:
        if not table_exists(con, FCT_TABLE):
            return None
        rows = con.execute(f"select distinct workspace_id, department, agent_id from {FCT_TABLE}").fetchall()
    return {
        "workspace": {r[0] for r in rows if r[0]},
        "department": {r[1] for r in rows if r[1]},
        "agent": {r[2] for r in rows if r[2]},
    }


def _write_overrides(path: Path, rows: list[dict]) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    with os.fdopen(fd, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=OVERRIDE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in OVERRIDE_COLUMNS})
    os.replace(tmp, path)


def main(argv: list[str] | None = None, budgets_file: Path | None = None) -> int:
    """`budgets_file`: the budgets file (default `<data dir>/reference/budgets.csv`)."""
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.signals.budgets_cli", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="show the effective budgets (budgets file + overrides)")
    p_set = sub.add_parser("set", help="add or change a budget")
    p_set.add_argument("budget_id")
    p_set.add_argument("--scope-type")
    p_set.add_argument("--scope-id")
    p_set.add_argument("--limit", dest="monthly_limit_usd")
    p_set.add_argument("--thresholds", dest="alert_thresholds")
    p_set.add_argument("--owner")
    p_set.add_argument("--notes")
    p_set.add_argument("--no-scope-check", action="store_true")
    p_rm = sub.add_parser("remove", help="disable a budget (budgets-file rows are masked, override rows dropped)")
    p_rm.add_argument("budget_id")
    args = parser.parse_args(argv)

    settings = load_settings()
    path = overrides_path(settings)
    budgets_csv = budgets_file or budgets_path(settings)
    try:
        overrides = read_csv_rows(path, OVERRIDE_COLUMNS) if path.exists() else []
        if args.command == "list":
            loaded = read_budgets(budgets_csv, path)
            for b in loaded.budgets:
                print(
                    f"{b.budget_id}\t{b.scope_type}\t{b.scope_id}\t{b.monthly_limit_usd:.2f}\t{b.thresholds_text}\t{b.owner}"
                )
            for error in loaded.errors:
                print(f"error (row left out): {error.message}", file=sys.stderr)
            return 2 if loaded.errors else 0
        file_rows = read_csv_rows(budgets_csv, BUDGET_COLUMNS) if budgets_csv.exists() else []
        current = {r["budget_id"]: r for r in file_rows}
        current.update({r["budget_id"]: r for r in overrides if r.get("budget_id")})
        others = [r for r in overrides if r.get("budget_id") != args.budget_id]
        if args.command == "set":
            row = dict(current.get(args.budget_id, {"budget_id": args.budget_id}))
            row.pop("removed", None)
            for col in BUDGET_COLUMNS[1:]:
                value = getattr(args, col, None)
                if value is not None:
                    row[col] = value
            budget = validate_row(row, f"budgets_cli set (override file {path})")
            _write_overrides(path, others + [{**row, "removed": "false"}])
            print(f"set {args.budget_id} in {path}")
            scopes = _known_scopes(not args.no_scope_check)
            if scopes is not None and budget.scope_id not in scopes[budget.scope_type]:
                print(
                    f"warning: the warehouse has no call for {budget.scope_type} {budget.scope_id!r} yet; "
                    "the budget shows status no_traffic until it has",
                    file=sys.stderr,
                )
        elif args.command == "remove":
            if args.budget_id not in current:
                print(f"budget_id {args.budget_id!r} is neither in {budgets_csv} nor in {path}", file=sys.stderr)
                return 2
            _write_overrides(path, others + [{"budget_id": args.budget_id, "removed": "true"}])
            print(f"removed {args.budget_id} (recorded in {path})")
        return 0
    except BudgetValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
