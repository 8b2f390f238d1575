"""How the pipeline invokes dbt: the build flags and the partition window's variables.

Kept apart from the asset definitions (which read the manifest on import) so
that scripts such as the dbt benchmark run dbt exactly as the pipeline does.
"""

import datetime as dt
import shutil
from collections.abc import Iterable
from pathlib import Path

# Tests that also read models outside a set (e.g. a mart reconciling to the
# fact) run with the set that builds their last parent, not before it exists.
CAUTIOUS_TESTS = ["--indirect-selection", "cautious"]
# Unit tests are for development and CI (`make test` runs them), not every production run.
PRODUCTION_BUILD = ["--exclude-resource-type", "unit_test", *CAUTIOUS_TESTS]

# The run's window reaches dbt in these environment variables, not as
# `--vars`: dbt re-parses the whole project whenever --vars differ from its
# last parse (seconds per invocation, every day), while a variable read only
# at execution leaves partial parsing alone (dbt_project/macros/partition_window.sql).
WINDOW_ENV = ("AGENTLEDGER_WINDOW_MIN_DATE", "AGENTLEDGER_WINDOW_MAX_DATE")

# Each dbt call from Dagster writes its artifacts (manifest, run results,
# compiled SQL: about 8.5 MB) to a folder of its own under the dbt target
# path, named `<asset op>-<run id>-<uuid>`, and dagster-dbt never removes
# them: three a day on the nightly schedule. A week of them is kept for
# debugging a run.
TARGET_RETENTION = dt.timedelta(days=7)


def prune_invocation_targets(target_root: Path, op_names: Iterable[str], now: dt.datetime | None = None) -> list[Path]:
    """Remove the per-invocation folders of `op_names` under `target_root` older than TARGET_RETENTION.

    Only folders named after one of the ops are touched (never dbt's own
    files such as partial_parse.msgpack or another tool's folders), and only
    when their last change is older than the retention, so an invocation still
    running (in this run or another) keeps its folder. Returns what was removed.
    """
    if not target_root.is_dir():
        return []
    cutoff = (now or dt.datetime.now(dt.timezone.utc)).timestamp() - TARGET_RETENTION.total_seconds()
    prefixes = tuple(f"{name}-" for name in op_names)
    removed = []
    for folder in target_root.iterdir():
        if folder.is_dir() and not folder.is_symlink() and folder.name.startswith(prefixes):
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed
