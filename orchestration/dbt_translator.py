"""How dbt's models, seeds and tests read in Dagster: keys, groups, owners, check names and descriptions.

dbt names a generic test after everything that configures it
(`unique_combination_of_columns_int_model_prices_banded_price_source__provider_key__...`),
which is unique across the project but unreadable in the UI, where a check is
always shown under its asset. Here each test gets a short name that is unique
on its asset (`price_source_accepted_values`, `agent_id_in_dim_agents`,
`one_row_per_trace_id_agent_id`) and a sentence saying what it checks.

dagster-dbt keys a test's result by the test's `name` in the manifest the
assets were built from, so the short name is written there
(`with_readable_check_names`), not only on the check spec: the check, the
result reported by `dbt build` and the UI's subset selection (by fully
qualified name, which is left alone) then agree. dbt itself never sees the
short names: the YAML and `dbt test --select` keep dbt's own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

OWNERS = ["team:data-platform"]
# The check metadata key that keeps dbt's own test name, for `dbt test --select`.
DBT_TEST_NAME_KEY = "dbt_test_name"
# Combination tests over more columns than this are named after the grain, not the columns.
MAX_NAMED_COLUMNS = 3


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def _ref_name(ref: str | None) -> str:
    """`ref('dim_agents')` or `source('raw', 'trace_spans')` -> the table name."""
    names = re.findall(r"['\"]([^'\"]+)['\"]", ref or "")
    return names[-1] if names else _slug(ref or "table")


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def dbt_test_name(test_unique_id: str) -> str:
    """dbt's own name of a test, from its unique id (test.<package>.<name>.<hash>)."""
    return test_unique_id.split(".")[2]


def readable_check_name(test: Mapping[str, Any]) -> str:
    """A short name for a dbt generic test, unique on its model in most cases (see with_readable_check_names)."""
    meta = test.get("test_metadata") or {}
    kind = meta.get("name")
    kwargs = meta.get("kwargs") or {}
    column = _slug(kwargs.get("column_name") or test.get("column_name") or "")
    columns = "_".join(_slug(c) for c in kwargs.get("columns") or [])
    if kind in ("not_null", "unique", "accepted_values", "non_negative") and column:
        return f"{column}_{kind}"
    if kind == "relationships" and column:
        return f"{column}_in_{_slug(_ref_name(kwargs.get('to')))}"
    if kind == "relationships_composite":
        return f"{columns}_in_{_slug(_ref_name(kwargs.get('to')))}"
    if kind == "unique_combination_of_columns":
        many = len(kwargs.get("columns") or []) > MAX_NAMED_COLUMNS
        return "one_row_per_grain" if many else f"one_row_per_{columns}"
    if kind == "column_sum_matches":
        return f"{column}_sum_matches_{_slug(_ref_name(kwargs.get('compare_model')))}"
    if kind == "shares_sum_to_one":
        return f"{column}_sums_to_one_per_{'_'.join(_slug(c) for c in kwargs.get('group_by') or [])}"
    if kind == "parts_sum_to_total":
        return f"{column}_equals_sum_of_parts"
    if kind == "null_unless":
        return f"{column}_set_only_when_condition_holds"
    if kind == "waterfall_reconciles":
        return "waterfall_steps_add_up"
    if kind == "expression_is_true":
        return "rule_holds"
    return dbt_test_name(test["unique_id"])


def _distinguisher(test: Mapping[str, Any]) -> str:
    """What tells apart two tests of the same kind on the same column: their filters or their expression."""
    kwargs = (test.get("test_metadata") or {}).get("kwargs") or {}
    for key in ("row_filter", "compare_filter", "expression", "condition", "values", "field"):
        if kwargs.get(key):
            return _slug(kwargs[key])[:40]
    return ""


