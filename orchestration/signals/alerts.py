"""Alerts from budget threshold crossings and severe anomalies, and their delivery.

Each alert has a deterministic `alert_key` built from what it is about
(scope, threshold or anomaly, period), and `signals.alerts` only ever gains keys
it does not hold yet, so re-running the pipeline never raises the same alert
twice. Delivery posts each pending alert to a Slack-compatible incoming webhook
and logs every attempt in `signals.alert_deliveries`.

Delivery uses urllib from the standard library: one JSON POST with a timeout is
all that is needed, and the retry/backoff policy is ours to define anyway, so a
HTTP client dependency would add nothing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from orchestration.signals.io import SIGNALS_SCHEMA

ALERT_COLUMNS = [
    "alert_key",
    "alert_type",
    "scope_type",
    "scope_id",
    "period",
    "severity",
    "title",
    "message",
    "value",
    "threshold",
    "created_at",
]
DELIVERY_COLUMNS = ["alert_key", "attempt", "status", "http_status", "error", "attempted_at", "delivered_at"]
FINAL_STATUSES = ("delivered", "not_configured")
ALERTS_DDL = f"""
create table if not exists {SIGNALS_SCHEMA}.alerts (
    alert_key varchar primary key, alert_type varchar, scope_type varchar, scope_id varchar, period varchar,
    severity varchar, title varchar, message varchar, value double, threshold double, created_at timestamp
)"""
DELIVERIES_DDL = f"""
create table if not exists {SIGNALS_SCHEMA}.alert_deliveries (
    alert_key varchar, attempt integer, status varchar, http_status integer, error varchar,
    attempted_at timestamp, delivered_at timestamp
)"""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- building


def budget_alerts(status: pd.DataFrame) -> pd.DataFrame:
    """One alert per budget, month, threshold and kind (actual or projected).

    A projected crossing is only raised while the actual spend has not reached
    that threshold yet; once it has, the actual alert says it all.
    """
    rows = []
    for r in status.itertuples(index=False):  # one row per budget-month, tens of rows
        actual = [float(t) for t in str(r.thresholds_crossed_actual or "").split("|") if t]
        projected = [float(t) for t in str(r.thresholds_crossed_projected or "").split("|") if t]
        month = pd.Timestamp(r.month).strftime("%Y-%m")
        for kind, values in (("actual", actual), ("projected", [t for t in projected if t not in actual])):
            for t in values:
                spend = r.mtd_spend_usd if kind == "actual" else r.projected_month_end_usd
                sev = "critical" if t >= 1.0 and kind == "actual" else "high" if t >= 1.0 else "medium"
                verb = "reached" if kind == "actual" else "is projected to reach"
                rows.append(
                    {
                        "alert_key": f"budget:{r.budget_id}:{month}:{t:g}:{kind}",
                        "alert_type": f"budget_{kind}",
                        "scope_type": r.scope_type,
                        "scope_id": r.scope_id,
                        "period": month,
                        "severity": sev,
                        "title": f"Budget {r.budget_id} {verb} {t:.0%} for {month}",
                        "message": (
                            f"{r.scope_type} {r.scope_id}: {'spend' if kind == 'actual' else 'projected month-end spend'} "
                            f"${spend:,.2f} of ${r.monthly_limit_usd:,.2f} ({spend / r.monthly_limit_usd:.0%}); "
                            f"as of {r.as_of_date}; owner {r.owner or 'n/a'}"
                        ),
                        "value": float(spend),
                        "threshold": t,
                    }
                )
    return pd.DataFrame(rows, columns=ALERT_COLUMNS[:-1])


def anomaly_alerts(anomalies: pd.DataFrame, severities: tuple[str, ...] = ("high", "critical")) -> pd.DataFrame:
    sel = anomalies[anomalies["severity"].isin(severities)]
    if sel.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS[:-1])
    day = pd.to_datetime(sel["date"]).dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "alert_key": "anomaly:" + sel["scope_type"] + ":" + sel["scope_id"] + ":" + day,
            "alert_type": "anomaly",
            "scope_type": sel["scope_type"],
            "scope_id": sel["scope_id"],
            "period": day,
            "severity": sel["severity"],
            "title": "Cost anomaly on " + sel["scope_type"] + " " + sel["scope_id"] + " (" + day + ")",
            "message": (
                "actual $"
                + sel["actual_cost"].map("{:,.2f}".format)
                + " vs expected $"
                + sel["expected_cost"].map("{:,.2f}".format)
                + " ("
                + sel["dollar_impact"].map("{:+,.2f}".format)
                + " USD, z="
                + sel["z_score"].map("{:.1f}".format)
                + "); driver: "
                + sel["driver"]
                + " ("
                + sel["driver_detail"]
                + ")"
            ),
            "value": sel["actual_cost"].astype(float),
            "threshold": sel["expected_cost"].astype(float),
        }
    ).reset_index(drop=True)


def record_alerts(
    con: duckdb.DuckDBPyConnection, alerts: pd.DataFrame, created_at: datetime | None = None
) -> pd.DataFrame:
    """Insert alerts whose key is new; returns the rows actually inserted."""
    con.execute(f"create schema if not exists {SIGNALS_SCHEMA}")
    con.execute(ALERTS_DDL)
    if alerts.empty:
        return alerts.assign(created_at=pd.Series(dtype="datetime64[us]"))
    frame = alerts.drop_duplicates("alert_key").assign(created_at=created_at or _now())[ALERT_COLUMNS]
    con.register("_new_alerts", frame)
    try:
        con.execute("begin transaction")
        inserted = con.execute(
            f"""select n.* from _new_alerts n
                where n.alert_key not in (select alert_key from {SIGNALS_SCHEMA}.alerts)"""
        ).df()
        con.execute(
            f"""insert into {SIGNALS_SCHEMA}.alerts
                select n.* from _new_alerts n
                where n.alert_key not in (select alert_key from {SIGNALS_SCHEMA}.alerts)"""
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_new_alerts")
    return inserted


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 4
    base_backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0


def slack_payload(alert: dict) -> dict:
    """Slack incoming-webhook message: plain `text` fallback plus Block Kit blocks."""
    headline = f"[{str(alert['severity']).upper()}] {alert['title']}"
    return {
        "text": f"{headline}: {alert['message']}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{alert['message']}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"AgentLedger alert `{alert['alert_key']}`"}]},
        ],
    }


def post_json(url: str, payload: dict, timeout: float) -> int:
    """POST JSON; returns the HTTP status (raises for network errors)."""
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def deliver_one(
    alert: dict, url: str, policy: DeliveryPolicy, first_attempt: int = 1, sleep: Callable[[float], None] = time.sleep
) -> list[dict]:
    """Try up to `policy.max_attempts` times with exponential backoff; one record per attempt."""
    records = []
    for i in range(policy.max_attempts):
        attempt = first_attempt + i
        status_code, error = None, None
        try:
            status_code = post_json(url, slack_payload(alert), policy.timeout_seconds)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status_code is not None and 200 <= status_code < 300
        last = i == policy.max_attempts - 1
        if not ok and error is None:
            error = f"HTTP {status_code}"
        now = _now()
        records.append(
            {
                "alert_key": alert["alert_key"],
                "attempt": attempt,
                "status": "delivered" if ok else ("failed" if last else "retrying"),
                "http_status": status_code,
                "error": None if ok else error,
                "attempted_at": now,
                "delivered_at": now if ok else None,
            }
        )
        if ok:
            break
        if not last:
            sleep(policy.base_backoff_seconds * 2**i)
    return records


def pending_alerts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Alerts without a final delivery record (failed ones are retried next run)."""
    con.execute(f"create schema if not exists {SIGNALS_SCHEMA}")
    con.execute(ALERTS_DDL)
    con.execute(DELIVERIES_DDL)
    return con.execute(
        f"""select a.*, coalesce((select max(d.attempt) from {SIGNALS_SCHEMA}.alert_deliveries d
                                   where d.alert_key = a.alert_key), 0) as previous_attempts
            from {SIGNALS_SCHEMA}.alerts a
            where a.alert_key not in (select alert_key from {SIGNALS_SCHEMA}.alert_deliveries
                                      where status in {FINAL_STATUSES})
            order by a.created_at, a.alert_key"""
    ).df()


