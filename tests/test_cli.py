"""The `agentledger` command: installed, complete help, and the commands that need no pipeline run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from orchestration.cli import app

runner = CliRunner()
COMMANDS = ["demo", "run", "ingest", "receive", "reprice", "budgets", "export", "serve-report", "ui", "doctor"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    return tmp_path / "data"


def test_the_console_script_is_installed():
    script = Path(sys.executable).with_name("agentledger")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
    assert all(command in out for command in COMMANDS)


def test_every_command_and_option_has_help():
    root = get_command(app)
    missing = []

    def walk(group, path):
        for name, command in group.commands.items():
            if not command.help:
                missing.append(f"{path} {name}")
            for param in command.params:
                if param.param_type_name == "option" and not param.help and "--help" not in param.opts:
                    missing.append(f"{path} {name} {param.opts[0]}")
            if hasattr(command, "commands"):
                walk(command, f"{path} {name}")

    walk(root, "agentledger")
    assert sorted(root.commands) == sorted(COMMANDS)
    assert sorted(root.commands["budgets"].commands) == ["add", "list", "remove", "validate"]
    assert missing == []


def test_run_refuses_a_reversed_range(data_dir):
    result = runner.invoke(app, ["run", "--start", "2026-11-02", "--end", "2026-11-01"])
    assert result.exit_code == 2
    assert "is after" in result.output


def test_budgets_add_list_validate_remove(data_dir):
    added = runner.invoke(
        app,
        [
            "budgets",
            "add",
            "team-cap",
            "--scope-type",
            "workspace",
            "--scope-id",
            "acme",
            "--limit",
            "1500",
            "--thresholds",
            "0.5|0.9",
            "--owner",
            "finops",
            "--no-scope-check",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["budgets", "list"])
    assert listed.exit_code == 0 and "team-cap\tworkspace\tacme\t1500.00" in listed.output
    assert runner.invoke(app, ["budgets", "validate"]).exit_code == 0
    bad = runner.invoke(
        app,
        ["budgets", "add", "broken", "--scope-type", "planet", "--scope-id", "x", "--limit", "10", "--no-scope-check"],
    )
    assert bad.exit_code == 2
    assert runner.invoke(app, ["budgets", "remove", "team-cap"]).exit_code == 0
    assert "team-cap" not in runner.invoke(app, ["budgets", "list"]).output


def test_budgets_validate_names_the_bad_row(data_dir):
    reference = data_dir / "reference"
    reference.mkdir(parents=True)
    (reference / "budgets.csv").write_text(
        "budget_id,scope_type,scope_id,monthly_limit_usd,alert_thresholds,owner,notes\n"
        "ok,workspace,acme,100,0.8,finops,\n"
        "neg,workspace,acme,-5,0.8,finops,\n"
    )
    result = runner.invoke(app, ["budgets", "validate"])
    assert result.exit_code == 2
    assert "1 valid budget(s), 1 error(s)" in result.output
    assert "monthly_limit_usd" in result.output


def test_ingest_copies_files_atomically_and_once(data_dir, tmp_path):
    source = tmp_path / "exports"
    (source / "day1").mkdir(parents=True)
    (source / "day1" / "a.jsonl").write_text('{"x": 1}\n')
    (source / "b.jsonl").write_text('{"x": 2}\n')
    for _ in range(2):
        result = runner.invoke(app, ["ingest", "--no-run", str(source)])
        assert result.exit_code == 0, result.output
    landed = sorted(
        p.relative_to(data_dir / "landing").as_posix() for p in (data_dir / "landing").rglob("*") if p.is_file()
    )
    assert landed == ["imported/exports/b.jsonl", "imported/exports/day1/a.jsonl"]


def test_doctor_reports_fixes_and_fails_on_an_unwritable_data_dir(data_dir, tmp_path, monkeypatch):
    result = runner.invoke(app, ["doctor"])
    assert "user id salt" in result.output and "fix: set AGENTLEDGER_USER_ID_SALT" in result.output
    assert "nothing published yet" in result.output
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(blocker / "data"))
    failed = runner.invoke(app, ["doctor"])
    assert failed.exit_code == 1
    assert "FAIL" in failed.output and "not writable" in failed.output
