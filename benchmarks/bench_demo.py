"""Time the quick start: `make demo` in a fresh clone, then again with nothing changed.

    python -m benchmarks.bench_demo [--cold]

`--cold` points uv's and npm's caches at empty folders, so the first run
downloads every package from the registries, as on a new machine. The second
run installs nothing and finds every landing file, the published file and the
site unchanged, so it runs no pipeline. Each run's wall time, the load
average after it and the demo's own verdict line are printed; the figures go
to the "demo" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.record import record_section

REPO = Path(__file__).resolve().parents[1]


def timed_make_demo(clone: Path, env: dict[str, str]) -> tuple[float, tuple[float, float, float], str]:
    """Wall seconds, the load average after the run, and the demo's line saying what it ran."""
    started = time.monotonic()
    done = subprocess.run(
        ["make", "demo"], cwd=clone, env=env, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    wall = time.monotonic() - started
    verdicts = [
        line.strip()
        for line in done.stdout.splitlines()
        if line.startswith(("Nothing changed", "no earlier", "changed since", "Building the report site"))
        or "landing file(s)" in line
    ]
    return wall, os.getloadavg(), "; ".join(verdicts)


def _load(load: tuple[float, float, float]) -> str:
    return f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="empty uv and npm caches for the first run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentledger-bench-demo-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        env = dict(os.environ)
        env.pop("AGENTLEDGER_DATA_DIR", None)
        if args.cold:
            env["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")
            env["npm_config_cache"] = str(Path(tmp) / "npm-cache")
        first, first_load, first_said = timed_make_demo(clone, env)
        second, second_load, second_said = timed_make_demo(clone, env)
    caches = "empty uv and npm caches (every package downloaded)" if args.cold else "warm uv and npm caches"
    print(f"make demo, fresh clone, {caches}: {first:.0f} s (load {_load(first_load)}): {first_said}")
    print(f"second run: {second:.0f} s (load {_load(second_load)}): {second_said}")
    record_section(
        "demo",
        "## Quick start (`benchmarks/bench_demo.py`)\n\n"
        "`make demo` in a fresh clone (300,000 synthetic LLM calls over 90 days through the whole "
        "Dagster pipeline, report site included), then again with nothing changed. Targets: first run "
        "under 10 min with installs, second under 60 s.\n\n"
        "The second run regenerates the dataset, finds every file identical (the generator leaves them "
        "untouched), compares the fingerprints the first run recorded (seeds, reference files, dbt "
        "project, code, settings, published file, what the site was built from) and runs no pipeline and "
        "no site build. A changed input runs the whole window again; new landing files run only their "
        "days; a new published file rebuilds the site.\n\n"
        "| run | wall time | load average after (1 / 5 / 15 min) | what the demo ran |\n|---|---:|---|---|\n"
        f"| first, {caches} | {first:.0f} s | {_load(first_load)} | {first_said} |\n"
        f"| second, nothing changed | {second:.0f} s | {_load(second_load)} | {second_said} |",
    )


if __name__ == "__main__":
    main()
