import textwrap

import numpy as np
import pandas as pd
import pytest

from orchestration.signals import budgets_cli
from orchestration.signals.budgets import (
    SEED_PATH,
    Budget,
    BudgetValidationError,
    budget_status,
    known_scopes_from,
    load_budgets,
    parse_thresholds,
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


@pytest.mark.parametrize("row, message", [
    ("b1,workspace,ws-a,-10,0.5|1.0,o,", r"budgets.csv line 2 \(budget_id=b1\): field monthly_limit_usd = '-10'; expected a positive"),
    ("b2,team,ws-a,10,0.5|1.0,o,", r"line 2 \(budget_id=b2\): field scope_type = 'team'"),
    ("b3,workspace,ws-zzz,10,0.5|1.0,o,", r"line 2 \(budget_id=b3\): field scope_id = 'ws-zzz' is not a known workspace"),
    ("b4,agent,agent-0,10,0.8|0.5,o,", r"line 2 \(budget_id=b4\): field alert_thresholds = '0.8\|0.5' is not strictly increasing"),
    ("b5,agent,agent-0,ten,0.5,o,", r"line 2 \(budget_id=b5\): field monthly_limit_usd = 'ten' is not a number"),
])
def test_invalid_rows_are_rejected_naming_the_row(tmp_path, row, message):
    path = _seed(tmp_path, row + "\n")
    scopes = {"workspace": {"ws-a"}, "department": {"d"}, "agent": {"agent-0"}}
    with pytest.raises(BudgetValidationError, match=message):
        load_budgets(path, known_scopes=scopes)


def test_duplicate_budget_id_is_rejected(tmp_path):
    path = _seed(tmp_path, "b1,workspace,ws-a,10,0.5,o,\nb1,workspace,ws-a,20,0.5,o,\n")
    with pytest.raises(BudgetValidationError, match="line 3 \\(budget_id=b1\\): duplicate budget_id"):
        load_budgets(path)


def test_repository_seed_is_valid():
    budgets = load_budgets(SEED_PATH)
    assert len(budgets) >= 5
    assert {b.scope_type for b in budgets} == {"workspace", "department", "agent"}


def _days(start="2026-10-01", days=20, per_day=10.0):
    dates = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame({"date": dates, "workspace_id": "ws-a", "department": "d", "agent_id": "agent-0", "cost": per_day})


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
    fc = pd.DataFrame({
        "scope_type": "workspace", "scope_id": "ws-a", "date": pd.date_range("2026-10-21", periods=30).date,
        "is_history": False, "yhat": 1.0,
    })
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
    seed = _seed(tmp_path, "b1,workspace,ws-a,100,0.5|1.0,ops,\n")
    assert budgets_cli.main(["set", "b1", "--limit", "150", "--no-scope-check"], seed_path=seed) == 0
    assert budgets_cli.main(["set", "b9", "--scope-type", "agent", "--scope-id", "agent-0", "--limit", "5",
                             "--thresholds", "0.8|1.2", "--no-scope-check"], seed_path=seed) == 0
    capsys.readouterr()
    assert budgets_cli.main(["list"], seed_path=seed) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["b1\tworkspace\tws-a\t150.00\t0.5|1\tops", "b9\tagent\tagent-0\t5.00\t0.8|1.2\t"]
    assert budgets_cli.main(["set", "b1", "--limit", "-3", "--no-scope-check"], seed_path=seed) == 2
    assert "field monthly_limit_usd = '-3'" in capsys.readouterr().err
    assert budgets_cli.main(["remove", "b1"], seed_path=seed) == 0
    capsys.readouterr()
    budgets_cli.main(["list"], seed_path=seed)
    assert capsys.readouterr().out.splitlines() == ["b9\tagent\tagent-0\t5.00\t0.8|1.2\t"]
    assert (tmp_path / "data" / "budgets" / "overrides.csv").exists()