def deliver_pending(
    con: duckdb.DuckDBPyConnection,
    webhook_url: str | None,
    policy: DeliveryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Send every pending alert (or record 'not_configured'); returns the attempt records."""
    policy = policy or DeliveryPolicy()
    pending = pending_alerts(con)
    records: list[dict] = []
    for alert in pending.to_dict("records"):  # network I/O per alert; inherently one at a time
        first = int(alert["previous_attempts"]) + 1
        if not webhook_url:
            now = _now()
            records.append(
                {
                    "alert_key": alert["alert_key"],
                    "attempt": first,
                    "status": "not_configured",
                    "http_status": None,
                    "error": "AGENTLEDGER_ALERT_WEBHOOK_URL is not set",
                    "attempted_at": now,
                    "delivered_at": None,
                }
            )
            continue
        records.extend(deliver_one(alert, webhook_url, policy, first, sleep))
    frame = pd.DataFrame(records, columns=DELIVERY_COLUMNS)
    if not frame.empty:
        frame["http_status"] = frame["http_status"].astype("Int64")
        frame["attempted_at"] = pd.to_datetime(frame["attempted_at"])
        frame["delivered_at"] = pd.to_datetime(frame["delivered_at"])
        con.register("_deliveries", frame)
        try:
            con.execute(f"insert into {SIGNALS_SCHEMA}.alert_deliveries select * from _deliveries")
        finally:
            con.unregister("_deliveries")
    return frame
