"""Static checks of the analytic marts' property files (fast, no database).

dbt enforces the contracts at build time; these checks catch what it does not:
a mart without docs, a column without a description or type, a table whose
contract is not enforced, or a grain without a primary-key test.
"""

from __future__ import annotations

import pytest
import yaml

from orchestration.settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
AREAS = ("core", "usage", "cost", "attribution", "tokens", "caching", "providers", "agents", "signals")
# Owned by the pricing layer, documented in its own file; and the ephemeral
# attribution step every call-level mart reads (inlined, never a table, so no
# contract), documented in its own file too.
NOT_ANALYTIC = {"fct_llm_calls", "fct_llm_calls_attributed"}


def _properties(area: str) -> dict:
    path = MARTS_DIR / area / f"_{area}__models.yml"
    assert path.exists(), f"{path}: missing; every marts folder keeps its docs and tests in _<area>__models.yml"
    return yaml.safe_load(path.read_text())


def _folder_contract_enforced(area: str) -> bool:
    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    folder = config["models"]["agentledger"]["marts"].get(area) or {}
    return bool((folder.get("+contract") or {}).get("enforced"))


def _has_primary_key_test(model: dict) -> bool:
    for test in model.get("data_tests") or []:
        if isinstance(test, dict) and "unique_combination_of_columns" in test:
            return True
    for column in model["columns"]:
        tests = column.get("data_tests") or []
        # not null is enforced by the contract's constraint (the build fails), not tested after it
        not_null = "not_null" in tests or any(c.get("type") == "not_null" for c in column.get("constraints") or [])
        if "unique" in tests and not_null:
            return True
    return False


@pytest.mark.parametrize("area", AREAS)
def test_every_mart_is_documented_typed_and_keyed(area: str) -> None:
    models = {model["name"]: model for model in _properties(area)["models"]}
    sql_models = {path.stem for path in (MARTS_DIR / area).glob("*.sql")} - NOT_ANALYTIC
    assert sql_models, f"{MARTS_DIR / area}: no models"
    assert sql_models <= set(models), f"{area}: models without properties: {sorted(sql_models - set(models))}"
    folder_contract = _folder_contract_enforced(area)
    for name in sorted(sql_models):
        model = models[name]
        assert model.get("description", "").strip(), f"{area}/{name}: no description"
        enforced = folder_contract or (model.get("config") or {}).get("contract", {}).get("enforced")
        assert enforced, f"{area}/{name}: contract not enforced (set it per folder in dbt_project.yml or per model)"
        assert _has_primary_key_test(model), (
            f"{area}/{name}: no unique test on a not-null column, nor a unique_combination_of_columns test"
        )
        for column in model["columns"]:
            where = f"{area}/{name}.{column['name']}"
            assert column.get("description", "").strip(), f"{where}: no description"
            assert column.get("data_type"), f"{where}: no data_type (the contract needs one)"


def test_models_use_explicit_column_lists() -> None:
    """The last select of every mart names its columns (no `select *` at the end)."""
    for area in AREAS:
        for path in (MARTS_DIR / area).glob("*.sql"):
            if path.stem in NOT_ANALYTIC:
                continue
            last_select = path.read_text().rsplit("\nselect", 1)[-1]
            assert not last_select.lstrip().startswith("*"), f"{path}: the final select is `select *`"


def test_unit_tests_cover_the_tricky_logic() -> None:
    tested = {unit["model"] for area in AREAS for unit in _properties(area).get("unit_tests") or []}
    assert {
        "rpt_cost_attribution",
        "rpt_agent_peer_rank",
        "rpt_token_waterfall",
        "rpt_kpi_overview",
        "rpt_caching_roi",
        "rpt_agent_efficiency",
        "fct_traces",
    } <= tested
