"""Seeded mutation fuzzing of valid canonical and OTLP files through the real loader.

Each round mutates valid files (truncate, flip bytes, drop keys, change
types, nest, duplicate, splice invalid UTF-8, plant content) and loads the
whole batch: no exception may escape, every file gets a ledger row, rows are
conserved, and no planted marker reaches the warehouse. A seeded generator
(not Hypothesis) keeps the run reproducible and bounded: set
AGENTLEDGER_FUZZ_ROUNDS / AGENTLEDGER_FUZZ_SEED to fuzz longer.
"""

from __future__ import annotations

import gzip
import json
import os
import random

import pytest

from orchestration.ingest import ingest_window
from orchestration.ingest.landing import discover

import hostile_corpus as hc
from ingest_support import make_settings, query

ROUNDS = int(os.environ.get("AGENTLEDGER_FUZZ_ROUNDS", "6"))
SEED = int(os.environ.get("AGENTLEDGER_FUZZ_SEED", "20260301"))
FILES_PER_ROUND = 14
M = hc.MARKER


def _valid_canonical(rng: random.Random, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        row = hc.span(
            f"fz-{rng.randrange(10**9)}-{i}",
            tags={"team": rng.choice(["a", "b"]), "gen_ai.prompt": f"{M} p"},
            user_id=f"user-{i}",
            reported_cost_usd=round(rng.random(), 4),
            time_to_first_token_ms=rng.randrange(1000),
        )
        rows.append(row)
    return rows


def _valid_otlp(rng: random.Random, n: int) -> dict:
    spans = [
        hc.otlp_span(
            f"{rng.randrange(16**16):016x}",
            extra_attrs=[{"key": "gen_ai.input.messages", "value": {"stringValue": f"{M} in"}}],
            events=[{"name": "e", "attributes": [{"key": "content", "value": {"stringValue": M}}]}],
        )
        for _ in range(n)
    ]
    return hc.otlp_request(*spans)


def _mutate_value(rng: random.Random, value):
    choice = rng.randrange(9)
    if choice == 0:
        return None
    if choice == 1:
        return f"{M} {value}"  # content where a value belongs (only enum/number/time columns may be hit)
    if choice == 2:
        return [value]
    if choice == 3:
        return {"v": value, "gen_ai.completion": M}
    if choice == 4:
        return rng.choice(["NaN", "-Infinity", "1e400", "0x1f", " ", "\t", "", "-0", "99999999999999999999"])
    if choice == 5:
        return rng.choice([True, False, 1.5, -1, 10**30])
    if choice == 6:
        return json.loads("[" * 300 + "]" * 300)
    if choice == 7:
        return value * 3 if isinstance(value, str) else value
    return value


# Columns whose value may legitimately be stored (a planted marker there is not a leak).
_STORED_TEXT = {
    "span_id",
    "trace_id",
    "parent_span_id",
    "provider",
    "request_model",
    "response_model",
    "tool_name",
    "workspace_id",
    "department",
    "agent_id",
    "agent_name",
    "conversation_id",
    "environment",
    "error_type",
}


def _mutate_row(rng: random.Random, row: dict) -> dict:
    row = dict(row)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        key = rng.choice(list(row))
        if op == 0:
            row.pop(key, None)
        elif op == 1 and key not in _STORED_TEXT:
            row[key] = _mutate_value(rng, row[key])
        elif op == 2:
            row[f"extra_{M}_{rng.randrange(9)}"] = f"{M} extra"
        elif op == 3:
            row["tags"] = rng.choice(
                [
                    '{"GEN_AI.PROMPT":"' + M + '"}',
                    '{"a":{"b":{"gen_ai.input.messages":"' + M + '"}}}',
                    '{"gen_ai\\u002eprompt":"' + M + '","k":"v"}',
                    '{"k":"1","k":"2"}',
                    f"not json {M}",
                    '["' + M + '"]',
                ]
            )
        elif op == 4 and key not in _STORED_TEXT:
            row[key] = _mutate_value(rng, row[key])
    return row


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(7)
    if not data:
        return data
    if op == 0:
        return data[: rng.randrange(len(data))]  # truncate
    if op == 1:
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)  # flip bytes (anywhere: structure, not only values)
        return bytes(buf)
    if op == 2:
        cut = rng.randrange(len(data))
        return data[:cut] + b"\xff\xfe" + M.encode() + data[cut:]  # invalid UTF-8 with content
    if op == 3:
        return data + data  # duplicate
    if op == 4:
        lines = data.split(b"\n")
        rng.shuffle(lines)
        return b"\n".join(lines)
    if op == 5:
        return b"\xef\xbb\xbf" + data
    return data.replace(b"\n", b"\r\n")


def _write_round(rng: random.Random, landing) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    for i in range(FILES_PER_ROUND):
        kind = rng.choice(["jsonl", "csv", "otlp", "otlp_json", "gz"])
        if kind in ("jsonl", "gz"):
            rows = [
                _mutate_row(rng, r) if rng.random() < 0.5 else r for r in _valid_canonical(rng, rng.randrange(0, 6))
            ]
            data = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
        elif kind == "csv":
            rows = _valid_canonical(rng, rng.randrange(0, 6))
            cols = list(rows[0]) if rows else ["span_id"]
            if rng.random() < 0.3:
                cols.append(f"prompt_{M}")
            data = (",".join(cols) + "\n").encode()
            for r in rows:
                r = _mutate_row(rng, r) if rng.random() < 0.5 else r
                data += (",".join(json.dumps(r.get(c, "")) for c in cols) + "\n").encode()
            kind = "csv"
        elif kind == "otlp":
            data = b"".join(
                json.dumps(_valid_otlp(rng, rng.randrange(1, 4))).encode() + b"\n" for _ in range(rng.randrange(1, 3))
            )
        else:
            data = json.dumps(_valid_otlp(rng, 2), indent=1).encode()
        if rng.random() < 0.6:
            data = _mutate_bytes(rng, data)
        name = {"jsonl": "jsonl", "csv": "csv", "otlp": "otlp.jsonl", "otlp_json": "json", "gz": "jsonl.gz"}[kind]
        if kind == "gz":
            data = gzip.compress(data)
            if rng.random() < 0.3:
                data = _mutate_bytes(rng, data)
        glob = rng.choice(["", "[1]", "*", "?", "{a,b}"])
        (landing / f"f{i:02d}{glob}.{name}").write_bytes(data)


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_mutated_files_never_stop_a_load_lose_rows_or_leak_content(tmp_path, monkeypatch, round_no):
    settings = make_settings(tmp_path, monkeypatch)
    rng = random.Random(SEED + round_no)
    _write_round(rng, settings.landing_dir)
    summary = ingest_window(settings, None, None)  # must not raise
    ledger = query(
        settings,
        "select source_file, status, rows_read, rows_loaded, rows_quarantined, duplicates_skipped from raw.ingestion_ledger",
    )
    assert {e.rel for e in discover(settings.landing_dir)} == {r[0] for r in ledger}
    for rel, status, read, loaded, quarantined, dups in ledger:
        assert read == loaded + quarantined + dups, rel
        if status != "loaded":
            assert read == 0, rel
    assert summary.rows_read == summary.rows_loaded + summary.rows_quarantined + summary.duplicates_skipped
    from test_ingest_hostile import _marker_hits

    # A marker may only be stored as a span's own contract value (the fuzzer never
    # plants it in such columns of valid rows), never anywhere else.
    assert _marker_hits(settings.warehouse_path, M) == []
