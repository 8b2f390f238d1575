"""Tests that share an expensive build run on one pytest-xdist worker.

`make test` runs `pytest -n 2 --dist loadgroup`. A session- or module-scoped
fixture (the session warehouse, a module's own warehouse) must still be built
once, as in a serial run, so the tests that share such a fixture, directly or
through another test, form one group, and so do the tests that name the same
`same_worker(key)`; every other test is scheduled on its own.

pytest-xdist's own `xdist_group` marker cannot carry this under pytest 9: it
appends the group to a node id attribute pytest 9 no longer reads, so every
test would be scheduled on its own. Instead each worker writes the groups it
computed at collection into a folder the controller chose, and the controller's
scheduler (a LoadScopeScheduling whose scope is the group) reads them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Fixtures that cache one expensive build per key (a dataset name) rather than one
# per module: the tests using them name the key they read with `same_worker(key)`,
# so different keys may run on different workers.
KEYED_FIXTURES = frozenset({"edge_runs"})
WORKER_INPUT_KEY = "agentledger_groups_dir"
GROUPS_DIR = pytest.StashKey[Path]()


def shared_build_groups(items: list[pytest.Item]) -> dict[str, str]:
    """The group of each test that shares a build with another, by node id (the others are left out)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(test: str, shared: str) -> None:
        parent[find(test)] = find(shared)

    for item in items:
        node = f"test:{item.nodeid}"
        find(node)
        for marker in item.iter_markers("same_worker"):
            union(node, f"key:{marker.args[0]}")
        fixture_info = getattr(item, "_fixtureinfo", None)
        for name, definitions in fixture_info.name2fixturedefs.items() if fixture_info else ():
            definition = definitions[-1]
            # Built-in and plugin fixtures (tmp_path_factory, monkeypatch) have no base id in the tests.
            if definition.scope == "function" or not definition.baseid or name in KEYED_FIXTURES:
                continue
            where = definition.baseid if definition.scope == "session" else item.module.__name__
            union(node, f"fixture:{where}::{name}")
    groups = {}
    for item in items:
        root = find(f"test:{item.nodeid}")
        if not root.startswith("test:"):
            groups[item.nodeid] = root.split(":", 1)[1]
    return groups


def _distributed(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup"


def pytest_configure(config: pytest.Config) -> None:
    if _distributed(config) and not hasattr(config, "workerinput"):
        config.stash[GROUPS_DIR] = Path(tempfile.mkdtemp(prefix="agentledger-test-groups-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if GROUPS_DIR in config.stash:
        shutil.rmtree(config.stash[GROUPS_DIR], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    if GROUPS_DIR in node.config.stash:
        node.workerinput[WORKER_INPUT_KEY] = str(node.config.stash[GROUPS_DIR])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker, write the groups of the collected tests for the controller's scheduler."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or WORKER_INPUT_KEY not in workerinput:
        return
    target = Path(workerinput[WORKER_INPUT_KEY]) / f"{workerinput['workerid']}.json"
    staged = target.with_suffix(".tmp")
    staged.write_text(json.dumps(shared_build_groups(items)))
    os.replace(staged, target)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if GROUPS_DIR not in config.stash:
        return None
    from xdist.scheduler import LoadScopeScheduling

    groups_dir = config.stash[GROUPS_DIR]

    class SharedBuildScheduling(LoadScopeScheduling):
        """Whole groups go to one worker; a test outside every group is a unit of its own."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                # Workers write their groups during collection, before they report it.
                written = sorted(groups_dir.glob("*.json"))
                if not written:
                    raise RuntimeError(f"no worker wrote its test groups into {groups_dir}")
                self.groups = json.loads(written[0].read_text())
            return self.groups.get(nodeid, nodeid)

    return SharedBuildScheduling(config, log)
