"""Scoring the anomaly detector against the generator's ground-truth labels.

Labels (`<data dir>/ground_truth/anomalies.csv`: anomaly_id, kind, workspace_id,
agent_id, start_date, end_date inclusive, expected_effect,
expected_cost_multiplier) are expanded to agent-days; a detection is an
agent-scope anomaly row. Precision, recall and F1 are counted over agent-days,
and again over workspace-days (a workspace-day is labelled when any of its
agents is). Recall is also reported per anomaly kind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

LABEL_COLUMNS = [
    "anomaly_id",
    "kind",
    "workspace_id",
    "agent_id",
    "start_date",
    "end_date",
    "expected_effect",
    "expected_cost_multiplier",
]
QUALITY_COLUMNS = [
    "grain",
    "kind",
    "labelled",
    "detected",
    "true_positives",
    "false_positives",
    "false_negatives",
    "precision",
    "recall",
    "f1",
    "evaluated_at",
]


def read_labels(path: Path) -> pd.DataFrame:
    labels = pd.read_csv(path, dtype=str)
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected header {','.join(LABEL_COLUMNS)}")
    return labels


def expand_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per labelled agent-day (labels without an agent are skipped here)."""
    lab = labels.dropna(subset=["agent_id"]).copy()
    lab = lab[lab["agent_id"].astype(str).str.len() > 0]
    if lab.empty:
        return pd.DataFrame(columns=["agent_id", "workspace_id", "date", "kind"])
    lab["date"] = [
        pd.date_range(s, e, freq="D")
        for s, e in zip(pd.to_datetime(lab["start_date"]), pd.to_datetime(lab["end_date"]))
    ]
    days = lab.explode("date")[["agent_id", "workspace_id", "date", "kind"]]
    days["date"] = pd.to_datetime(days["date"]).dt.date
    return days.drop_duplicates(["agent_id", "date"]).reset_index(drop=True)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


def _score(grain: str, kind: str, truth: set, found: set, with_precision: bool = True) -> dict:
    tp, fp, fn = len(truth & found), len(found - truth), len(truth - found)
    p, r, f = _prf(tp, fp, fn)
    return {
        "grain": grain,
        "kind": kind,
        "labelled": len(truth),
        "detected": len(found) if with_precision else None,
        "true_positives": tp,
        "false_positives": fp if with_precision else None,
        "false_negatives": fn,
        "precision": p if with_precision else None,
        "recall": r,
        "f1": f if with_precision else None,
    }


def score_detection(detected: pd.DataFrame, labels: pd.DataFrame, date_range: tuple | None = None) -> pd.DataFrame:
    """Precision/recall/F1 of `detected` (signals.cost_anomalies rows) against `labels`.

    `date_range` (first, last) limits the labels to the days that were scored.
    """
    truth_days = expand_labels(labels)
    if date_range is not None:
        lo, hi = (pd.Timestamp(d).date() for d in date_range)
        truth_days = truth_days[(truth_days["date"] >= lo) & (truth_days["date"] <= hi)]
    det = detected.assign(date=pd.to_datetime(detected["date"]).dt.date)
    agent_found = set(
        zip(det.loc[det["scope_type"] == "agent", "scope_id"], det.loc[det["scope_type"] == "agent", "date"])
    )
    agent_truth = set(zip(truth_days["agent_id"], truth_days["date"]))
    ws_found = set(
        zip(det.loc[det["scope_type"] == "workspace", "scope_id"], det.loc[det["scope_type"] == "workspace", "date"])
    )
    ws_truth = set(zip(truth_days["workspace_id"], truth_days["date"]))
    rows = [_score("agent_day", "all", agent_truth, agent_found), _score("workspace_day", "all", ws_truth, ws_found)]
    for kind, part in truth_days.groupby("kind"):
        rows.append(_score("agent_day", str(kind), set(zip(part["agent_id"], part["date"])), agent_found, False))
    out = pd.DataFrame(rows)
    out["evaluated_at"] = datetime.now(UTC).replace(tzinfo=None)
    return out[QUALITY_COLUMNS]


def empty_quality_frame() -> pd.DataFrame:
    """The quality table's columns with no rows (no labels to score against)."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in QUALITY_COLUMNS})
    for c in ("grain", "kind"):
        frame[c] = frame[c].astype("string")
    frame["evaluated_at"] = pd.Series(dtype="datetime64[us]")
    return frame
