"""`agentledger doctor`: what this machine and configuration lack, each with its fix.

Each check returns OK, WARN (works, but not as intended for production) or
FAIL (a command will not work). Nothing is changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, REPORTS_DIR, Settings

DEFAULT_SALT = "agentledger-default-salt"
MIN_FREE_DISK_GB = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # OK, WARN or FAIL
    detail: str
    fix: str = ""


def _version(command: list[str]) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] == (3, 11):
        return Check("python", "OK", f"Python {version}")
    return Check(
        "python", "FAIL", f"Python {version}; the pinned stack needs 3.11", "install Python 3.11 and re-run make setup"
    )


def check_node() -> Check:
    version = _version(["node", "--version"])
    if version is None:
        return Check("node", "FAIL", "node not found: the report site cannot be built", "install Node.js 20")
    if not version.lstrip("v").startswith("20."):
        return Check("node", "WARN", f"node {version}; the report site is tested with Node 20", "install Node.js 20")
    if not (REPORTS_DIR / "node_modules" / ".installed").exists():
        return Check(
            "node", "WARN", f"node {version}; the report site's packages are not installed", "make reports-deps"
        )
    return Check("node", "OK", f"node {version}, report packages installed")


def check_chromium() -> Check:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        return Check(
            "chromium",
            "WARN",
            "chromium not found: PDF exports and screenshots are unavailable",
            "apt-get install chromium (make browser)",
        )
    return Check("chromium", "OK", found)


def check_dbt_manifest() -> Check:
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return Check(
            "dbt manifest",
            "FAIL",
            "dbt_project/target/manifest.json is missing; the Dagster code cannot load",
            "make prepare",
        )
    return Check("dbt manifest", "OK", str(manifest))


def check_data_dir(settings: Settings) -> Check:
    data = settings.data_dir
    probe = data / ".doctor-write-test"
    try:
        data.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "data dir",
            "FAIL",
            f"{data} is not writable ({exc.strerror})",
            "set AGENTLEDGER_DATA_DIR to a writable folder",
        )
    return Check("data dir", "OK", str(data))


def check_free_disk(settings: Settings) -> Check:
    free_gb = shutil.disk_usage(settings.data_dir if settings.data_dir.exists() else Path.cwd()).free / 1e9
    if free_gb < MIN_FREE_DISK_GB:
        return Check(
            "free disk",
            "WARN",
            f"{free_gb:.1f} GB free under {settings.data_dir}",
            f"free space: a run needs about 2x the warehouse file ({MIN_FREE_DISK_GB:.0f} GB at least)",
        )
    return Check("free disk", "OK", f"{free_gb:.1f} GB free")


def check_salt(settings: Settings) -> Check:
    if settings.user_id_salt == DEFAULT_SALT:
        return Check(
            "user id salt",
            "WARN",
            "AGENTLEDGER_USER_ID_SALT is the default: user ids hash the same as in any install",
            "set AGENTLEDGER_USER_ID_SALT to a secret of your own before loading real traces",
        )
    return Check("user id salt", "OK", "set")


def check_reference_files(settings: Settings) -> list[Check]:
    from orchestration.reference import REFERENCE_FILES

    checks = []
    for name in REFERENCE_FILES:
        path = settings.reference_dir / name
        if path.exists():
            checks.append(Check(name, "OK", str(path)))
        else:
            checks.append(
                Check(
                    name,
                    "WARN",
                    f"{path} does not exist (that part of the report stays empty)",
                    f"copy docs/examples/{Path(name).stem}.example.csv to {path} and edit it",
                )
            )
    return checks


def check_budgets(settings: Settings) -> Check:
    from orchestration.signals.budgets import budgets_path, overrides_path, read_budgets

    loaded = read_budgets(budgets_path(settings), overrides_path(settings))
    if loaded.errors:
        return Check(
            "budgets",
            "WARN",
            f"{len(loaded.errors)} budget row(s) are left out: {loaded.errors[0].message}",
            "agentledger budgets validate",
        )
    return Check("budgets", "OK", f"{len(loaded.budgets)} valid budget(s)")


def check_published(settings: Settings) -> Check:
    published = settings.published_warehouse_path
    if not published.exists():
        return Check("published marts", "WARN", "nothing published yet", "agentledger demo, or agentledger ingest FILE")
    age_hours = (time.time() - published.stat().st_mtime) / 3600
    if age_hours > settings.freshness_hours:
        return Check(
            "published marts",
            "WARN",
            f"{published} was published {age_hours:.0f} h ago",
            "check the nightly schedule and the landing sensor in the Dagster UI (agentledger ui)",
        )
    return Check("published marts", "OK", f"published {age_hours * 60:.0f} min ago")


def check_alerts(settings: Settings) -> Check:
    if settings.alert_webhook_url is None:
        return Check(
            "alert webhook",
            "WARN",
            "AGENTLEDGER_ALERT_WEBHOOK_URL is unset: alerts are recorded, not sent",
            "set AGENTLEDGER_ALERT_WEBHOOK_URL to a Slack-compatible webhook",
        )
    return Check("alert webhook", "OK", "set")


def run_checks(settings: Settings) -> list[Check]:
    checks = [
        check_python(),
        check_node(),
        check_chromium(),
        check_dbt_manifest(),
        check_data_dir(settings),
        check_free_disk(settings),
        check_salt(settings),
    ]
    checks += check_reference_files(settings)
    checks += [check_budgets(settings), check_published(settings), check_alerts(settings)]
    return checks
