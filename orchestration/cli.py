"""`agentledger`: the one command-line entry point.

    agentledger demo                         synthetic data, the whole pipeline, the report site
    agentledger run --start D --end D        the pipeline over a range of days
    agentledger ingest FILE...               copy trace files into the landing folder and run their days
    agentledger receive                      OTLP/HTTP receiver on 127.0.0.1:4318
    agentledger reprice                      re-price days after a catalog or custom-price change
    agentledger budgets list|add|remove|validate
    agentledger export --start D --end D     CSV, JSON, Parquet and PDF for a period and scope
    agentledger serve-report | ui | doctor

Every command reads the same settings (`orchestration/settings.py`: the data
directory, warehouse and salt come from AGENTLEDGER_* environment variables)
and runs what the make targets and the Dagster UI run; nothing here computes
a number of its own. Built on Typer, which the installed stack already ships
(Dagster's own CLI is Click, on which Typer sits).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from orchestration.settings import REPO_ROOT, load_settings

app = typer.Typer(
    name="agentledger",
    help="AgentLedger: cost and usage warehouse for AI agents. Traces in; priced marts, forecasts and reports out.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
budgets_app = typer.Typer(
    help="Budgets: list, add or change, remove, validate. Changes apply at the next signals run.", no_args_is_help=True
)
app.add_typer(budgets_app, name="budgets")

DateOption = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="a day (UTC)")]


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


def _dagster_env() -> dict[str, str]:
    """The environment the make targets give Dagster: its home under the data dir, telemetry off."""
    from orchestration.dagster_dev import dagster_instance_env

    env = dagster_instance_env(load_settings().data_dir)
    os.environ.update(
        {k: env[k] for k in ("DAGSTER_HOME", "DAGSTER_DISABLE_TELEMETRY", "DBT_SEND_ANONYMOUS_USAGE_STATS")}
    )
    return env


@app.command()
def demo(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="stream dbt and Dagster logs instead of progress lines")
    ] = False,
) -> None:
    """Generate the synthetic demo dataset (90 days) and run the whole pipeline, report site included."""
    _dagster_env()
    from orchestration import demo as demo_module

    _exit(demo_module.main(["--verbose"] if verbose else []))


@app.command()
def run(
    start: DateOption,
    end: DateOption,
    no_report_site: Annotated[bool, typer.Option("--no-report-site", help="stop after publishing")] = False,
) -> None:
    """Run the pipeline over the days START..END (inclusive): ingest, dbt, signals, publish, site."""
    if start > end:
        raise typer.BadParameter(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}")
    _dagster_env()
    from orchestration.run_range import run_range

    ok = run_range(start.date(), end.date(), report_site=not no_report_site)
    typer.echo("Run succeeded." if ok else "Run failed; see it in the Dagster UI (agentledger ui).", err=not ok)
    _exit(0 if ok else 1)


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=True,
            resolve_path=True,
            help="trace files or folders (Parquet, JSONL, CSV, OTLP JSON or proto)",
        ),
    ],
    folder: Annotated[str, typer.Option(help="sub-folder of the landing folder to copy into")] = "imported",
    no_run: Annotated[
        bool, typer.Option("--no-run", help="only copy; the landing sensor or a run picks them up")
    ] = False,
) -> None:
    """Copy trace files into the landing folder, then run the pipeline over the days they touch.

    Files are copied (the landing folder is the record of what was loaded);
    a file already there with the same content is left as it is.
    """
    settings = load_settings()
    target_root = settings.landing_dir / folder
    copied: list[str] = []
    for path in paths:
        sources = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for source in sources:
            relative = source.relative_to(path) if path.is_dir() else Path(source.name)
            target = target_root / (path.name if path.is_dir() else "") / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (target.exists() and _same_content(source, target)):
                tmp = target.with_name(f".{target.name}.copying")
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)  # the landing scan never sees a half-copied file
            copied.append(target.relative_to(settings.landing_dir).as_posix())
    typer.echo(f"{len(copied)} file(s) in {target_root}")
    if no_run or not copied:
        return
    from orchestration.ingest import pending_days

    days = sorted(day for day, files in pending_days(settings).items() if set(files) & set(copied))
    if not days:
        typer.echo("Nothing new to load: every day of these files is already in the warehouse.")
        return
    typer.echo(f"Loading {len(days)} day(s), {days[0]}..{days[-1]}")
    _dagster_env()
    from orchestration.run_range import run_range

    ok = run_range(days[0], days[-1])
    typer.echo("Run succeeded." if ok else "Run failed; see it in the Dagster UI (agentledger ui).", err=not ok)
    _exit(0 if ok else 1)


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            chunk = fa.read(1 << 20)
            if chunk != fb.read(1 << 20):
                return False
            if not chunk:
                return True


@app.command()
def receive(
    host: Annotated[str, typer.Option(help="address to bind; 0.0.0.0 exposes it beyond this machine")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port; 4318 is OTLP/HTTP's")] = 4318,
    rotate_seconds: Annotated[float, typer.Option(help="move the current file into landing after this long")] = 10.0,
) -> None:
    """Serve OTLP/HTTP POST /v1/traces (protobuf or JSON) and write the spans, content removed, to landing.

    Point an application at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318.
    Set AGENTLEDGER_RECEIVER_TOKEN to require `Authorization: Bearer <token>`.
    """
    from orchestration.ingest import receiver

    _exit(receiver.main(["--host", host, "--port", str(port), "--rotate-seconds", str(rotate_seconds)]))


@app.command()
def reprice(
    start: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="first day (default: detected)"),
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="last day (default: detected)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the window, run nothing")] = False,
) -> None:
    """Re-price the days a price catalog or custom-price change affects, and everything downstream."""
    _dagster_env()
    from orchestration import reprice as reprice_module

    argv = [
        *(["--start", f"{start:%Y-%m-%d}"] if start else []),
        *(["--end", f"{end:%Y-%m-%d}"] if end else []),
        *(["--dry-run"] if dry_run else []),
    ]
    _exit(reprice_module.main(argv))


@budgets_app.command("list")
def budgets_list() -> None:
    """Show the effective budgets: the budgets file with the overrides applied."""
    from orchestration.signals import budgets_cli

    _exit(budgets_cli.main(["list"]))


@budgets_app.command("add")
def budgets_add(
    budget_id: Annotated[str, typer.Argument(help="the budget's id; an existing id is changed")],
    scope_type: Annotated[str | None, typer.Option(help="workspace, department or agent")] = None,
    scope_id: Annotated[str | None, typer.Option(help="the workspace, department or agent id")] = None,
    limit: Annotated[str | None, typer.Option(help="monthly limit in USD")] = None,
    thresholds: Annotated[str | None, typer.Option(help="alert thresholds as shares, e.g. 0.5|0.8|1.0")] = None,
    owner: Annotated[str | None, typer.Option(help="who is alerted")] = None,
    notes: Annotated[str | None, typer.Option(help="free text shown with the budget")] = None,
    no_scope_check: Annotated[
        bool, typer.Option("--no-scope-check", help="skip checking that the warehouse knows the scope")
    ] = False,
) -> None:
    """Add a budget or change one; validated before it is written to the overrides file."""
    from orchestration.signals import budgets_cli

    argv = ["set", budget_id]
    for flag, value in (
        ("--scope-type", scope_type),
        ("--scope-id", scope_id),
        ("--limit", limit),
        ("--thresholds", thresholds),
        ("--owner", owner),
        ("--notes", notes),
    ):
        if value is not None:
            argv += [flag, value]
    if no_scope_check:
        argv.append("--no-scope-check")
    _exit(budgets_cli.main(argv))


@budgets_app.command("remove")
def budgets_remove(budget_id: Annotated[str, typer.Argument(help="the budget to disable")]) -> None:
    """Disable a budget (a budgets-file row is masked, an override row dropped)."""
    from orchestration.signals import budgets_cli

    _exit(budgets_cli.main(["remove", budget_id]))


@budgets_app.command("validate")
def budgets_validate() -> None:
    """Check the budgets file and the overrides; print every row that would be left out, and why."""
    from orchestration.signals.budgets import budgets_path, overrides_path, read_budgets

    settings = load_settings()
    loaded = read_budgets(budgets_path(settings), overrides_path(settings))
    for error in loaded.errors:
        typer.echo(f"error: {error.message}", err=True)
    typer.echo(f"{len(loaded.budgets)} valid budget(s), {len(loaded.errors)} error(s)")
    _exit(2 if loaded.errors else 0)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"
    pdf = "pdf"


@app.command()
def export(
    start: DateOption,
    end: DateOption,
    workspace: Annotated[str | None, typer.Option(help="only this workspace")] = None,
    department: Annotated[str | None, typer.Option(help="only this department")] = None,
    agent: Annotated[str | None, typer.Option(help="only this agent (its PDF is the agent's page)")] = None,
    format: Annotated[
        list[ExportFormat] | None, typer.Option("--format", help="repeatable; default csv, json, parquet")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default <data>/exports/...)")] = None,
) -> None:
    """Export a period and scope from the published marts: CSV, JSON, Parquet and a PDF report."""
    from orchestration.publish import export as export_module

    argv = ["--start", f"{start:%Y-%m-%d}", "--end", f"{end:%Y-%m-%d}"]
    for flag, value in (("--workspace", workspace), ("--department", department), ("--agent", agent)):
        if value:
            argv += [flag, value]
    for fmt in format or []:
        argv += ["--format", fmt.value]
    if out:
        argv += ["--out", str(out)]
    _exit(export_module.main(argv))


@app.command("serve-report")
def serve_report(port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 3001) -> None:
    """Serve the built report site on http://127.0.0.1:PORT."""
    site = load_settings().published_dir / "site"
    if not (site / "index.html").exists():
        typer.echo(f"No report site in {site}: run `agentledger demo` or `agentledger run` first.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Report site on http://127.0.0.1:{port} (Ctrl-C to stop)")
    _exit(
        subprocess.call(
            [sys.executable, "-m", "http.server", "--directory", str(site), "--bind", "127.0.0.1", str(port)]
        )
    )


@app.command()
def ui(port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 3000) -> None:
    """Start the Dagster UI (and its daemon: schedules and sensors) on http://127.0.0.1:PORT."""
    env = _dagster_env()
    dagster = Path(sys.executable).with_name("dagster")
    _exit(subprocess.call([str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port)], env=env, cwd=REPO_ROOT))


@app.command()
def doctor() -> None:
    """Check this machine and configuration, and print what to fix."""
    from orchestration.doctor import run_checks

    results = run_checks(load_settings())
    width = max(len(r.name) for r in results)
    for r in results:
        typer.echo(f"{r.level:5}  {r.name:<{width}}  {r.detail}")
        if r.fix:
            typer.echo(f"{'':5}  {'':<{width}}  fix: {r.fix}")
    failed = sum(r.level == "FAIL" for r in results)
    warned = sum(r.level == "WARN" for r in results)
    typer.echo(f"\n{len(results)} checks: {failed} failed, {warned} warnings")
    _exit(1 if failed else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
