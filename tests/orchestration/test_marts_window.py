"""Which days the marts step rebuilds: the run's partitions, or everything when it names none."""

from __future__ import annotations

import datetime as dt
import json

from orchestration.defs.automation.definitions import range_tags
from orchestration.defs.warehouse.assets import PRODUCTION_BUILD, marts_window_args
from orchestration.partitions import PARTITION_TAG, run_partition_days


def test_a_range_run_passes_its_first_and_last_day():
    tags = range_tags(dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert run_partition_days(tags) == ("2026-09-01", "2026-09-30")
    args = marts_window_args(tags)
    assert args[0] == "--vars"
    assert json.loads(args[1]) == {"min_date": "2026-09-01", "max_date": "2026-09-30"}


def test_a_single_partition_run_passes_its_day():
    assert json.loads(marts_window_args({PARTITION_TAG: "2026-10-09"})[1]) == {
        "min_date": "2026-10-09",
        "max_date": "2026-10-09",
    }


def test_a_run_without_partitions_rebuilds_the_incremental_marts():
    assert run_partition_days({"dagster/backfill": "abc"}) is None
    assert marts_window_args({}) == ["--full-refresh"]


def test_production_builds_leave_unit_tests_to_ci():
    assert PRODUCTION_BUILD[:2] == ["--exclude-resource-type", "unit_test"]
