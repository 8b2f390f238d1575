"""`dagster dev` as a child process, for the scripts that drive the real UI and daemon.

The UI tests and the freshness benchmark run the webserver and the daemon as
`make dev` does, then talk to them over HTTP. This is the one place that
starts them (in their own process group: `dagster dev` ignores signals sent
to it alone from a script, see STACK.md), waits until the code location has
loaded, and stops the whole group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import REPO_ROOT

BIN = Path(sys.executable).parent


def dagster_instance_env(data_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Dagster runs in for `data_dir`, as `make dev` and `make demo` give it.

    The instance lives in `<data_dir>/dagster_home` with the repository's
    dagster.yaml (copied there once; an edited copy is kept), telemetry is
    off, and this interpreter's bin folder leads PATH (dagster-dbt calls
    `dbt` from PATH). `base` defaults to this process's environment.
    """
    home = data_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ if base is None else base)
    env.update(
        AGENTLEDGER_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(home),
        DAGSTER_DISABLE_TELEMETRY="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


class DagsterDevError(RuntimeError):
    """`dagster dev` exited or did not load the code location in time; carries the log's tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None, timeout_s: float = 30) -> dict:
    """POST one query to the webserver's GraphQL API; raises on HTTP or GraphQL errors."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        body = json.loads(response.read())
    if "errors" in body:
        raise DagsterDevError(f"GraphQL errors: {body['errors']}")
    return body["data"]


@dataclass(frozen=True)
class DagsterDev:
    port: int
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _code_location_loaded(port: int) -> bool:
    try:
        if not graphql(port, "{ version }", timeout_s=10).get("version"):
            return False
        # The webserver answers before the code location has loaded.
        return bool(graphql(port, "{ assetNodes { assetKey { path } } }")["assetNodes"])
    except (OSError, DagsterDevError, KeyError):
        return False


def stop(process: subprocess.Popen, timeout_s: float = 60) -> None:
    """SIGTERM the process group, SIGKILL it if it is still there after `timeout_s`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def dagster_dev(env: Mapping[str, str], log_path: Path, startup_timeout_s: float = 300) -> Iterator[DagsterDev]:
    """Run `dagster dev` on a free port with `env`, yield once its code location has loaded, then stop it."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        dev = DagsterDev(port, process, log_path)
        try:
            deadline = time.monotonic() + startup_timeout_s
            while not _code_location_loaded(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    state = f"exited with {process.returncode}" if process.poll() is not None else "timed out"
                    raise DagsterDevError(f"dagster dev {state} before its code location loaded:\n{dev.log_tail()}")
                time.sleep(2)
            yield dev
        finally:
            stop(process)
