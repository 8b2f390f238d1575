import textwrap

import pandas as pd
import pytest

from orchestration.reference import DEMO_REFERENCE_DIR, EXAMPLES_DIR
from orchestration.signals import budgets_cli
from orchestration.signals.budgets import (
    Budget,
    BudgetValidationError,
    budget_status,
    known_scopes_from,
    load_budgets,
    parse_thresholds,
    read_budgets,
)

HEADER = "budget_id,scope_type,scope_id,monthly_limit_usd,alert_thresholds,owner,notes\n"


def _seed(tmp_path, body: str):
    path = tmp_path / "budgets.csv"
    path.write_text(HEADER + textwrap.dedent(body).lstrip())
    return path


def test_parse_thresholds():
    assert parse_thresholds("0.5|0.8|1.0", "x") == (0.5, 0.8, 1.0)
    with pytest.raises(BudgetValidationError, match="not strictly increasing"):
        parse_thresholds("0.5|0.5|1.0", "x")
    with pytest.raises(BudgetValidationError, match="outside \\(0, 2\\]"):
        parse_thresholds("0.5|2.5", "x")
    with pytest.raises(BudgetValidationError, match="outside \\(0, 2\\]"):
        parse_thresholds("0|1", "x")


INVALID_ROWS = [
    (
        "b1,workspace,ws-a,-10,0.5|1.0,o,",
        "monthly_limit_usd",
        r"budgets.csv line 2 \(budget_id=b1\): field monthly_limit_usd = '-10'; expected a positive",
    ),
    ("b2,team,ws-a,10,0.5|1.0,o,", "scope_type", r"line 2 \(budget_id=b2\): field scope_type = 'team'"),
    (
        "b4,agent,agent-0,10,0.8|0.5,o,",
        "alert_thresholds",
        r"line 2 \(budget_id=b4\): field alert_thresholds = '0.8\|0.5' is not strictly increasing",
    ),
    (
        "b5,agent,agent-0,ten,0.5,o,",
        "monthly_limit_usd",
        r"line 2 \(budget_id=b5\): field monthly_limit_usd = 'ten' is not a number",
    ),
]


@pytest.mark.parametrize(("row", "field", "message"), INVALID_ROWS)
def test_invalid_rows_are_rejected_naming_the_row(tmp_path, row, field, message):
    path = _seed(tmp_path, row + "\n")
    with pytest.raises(BudgetValidationError, match=message):
        load_budgets(path)


@pytest.mark.parametrize(("row", "field", "message"), INVALID_ROWS)
def test_invalid_rows_are_reported_and_the_others_still_load(tmp_path, row, field, message):
    path = _seed(tmp_path, "ok1,workspace,ws-a,10,0.5|1.0,o,\n" + row + "\nok2,agent,agent-0,5,1.0,o,\n")
    loaded = read_budgets(path)
    assert [b.budget_id for b in loaded.budgets] == ["ok1", "ok2"]
    [error] = loaded.errors
    assert (error.source_file, error.line, error.field) == (str(path), 3, field)
    assert error.budget_id == row.split(",")[0]
    frame = loaded.errors_frame()
    assert list(frame["line"]) == [3]


def test_duplicate_budget_id_is_rejected(tmp_path):
    path = _seed(tmp_path, "b1,workspace,ws-a,10,0.5,o,\nb1,workspace,ws-a,20,0.5,o,\n")
    with pytest.raises(BudgetValidationError, match="line 3 \\(budget_id=b1\\): duplicate budget_id"):
        load_budgets(path)
    loaded = read_budgets(path)
    assert [b.monthly_limit_usd for b in loaded.budgets] == [10.0]
    assert [(e.line, e.field) for e in loaded.errors] == [(3, "budget_id")]


def test_missing_file_means_no_budgets_and_a_bad_header_one_error(tmp_path):
    assert read_budgets(tmp_path / "absent.csv").budgets == []
    assert read_budgets(None).errors == []
    bad = tmp_path / "budgets.csv"
    bad.write_text("id,limit\nb1,10\n")
    loaded = read_budgets(bad)
    assert loaded.budgets == [] and [e.line for e in loaded.errors] == [1]
    assert "missing column(s)" in loaded.errors[0].message


def test_shipped_example_and_demo_budgets_are_valid():
    example = load_budgets(EXAMPLES_DIR / "budgets.example.csv")
    assert {b.scope_type for b in example} == {"workspace", "department", "agent"}
    demo = load_budgets(DEMO_REFERENCE_DIR / "budgets.csv")
    assert len(demo) >= 5
    assert {b.scope_type for b in demo} == {"workspace", "department", "agent"}


def test_budget_without_traffic_is_valid_and_shows_no_traffic():
    quiet = Budget("b-new", "workspace", "ws-zzz", 100.0, (0.5, 1.0), "ops", "")
    busy = Budget("b1", "workspace", "ws-a", 250.0, (0.5, 1.0), "ops", "")
    st = budget_status([quiet, busy], _days()).set_index("budget_id")
    assert st.loc["b-new", "status"] == "no_traffic"
    assert st.loc["b-new", "mtd_spend_usd"] == 0.0 and st.loc["b-new", "projected_month_end_usd"] == 0.0
    assert "no calls for workspace 'ws-zzz'" in st.loc["b-new", "note"]
    assert st.loc["b1", "status"] != "no_traffic" and pd.isna(st.loc["b1", "note"])


