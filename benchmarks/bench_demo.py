"""Time the quick start: `make demo` in a fresh clone, then again without installs.

    python -m benchmarks.bench_demo [--cold]

`--cold` points uv's and npm's caches at empty folders, so the first run
downloads every package from the registries, as on a new machine. Each run's
wall time and the Makefile's own output tail are printed; the figures go to
the "demo" section of docs/benchmarks.md.
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


def timed_make_demo(clone: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(
        ["make", "demo"], cwd=clone, env=env, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    return time.monotonic() - started


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
        first = timed_make_demo(clone, env)
        second = timed_make_demo(clone, env)
    load = os.getloadavg()
    caches = "empty uv and npm caches (every package downloaded)" if args.cold else "warm uv and npm caches"
    print(f"make demo, fresh clone, {caches}: {first:.0f} s; second run: {second:.0f} s")
    record_section(
        "demo",
        "## Quick start (`benchmarks/bench_demo.py`)\n\n"
        "`make demo` in a fresh clone (300,000 synthetic LLM calls over 90 days through the whole "
        "Dagster pipeline, report site included), then again. Targets: first run under 10 min with "
        "installs, second under 3 min.\n\n"
        "| run | wall time |\n|---|---:|\n"
        f"| first, {caches} | {first:.0f} s |\n"
        f"| second, nothing to install | {second:.0f} s |\n\n"
        f"Load average after the runs: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
    )


if __name__ == "__main__":
    main()
