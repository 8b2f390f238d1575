"""Shape of the publish domain's asset graph."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.publish import defs
from orchestration.defs.publish.assets import PUBLISHED_MARTS, REPORT_SITE
from orchestration.defs.warehouse.assets import dbt_marts
from orchestration.resources import WarehouseResource


def test_publish_assets_depend_on_marts_and_each_other():
    bound = dg.Definitions.merge(defs, dg.Definitions(resources={"warehouse": WarehouseResource()}))
    specs = {spec.key: spec for spec in bound.resolve_all_asset_specs()}
    assert {PUBLISHED_MARTS, REPORT_SITE} <= set(specs)
    published_deps = {dep.asset_key for dep in specs[PUBLISHED_MARTS].deps}
    assert set(dbt_marts.keys) <= published_deps
    assert dg.AssetKey(["marts", "rpt_cost_daily"]) in published_deps
    # The signals tables are published too, so they must be materialised first.
    assert dg.AssetKey(["signals", "alerts"]) in published_deps
    assert {dep.asset_key for dep in specs[REPORT_SITE].deps} == {PUBLISHED_MARTS}
    assert specs[PUBLISHED_MARTS].group_name == "publish"
    assert specs[REPORT_SITE].group_name == "reports"
    assert specs[PUBLISHED_MARTS].kinds == {"duckdb"}
    assert specs[REPORT_SITE].kinds == {"evidence"}
