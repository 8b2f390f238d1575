"""Fixtures for the pricing tests: the dbt Python model that holds the matching logic, loaded as a module."""

from __future__ import annotations

import csv
import importlib.util
from types import ModuleType

import pytest

from orchestration.settings import DBT_PROJECT_DIR, SEEDS_DIR

MATCHER_PATH = DBT_PROJECT_DIR / "models" / "intermediate" / "pricing" / "int_model_catalog_matches.py"


@pytest.fixture(scope="session")
def matcher() -> ModuleType:
    """int_model_catalog_matches.py is plain Python; dbt calls its model(), tests call its functions."""
    spec = importlib.util.spec_from_file_location("int_model_catalog_matches", MATCHER_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def provider_map() -> dict[str, str]:
    with (SEEDS_DIR / "catalog_provider_map.csv").open() as f:
        return {row["otel_provider"]: row["catalog_provider_id"] for row in csv.DictReader(f)}
