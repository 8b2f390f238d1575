"""Export a cost report for a date range and scope from the PUBLISHED file.

Reads only the read-only published copy (never the working warehouse, which
the pipeline may be writing). Writes CSV, JSON and Parquet per report table,
plus a manifest.json with the files, row counts, totals and filters; and a PDF
of the report site's print page for the same period and scope, printed by
headless Chromium (orchestration/publish/export_pdf.py).

    python -m orchestration.publish.export --start 2026-01-01 --end 2026-01-31 \
        --workspace ws-acme --format csv --format pdf
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.publish.export_pdf import PAPERS, PrintError, print_export_pdf
from orchestration.publish.report_build import site_dir
from orchestration.settings import Settings, load_settings

FORMATS = ("csv", "json", "parquet", "pdf")
DATA_FORMATS = ("csv", "json", "parquet")

# Report tables: name -> select over the filtered daily cost mart (`scoped`).
COST_MEASURES = """
    sum(calls)::bigint as calls,
    sum(priced_calls)::bigint as priced_calls,
    sum(unpriced_calls)::bigint as unpriced_calls,
    sum(input_tokens)::bigint as input_tokens,
    sum(output_tokens)::bigint as output_tokens,
    sum(total_tokens)::bigint as total_tokens,
    sum(uncached_input_cost_usd) as uncached_input_cost_usd,
    sum(cache_read_cost_usd) as cache_read_cost_usd,
    sum(cache_write_cost_usd) as cache_write_cost_usd,
    sum(output_cost_usd) as output_cost_usd,
    sum(reasoning_cost_usd) as reasoning_cost_usd,
    sum(total_cost_usd) as total_cost_usd,
    sum(cache_savings_usd) as cache_savings_usd