def with_readable_check_names(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the manifest whose test nodes carry their readable check name as `name`.

    Names collide only between tests of one kind on one column of one model
    (e.g. sums reconciled over different row filters); those get their filter
    or expression as a suffix, and a counter as the last resort.
    """
    # Only the test nodes change: copy those, share the rest.
    renamed = {
        **manifest,
        "nodes": {uid: dict(n) if n.get("resource_type") == "test" else n for uid, n in manifest["nodes"].items()},
    }
    by_model: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for unique_id, node in renamed["nodes"].items():
        if node.get("resource_type") == "test" and node.get("test_metadata"):
            by_model[node.get("attached_node") or ""].append((unique_id, readable_check_name(node)))
    for tests in by_model.values():
        counts: dict[str, int] = defaultdict(int)
        for _, name in tests:
            counts[name] += 1
        taken: set[str] = set()
        for unique_id, name in sorted(tests):
            node = renamed["nodes"][unique_id]
            if counts[name] > 1 and _distinguisher(node):
                name = f"{name}_{_distinguisher(node)}"
            base, n = name, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            node["name"] = name
    return renamed


def describe_test(test: Mapping[str, Any]) -> str:
    """One sentence on what a dbt test checks: its YAML `description` if it has one, else from its arguments."""
    name = dbt_test_name(test["unique_id"])
    severity = (test.get("config") or {}).get("severity") or "error"
    tail = f" dbt test `{name}`, severity {severity.lower()}."
    if test.get("description"):
        return f"{test['description'].strip()}{tail}"
    meta = test.get("test_metadata") or {}
    kind = meta.get("name")
    kwargs = meta.get("kwargs") or {}
    column = f"`{kwargs.get('column_name') or test.get('column_name')}`"
    where = f" (rows where {kwargs['row_filter']})" if kwargs.get("row_filter") else ""
    sentences = {
        "not_null": lambda: f"{column} is never null.",
        "unique": lambda: f"{column} is unique: no two rows share a value.",
        "accepted_values": lambda: f"{column} only takes the values {', '.join(map(str, kwargs.get('values') or []))}.",
        "non_negative": lambda: f"{column} is never negative (null passes).",
        "relationships": lambda: (
            f"Every {column} exists as `{kwargs.get('field')}` in `{_ref_name(kwargs.get('to'))}` (null passes)."
        ),
        "relationships_composite": lambda: (
            f"Every ({_columns(kwargs.get('columns') or [])}) exists in `{_ref_name(kwargs.get('to'))}`{where}."
        ),
        "unique_combination_of_columns": lambda: (
            f"One row per ({_columns(kwargs.get('columns') or [])}): no two rows share these values."
        ),
        "column_sum_matches": lambda: (
            f"The sum of {column}{where} equals the sum of `{kwargs.get('compare_expression')}` in "
            f"`{_ref_name(kwargs.get('compare_model'))}`"
            + (f" (rows where {kwargs['compare_filter']})" if kwargs.get("compare_filter") else "")
            + ": nothing lost or counted twice."
        ),
        "shares_sum_to_one": lambda: (
            f"Within each ({_columns(kwargs.get('group_by') or [])}), the shares in {column} add up to 1{where}."
        ),
        "parts_sum_to_total": lambda: f"{column} equals the sum of {_columns(kwargs.get('parts') or [])} on every row.",
        "null_unless": lambda: f"{column} is set exactly when {kwargs.get('condition')}.",
        "waterfall_reconciles": lambda: (
            f"Within each ({_columns(kwargs.get('group_by') or [])}), the steps under a parent step add up to it, "
            f"for {_columns(kwargs.get('value_columns') or [])}."
        ),
        "expression_is_true": lambda: f"Every row satisfies: {kwargs.get('expression')}.",
    }
    sentence = sentences[kind]() if kind in sentences else "A singular dbt test: it fails on any row it returns."
    return sentence + tail


class AgentLedgerTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, name] so they read like the tables analysts query.

    Kinds come from dagster-dbt (`dbt` and the adapter, `duckdb`; `view` on
    views); descriptions are the models' YAML descriptions.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "warehouse"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return OWNERS

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        test = manifest["nodes"][unique_id]
        return spec._replace(
            description=describe_test(test),
            metadata={**spec.metadata, DBT_TEST_NAME_KEY: dbt_test_name(unique_id)},
        )


translator = AgentLedgerTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
