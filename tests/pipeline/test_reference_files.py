"""The user's reference files: optional, validated row by row, loaded for dbt."""

import duckdb
import pytest

from orchestration.reference import (
    DEMO_REFERENCE_DIR,
    EXAMPLES_DIR,
    ORG_MAPPING_TABLE,
    install_reference_files,
    load_org_mapping,
    read_org_mapping,
)
from orchestration.settings import load_settings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    return load_settings()


def test_without_a_file_the_mapping_table_is_empty_but_exists(settings):
    con = duckdb.connect()
    loaded = load_org_mapping(con, settings)
    assert not loaded.present and loaded.errors == []
    assert con.execute(f"select count(*) from {ORG_MAPPING_TABLE}").fetchone() == (0,)
    assert [r[0] for r in con.execute(f"describe {ORG_MAPPING_TABLE}").fetchall()] == [
        "agent_id",
        "department",
        "team",
        "cost_centre",
    ]


def test_bad_rows_are_reported_with_line_and_field_and_the_rest_load(settings):
    path = settings.reference_dir / "org_mapping.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "agent_id,department,team,cost_centre\n"
        "a1,Sales,,CC-1\n"
        ",Legal,Contracts,\n"
        "a2,,Ops,\n"
        "\n"
        "a1,Finance,AP,\n"
        " a3 , Research ,Lab,CC-3\n"
    )
    con = duckdb.connect()
    loaded = load_org_mapping(con, settings)
    assert [(e.line, e.field) for e in loaded.errors] == [(3, "agent_id"), (4, "department"), (6, "agent_id")]
    assert "duplicate; already mapped on line 2" in loaded.errors[2].message
    assert con.execute(f"select * from {ORG_MAPPING_TABLE} order by agent_id").fetchall() == [
        ("a1", "Sales", None, "CC-1"),
        ("a3", "Research", "Lab", "CC-3"),
    ]


def test_a_file_without_the_required_columns_loads_nothing_and_says_why(tmp_path):
    path = tmp_path / "org_mapping.csv"
    path.write_text("agent,dept\na1,Sales\n")
    loaded = read_org_mapping(path)
    assert loaded.rows == [] and [(e.line, e.field) for e in loaded.errors] == [(1, "agent_id,department")]


def test_example_and_demo_files_are_valid():
    for folder, name in ((EXAMPLES_DIR, "org_mapping.example.csv"), (DEMO_REFERENCE_DIR, "org_mapping.csv")):
        loaded = read_org_mapping(folder / name)
        assert loaded.rows and loaded.errors == [], name


def test_install_keeps_the_users_files_unless_asked(settings):
    target = settings.reference_dir
    target.mkdir(parents=True)
    (target / "budgets.csv").write_text("mine\n")
    written = install_reference_files(DEMO_REFERENCE_DIR, settings)
    assert [p.name for p in written] == ["org_mapping.csv"]
    assert (target / "budgets.csv").read_text() == "mine\n"
    install_reference_files(DEMO_REFERENCE_DIR, settings, replace=True)
    assert (target / "budgets.csv").read_bytes() == (DEMO_REFERENCE_DIR / "budgets.csv").read_bytes()