"""
REPORT_TABLES = {
    "cost_daily": "select * from scoped order by call_date, workspace_id, department, agent_id, provider, model",
    "cost_by_agent": f"""select workspace_id, department, agent_id, any_value(agent_name) as agent_name, {COST_MEASURES}
        from scoped group by workspace_id, department, agent_id order by total_cost_usd desc nulls last, agent_id""",
    "cost_by_model": f"""select provider, model, {COST_MEASURES}
        from scoped group by provider, model order by total_cost_usd desc nulls last, provider, model""",
    "cost_by_day": f"""select call_date, {COST_MEASURES}
        from scoped group by call_date order by call_date""",
}


class ExportError(RuntimeError):
    """The export could not be produced; the message says what to do."""


@dataclass(frozen=True)
class ExportFilters:
    start: dt.date
    end: dt.date
    workspace: str | None = None
    department: str | None = None
    agent: str | None = None

    def where(self) -> tuple[str, list[object]]:
        clauses, params = ["call_date between ? and ?"], [self.start, self.end]
        for column, value in (
            ("workspace_id", self.workspace),
            ("department", self.department),
            ("agent_id", self.agent),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return " and ".join(clauses), params

    def as_dict(self) -> dict[str, str | None]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "workspace": self.workspace,
            "department": self.department,
            "agent": self.agent,
        }

    def slug(self) -> str:
        parts = [f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"]
        parts += [v for v in (self.workspace, self.department, self.agent) if v]
        return "_".join("".join(c if c.isalnum() or c in "-." else "-" for c in p) for p in parts)


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    manifest_path: Path
    files: list[Path]
    row_counts: dict[str, int]
    total_cost_usd: Decimal | None
    calls: int
    pdf_path: Path | None = None
    data_through: dt.date | None = None
    warnings: list[str] = field(default_factory=list)


def _connect_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    path = settings.published_warehouse_path
    if not path.exists():
        raise ExportError(f"published file {path} does not exist; run the pipeline (make demo) to publish the marts")
    return duckdb.connect(str(path), read_only=True)


def export_cost_report(
    settings: Settings,
    filters: ExportFilters,
    formats: tuple[str, ...] = DATA_FORMATS,
    out_dir: Path | None = None,
    build_dir: Path | None = None,
    paper: str = "a4",
) -> ExportResult:
    """Write the filtered report tables in `formats` and a manifest; optionally a PDF.

    The PDF is the report site's print page for the same filters; it is only
    written when its totals equal the manifest's.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown export format(s) {unknown}; expected any of {list(FORMATS)}")
    if filters.end < filters.start:
        raise ExportError(f"--end {filters.end} is before --start {filters.start}")
    if paper not in PAPERS:
        raise ExportError(f"unknown paper size {paper!r}; expected any of {sorted(PAPERS)}")
    generated_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out_dir = out_dir or settings.exports_dir / f"cost_report_{filters.slug()}"
    out_dir.mkdir(parents=True, exist_ok=True)

    where, params = filters.where()
    files: list[Path] = []
    counts: dict[str, int] = {}
    conn = _connect_published(settings)
    try:
        conn.execute(f"create temp view scoped as select * from marts.rpt_cost_daily where {where}", params)
    except duckdb.Error:
        # Prepared parameters are not allowed in view definitions: materialise instead.
        conn.execute(f"create temp table scoped as select * from marts.rpt_cost_daily where {where}", params)
    try:
        total, calls = conn.execute("select sum(total_cost_usd), coalesce(sum(calls), 0) from scoped").fetchone()
        data_through = conn.execute("select max(call_date) from marts.rpt_cost_daily").fetchone()[0]
        for name, select in REPORT_TABLES.items():
            conn.execute(f"create temp table export_{name} as {select}")
            counts[name] = int(conn.execute(f"select count(*) from export_{name}").fetchone()[0])
            for fmt in formats:
                if fmt == "csv":
                    target = out_dir / f"{name}.csv"
                    conn.execute(f"copy export_{name} to '{target.as_posix()}' (header, delimiter ',')")
                elif fmt == "parquet":
                    target = out_dir / f"{name}.parquet"
                    conn.execute(f"copy export_{name} to '{target.as_posix()}' (format parquet, compression zstd)")
                elif fmt == "json":
                    target = out_dir / f"{name}.json"
                    # A JSON array (not newline-delimited) so spreadsheet tools and browsers open it as is.
                    conn.execute(f"copy export_{name} to '{target.as_posix()}' (format json, array true)")
                else:
                    continue
                files.append(target)
    finally:
        conn.close()

    pdf_path = None
    if "pdf" in formats:
        from orchestration.publish.browser import chromium_path

        chromium_path()  # fail first, with the install hint, if the browser is missing
        pdf_path = out_dir / ("agent_report.pdf" if filters.agent else "cost_report.pdf")
        pdf_path.unlink(missing_ok=True)  # never leave an older PDF beside this export's files
        try:
            print_export_pdf(
                pdf_path,
                build_dir or site_dir(settings),
                filters.as_dict(),
                generated_at,
                total,
                int(calls),
                paper=paper,
            )
        except PrintError as exc:
            raise ExportError(str(exc)) from exc
        files.append(pdf_path)

    manifest = {
        "report": "cost_report",
        "generated_at": generated_at,
        # Where the numbers come from, without paths of the machine that made the export.
        "source": {"table": "marts.rpt_cost_daily", "file": "published/agentledger.duckdb"},
        "data_through": None if data_through is None else data_through.isoformat(),
        "filters": filters.as_dict(),
        "totals": {"total_cost_usd": None if total is None else str(total), "calls": int(calls)},
        "tables": {name: {"rows": n} for name, n in counts.items()},
        # Paths relative to the export folder, so the folder can be mailed or archived as it is.
        "files": [{"path": p.relative_to(out_dir).as_posix(), "bytes": p.stat().st_size} for p in files],
    }
    if pdf_path is not None:
        manifest["pdf"] = {"path": pdf_path.relative_to(out_dir).as_posix(), "paper": paper}
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return ExportResult(
        out_dir=out_dir,
        manifest_path=manifest_path,
        files=files,
        row_counts=counts,
        total_cost_usd=total,
        calls=int(calls),
        pdf_path=pdf_path,
        data_through=data_through,
    )


# True once the page has rendered, no loading placeholder is left and charts drew.
PAGE_READY_JS = """(() => {
    const main = document.querySelector('#evidence-main-article');
    if (!main || document.readyState !== 'complete') return false;
    if (/Loading\\.\\.\\./.test(main.innerText)) return false;
    return main.querySelectorAll('canvas').length > 0 || main.querySelectorAll('table').length > 0;
})()"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.publish.export", description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat, help="last day (inclusive), YYYY-MM-DD")
    parser.add_argument("--workspace")
    parser.add_argument("--department")
    parser.add_argument("--agent")
    parser.add_argument(
        "--format", action="append", choices=FORMATS, dest="formats", help="repeatable; default csv, json and parquet"
    )
    parser.add_argument("--paper", choices=sorted(PAPERS), default="a4", help="PDF page size, portrait (default a4)")
    parser.add_argument("--out", type=Path, help="output folder (default <data>/exports/cost_report_<range>_<scope>)")
    args = parser.parse_args(argv)
    filters = ExportFilters(args.start, args.end, args.workspace, args.department, args.agent)
    try:
        result = export_cost_report(
            load_settings(), filters, tuple(args.formats or DATA_FORMATS), args.out, paper=args.paper
        )
    except ExportError as exc:
        parser.exit(2, f"error: {exc}\n")
    total = "n/a (no priced calls)" if result.total_cost_usd is None else f"${result.total_cost_usd:,.2f}"
    print(f"{result.calls:,} calls, total cost {total}; {len(result.files)} files in {result.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
