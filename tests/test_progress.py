"""Progress, not logs: one line per stage on the terminal, every other line in the run's log file."""

from __future__ import annotations

import subprocess

import dagster as dg

from orchestration.progress import run_with_progress, stage_by_step


def _definitions() -> dg.Definitions:
    @dg.asset(group_name="ingest")
    def landing_rows() -> int:
        print("a noisy line from the step itself")
        subprocess.run(["echo", "a line from a child process"], check=True)
        return 1

    @dg.asset(group_name="warehouse", deps=[landing_rows])
    def model_a() -> int:
        return 2

    @dg.asset(group_name="warehouse", deps=[model_a])
    def model_b() -> None:
        raise ValueError("the real cause\nand its detail\nand more")

    return dg.Definitions(assets=[landing_rows, model_a, model_b], jobs=[dg.define_asset_job("everything")])


def test_a_line_per_stage_and_the_failing_steps_own_error(tmp_path, capfd):
    defs = _definitions()
    log = tmp_path / "run.log"
    outcome = run_with_progress(
        defs.resolve_job_def("everything"), dg.DagsterInstance.ephemeral(), stage_by_step(defs), log
    )
    terminal = capfd.readouterr().out
    lines = terminal.splitlines()

    assert not outcome.success
    assert [line.split()[:2] for line in lines] == [["ingest", "done"], ["dbt", "FAILED"]]
    assert "1 asset" in lines[0] and "1 model" in lines[1]
    assert outcome.failure == ("model_b", "ValueError: the real cause and its detail")
    logged = log.read_text()
    assert "a noisy line from the step itself" in logged and "a line from a child process" in logged
    assert "noisy" not in terminal and "child process" not in terminal


def test_verbose_leaves_the_output_alone(tmp_path, capfd):
    defs = _definitions()
    log = tmp_path / "run.log"
    run_with_progress(
        defs.resolve_job_def("everything"), dg.DagsterInstance.ephemeral(), stage_by_step(defs), log, verbose=True
    )
    assert "a line from a child process" in capfd.readouterr().out
    assert not log.exists() or "child process" not in log.read_text()