def test_budgets_with_no_data_at_all_are_no_traffic():
    b = Budget("b1", "agent", "agent-0", 10.0, (1.0,), "ops", "")
    empty = _days().iloc[0:0]
    st = budget_status([b], empty, today=pd.Timestamp("2026-10-15").date())
    assert list(st["status"]) == ["no_traffic"] and str(st["month"].iloc[0]) == "2026-10-01"


def _days(start="2026-10-01", days=20, per_day=10.0):
    dates = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame(
        {"date": dates, "workspace_id": "ws-a", "department": "d", "agent_id": "agent-0", "cost": per_day}
    )


def test_status_month_to_date_projection_and_thresholds():
    # October 1-20 at $10/day = $200 MTD; 11 days left at run rate $10 -> $310 projected.
    b = Budget("b1", "workspace", "ws-a", 250.0, (0.5, 0.8, 1.0), "ops", "")
    st = budget_status([b], _days()).iloc[0]
    assert st["mtd_spend_usd"] == 200.0 and st["utilisation"] == 0.8
    assert st["projected_month_end_usd"] == 310.0 and st["projection_method"] == "run_rate_7d"
    assert st["thresholds_crossed_actual"] == "0.5|0.8"
    assert st["thresholds_crossed_projected"] == "0.5|0.8|1"
    assert str(st["projected_exceed_date"]) == "2026-10-25"  # cumulative 250 reached on day 25
    assert st["exceeded_on"] is None and st["status"] == "projected_breach"


def test_status_uses_forecast_and_closes_past_months():
    ad = _days(start="2026-09-21", days=30)  # Sep 21-30 and Oct 1-20
    fc = pd.DataFrame(
        {
            "scope_type": "workspace",
            "scope_id": "ws-a",
            "date": pd.date_range("2026-10-21", periods=30).date,
            "is_history": False,
            "yhat": 1.0,
        }
    )
    b = Budget("b1", "workspace", "ws-a", 90.0, (0.5, 1.0), "ops", "")
    st = budget_status([b], ad, fc).set_index("month")
    sep, oct_ = st.loc[pd.Timestamp("2026-09-01").date()], st.loc[pd.Timestamp("2026-10-01").date()]
    assert sep["projection_method"] == "complete_month" and sep["projected_month_end_usd"] == 100.0
    assert str(sep["exceeded_on"]) == "2026-09-29" and sep["status"] == "breached"
    assert oct_["projection_method"] == "forecast" and oct_["projected_month_end_usd"] == 211.0


def test_known_scopes_from_agent_days():
    scopes = known_scopes_from(_days())
    assert scopes == {"workspace": {"ws-a"}, "department": {"d"}, "agent": {"agent-0"}}


def test_cli_set_list_remove_with_validation(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    seed = _seed(tmp_path, "b1,workspace,ws-a,100,0.5|1.0,ops,\n")
    assert budgets_cli.main(["set", "b1", "--limit", "150", "--no-scope-check"], budgets_file=seed) == 0
    assert (
        budgets_cli.main(
            [
                "set",
                "b9",
                "--scope-type",
                "agent",
                "--scope-id",
                "agent-0",
                "--limit",
                "5",
                "--thresholds",
                "0.8|1.2",
                "--no-scope-check",
            ],
            budgets_file=seed,
        )
        == 0
    )
    capsys.readouterr()
    assert budgets_cli.main(["list"], budgets_file=seed) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["b1\tworkspace\tws-a\t150.00\t0.5|1\tops", "b9\tagent\tagent-0\t5.00\t0.8|1.2\t"]
    assert budgets_cli.main(["set", "b1", "--limit", "-3", "--no-scope-check"], budgets_file=seed) == 2
    assert "field monthly_limit_usd = '-3'" in capsys.readouterr().err
    assert budgets_cli.main(["remove", "b1"], budgets_file=seed) == 0
    capsys.readouterr()
    budgets_cli.main(["list"], budgets_file=seed)
    assert capsys.readouterr().out.splitlines() == ["b9\tagent\tagent-0\t5.00\t0.8|1.2\t"]
    assert (tmp_path / "data" / "budgets" / "overrides.csv").exists()


def test_cli_works_without_a_budgets_file(tmp_path, monkeypatch, capsys):
    """A new data dir has no reference/budgets.csv: list is empty, set creates an override."""
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    assert budgets_cli.main(["list"]) == 0
    assert capsys.readouterr().out == ""
    assert (
        budgets_cli.main(
            [
                "set",
                "b1",
                "--scope-type",
                "workspace",
                "--scope-id",
                "ws-new",
                "--limit",
                "50",
                "--thresholds",
                "0.8|1.0",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert budgets_cli.main(["list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["b1\tworkspace\tws-new\t50.00\t0.8|1\t"]
