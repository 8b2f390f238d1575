import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pandas as pd

from orchestration.signals.alerts import (
    DeliveryPolicy,
    anomaly_alerts,
    budget_alerts,
    deliver_pending,
    record_alerts,
)


class Hook:
    """A local webhook answering with a scripted sequence of HTTP statuses."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.bodies = list(statuses), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(body))
                code = hook.statuses.pop(0) if len(hook.statuses) > 1 else hook.statuses[0]
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"error")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # ephemeral port
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


FAST = DeliveryPolicy(max_attempts=3, base_backoff_seconds=0.01, timeout_seconds=5)


def _status_row(**over):
    row = {
        "budget_id": "b1",
        "scope_type": "workspace",
        "scope_id": "ws-a",
        "month": pd.Timestamp("2026-10-01").date(),
        "as_of_date": pd.Timestamp("2026-10-20").date(),
        "monthly_limit_usd": 250.0,
        "mtd_spend_usd": 200.0,
        "projected_month_end_usd": 310.0,
        "thresholds_crossed_actual": "0.5|0.8",
        "thresholds_crossed_projected": "0.5|0.8|1",
        "owner": "ops",
    }
    row.update(over)
    return pd.DataFrame([row])


def _anomalies():
    return pd.DataFrame(
        {
            "scope_type": ["agent", "agent"],
            "scope_id": ["agent-0", "agent-1"],
            "date": pd.to_datetime(["2026-10-02", "2026-10-03"]).date,
            "actual_cost": [500.0, 30.0],
            "expected_cost": [100.0, 10.0],
            "deviation": [4.0, 2.0],
            "z_score": [20.0, 9.0],
            "dollar_impact": [400.0, 20.0],
            "severity": ["critical", "low"],
            "driver": ["volume", "volume"],
            "driver_detail": ["calls +400%", "calls +200%"],
        }
    )


def test_budget_alert_keys_and_projected_only_when_not_actual():
    alerts = budget_alerts(_status_row())
    assert alerts["alert_key"].tolist() == [
        "budget:b1:2026-10:0.5:actual",
        "budget:b1:2026-10:0.8:actual",
        "budget:b1:2026-10:1:projected",
    ]
    assert alerts["severity"].tolist() == ["medium", "medium", "high"]


def test_only_high_and_critical_anomalies_alert():
    alerts = anomaly_alerts(_anomalies())
    assert alerts["alert_key"].tolist() == ["anomaly:agent:agent-0:2026-10-02"]
    assert "driver: volume" in alerts["message"].iloc[0]


def test_alerts_are_emitted_once(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    alerts = pd.concat([budget_alerts(_status_row()), anomaly_alerts(_anomalies())], ignore_index=True)
    assert len(record_alerts(con, alerts)) == 4
    assert len(record_alerts(con, alerts)) == 0  # rerun: nothing new
    more = budget_alerts(_status_row(mtd_spend_usd=260.0, thresholds_crossed_actual="0.5|0.8|1"))
    new = record_alerts(con, more)
    assert new["alert_key"].tolist() == ["budget:b1:2026-10:1:actual"]
    assert con.execute("select count(*) from signals.alerts").fetchone()[0] == 5
    con.close()


def test_no_webhook_records_not_configured_once(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    record_alerts(con, anomaly_alerts(_anomalies()))
    first = deliver_pending(con, None, FAST)
    assert first["status"].tolist() == ["not_configured"]
    assert deliver_pending(con, None, FAST).empty
    con.close()


def test_delivery_posts_slack_json(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    record_alerts(con, anomaly_alerts(_anomalies()))
    with Hook([200]) as hook:
        out = deliver_pending(con, hook.url, FAST)
    assert out[["attempt", "status", "http_status"]].values.tolist() == [[1, "delivered", 200]]
    body = hook.bodies[0]
    assert body["text"].startswith("[CRITICAL] Cost anomaly on agent agent-0 (2026-10-02)")
    assert (
        body["blocks"][0]["type"] == "section"
        and "anomaly:agent:agent-0:2026-10-02" in body["blocks"][1]["elements"][0]["text"]
    )
    assert deliver_pending(con, hook.url, FAST).empty  # delivered alerts are not sent again
    con.close()


def test_retry_after_500_then_success(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    record_alerts(con, anomaly_alerts(_anomalies()))
    waits = []
    with Hook([500, 200]) as hook:
        out = deliver_pending(con, hook.url, FAST, sleep=waits.append)
    assert out[["attempt", "status", "http_status"]].values.tolist() == [[1, "retrying", 500], [2, "delivered", 200]]
    assert out["error"].tolist()[0] == "HTTP 500" and pd.isna(out["error"].tolist()[1])
    assert waits == [0.01]
    con.close()


def test_always_500_fails_after_max_attempts_and_is_retried_next_run(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    record_alerts(con, anomaly_alerts(_anomalies()))
    waits = []
    with Hook([500]) as hook:
        out = deliver_pending(con, hook.url, FAST, sleep=waits.append)
        assert out["status"].tolist() == ["retrying", "retrying", "failed"]
        assert waits == [0.01, 0.02]  # exponential backoff
        assert len(hook.bodies) == 3
        again = deliver_pending(con, hook.url, FAST, sleep=waits.append)
    assert again["attempt"].tolist() == [4, 5, 6]
    con.close()


def test_unreachable_endpoint_records_error(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    record_alerts(con, anomaly_alerts(_anomalies()))
    with Hook([200]) as hook:
        url = hook.url
    out = deliver_pending(
        con, url, DeliveryPolicy(max_attempts=2, base_backoff_seconds=0, timeout_seconds=2), sleep=lambda s: None
    )
    assert out["status"].tolist() == ["retrying", "failed"]
    assert out["http_status"].isna().all() and out["error"].str.contains("URLError|ConnectionRefused").all()
    con.close()
