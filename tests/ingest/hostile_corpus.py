"""The hostile-input corpus: malformed, hostile and awkward landing files.

Text cases live in tests/fixtures/ingest/hostile/ (written by this module:
`python tests/ingest/hostile_corpus.py` rewrites them), each with its
expected outcome in cases.json beside them. Cases that must be binary, huge
or special (corrupt gzip, 100k-deep nesting, 128 KB headers, symlinks, a
FIFO, file names with glob characters) are generated into the landing
folder by `build_generated` at test time.

Every planted secret contains MARKER, so a test can search the whole
warehouse for it. File names are lineage (stored in source_file) and carry
no marker.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "hostile"
MARKER = "PLANTEDXSECRET"
DAY = "2026-03-01"
# Limits the corpus test runs with (small enough to exercise, large enough for the other cases).
LIMITS_ENV = {
    "AGENTLEDGER_INGEST_MAX_LINE_BYTES": str(1024 * 1024),
    "AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES": str(8 * 1024 * 1024),
}


def span(sid: str, **over) -> dict:
    row = {
        "span_id": sid,
        "trace_id": "t-" + sid,
        "started_at": f"{DAY}T10:00:00Z",
        "duration_ms": 100,
        "operation": "chat",
        "provider": "openai",
        "request_model": "gpt-4o",
        "workspace_id": "ws-h",
        "status": "ok",
        "input_tokens": 10,
        "output_tokens": 5,
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not ...}


def jl(*rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)


CSV_HEADER = "span_id,trace_id,started_at,duration_ms,operation,provider,request_model,workspace_id,status,input_tokens,output_tokens"


def csv_row(sid: str, tokens: str = "10") -> str:
    return f"{sid},t-{sid},{DAY} 10:00:00,100,chat,openai,gpt-4o,ws-h,ok,{tokens},5"


def otlp_request(*spans_: dict, resource_attrs=()) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.namespace", "value": {"stringValue": "ws-otel"}}, *resource_attrs]
                },
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans_)}],
            }
        ]
    }


def otlp_span(span_hex: str, extra_attrs=(), events=()) -> dict:
    start = 1772359200_000000000  # 2026-03-01 10:00:00 UTC
    attrs = [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "10"}},
        *extra_attrs,
    ]
    return {
        "traceId": "0af7651916cd43dd8448eb211c8031" + span_hex[:2],
        "spanId": span_hex,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_500_000_000),
        "attributes": attrs,
        "events": list(events),
        "status": {"code": 1},
    }


def _text_cases() -> dict[str, bytes]:
    """File name -> bytes of every text case kept as a fixture."""
    M = MARKER
    content_attrs = [
        {"key": "gen_ai.input.messages", "value": {"stringValue": f'[{{"content": "{M} prompt"}}]'}},
        {"key": "gen_ai.prompt.0.content", "value": {"stringValue": f"{M} old prompt"}},
        {"key": "GEN_AI.COMPLETION.0.content", "value": {"stringValue": f"{M} completion"}},
        {"key": f"{M}.key", "value": {"stringValue": f"{M} value"}},
    ]
    events = [
        {"name": "gen_ai.user.message", "attributes": [{"key": "content", "value": {"stringValue": f"{M} event"}}]}
    ]
    return {
        "tags_nested.jsonl": jl(span("h-tn-1", tags={"team": "blue", "meta": {"gen_ai.prompt": f"{M} nested"}})),
        "tags_escaped.jsonl": b'{"span_id":"h-te-1","trace_id":"t","started_at":"2026-03-01T10:00:00Z","duration_ms":1,'
        b'"operation":"chat","provider":"openai","request_model":"m","workspace_id":"ws-h","status":"ok","input_tokens":1,'
        b'"output_tokens":1,"tags":"{\\"team\\":\\"red\\",\\"gen_ai\\\\u002eprompt\\":\\"'
        + M.encode()
        + b' escaped\\"}"}\n',
        "tags_upper.jsonl": jl(
            span("h-tu-1", tags={"GEN_AI.PROMPT": f"{M} upper", " Input.Value ": f"{M} spaced", "team": "g"})
        ),
        "tags_dupkey.jsonl": jl(span("h-td-1", tags='{"team":"a","team":"b"}')),
        "tags_dupkey_content.jsonl": jl(
            span("h-tdc-1", tags='{"team":"a","team":"b","gen_ai.completion":"' + M + '"}')
        ),
        "tags_not_object.jsonl": jl(span("h-tno-1", tags=f'["{M} in an array"]'), span("h-tno-2")),
        "bom.csv": ("\ufeff" + CSV_HEADER + "\n" + csv_row("h-bc-1") + "\n").encode(),
        "bom.jsonl": b"\xef\xbb\xbf" + jl(span("h-bj-1"), span("h-bj-2")),
        "bom_otlp.json": b"\xef\xbb\xbf" + json.dumps(otlp_request(otlp_span("00000000000000b1")), indent=2).encode(),
        "crlf.csv": (CSV_HEADER + "\r\n" + csv_row("h-crlf-1") + "\r\n" + csv_row("h-crlf-2") + "\r\n").encode(),
        "case_duplicate_columns.csv": (
            CSV_HEADER + ",INPUT_TOKENS,Span_Id\n" + csv_row("h-cd-1") + f",{M},{M}\n"
        ).encode(),
        "extra_columns.csv": (
            CSV_HEADER + ",prompt,_source_row,_file_id,filename\n" + csv_row("h-ec-1") + f",{M},{M},{M},{M}\n"
        ).encode(),
        "headerless.csv": (csv_row("h-hl-1") + f",{M} first row\n" + csv_row("h-hl-2") + ",x\n").encode(),
        "header_only.csv": (CSV_HEADER + "\n").encode(),
        "empty.jsonl": b"",
        "empty.csv": b"",
        "blank_lines.jsonl": b"\n   \n\n",
        "ragged.csv": (
            CSV_HEADER + "\n" + csv_row("h-rg-1") + "\n" + csv_row("h-rg-2") + f",{M} extra field\nh-rg-3,{M}\n"
        ).encode(),
        "unclosed_quote.csv": (CSV_HEADER + "\n" + csv_row("h-uq-1") + "\n" + f'h-uq-2,"{M} never closed,x\n').encode(),
        "invalid_utf8.jsonl": jl(
            span("h-iu-1"),
            json.dumps(span("h-iu-2", agent_name=M)).encode().replace(b"ws-h", b"ws-\xff\xfe"),
            span("h-iu-3"),
        ),
        "invalid_utf8.csv": (CSV_HEADER + "\n" + csv_row("h-iuc-1") + "\n").encode()
        + b"h-iuc-2,\xc3\x28"
        + M.encode()
        + b",x\n"
        + (csv_row("h-iuc-3") + "\n").encode(),
        "invalid_utf8_otlp.jsonl": jl(otlp_request(otlp_span("00000000000000c1")))
        + b'{"resourceSpans": "\xff'
        + M.encode()
        + b'"}\n',
        "invalid_utf8_doc.json": json.dumps(otlp_request(otlp_span("00000000000000c2")), indent=2)
        .encode()
        .replace(b'"test"', b'"te\xffst' + M.encode() + b'"'),
        "not_objects.jsonl": jl(span("h-no-1"), [1, M], f"{M} string", 42, None),
        "truncated_line.jsonl": jl(span("h-tl-1")) + json.dumps(span("h-tl-2", agent_name=M)).encode()[:60],
        "not_json.jsonl": f"{M} this is prose, not JSON\nsecond line {M}\n".encode(),
        "unknown_keys.jsonl": jl(span("h-uk-1", prompt=f"{M} prompt", **{f"{M}": "v", "gen_ai.input.messages": M})),
        "nan_ttft.jsonl": jl(
            span("h-nt-1", time_to_first_token_ms="NaN"),
            span("h-nt-2", time_to_first_token_ms="Infinity"),
            span("h-nt-3", time_to_first_token_ms=90_000_000),
            span("h-nt-4", time_to_first_token_ms=12.5),
        ),
        "bad_cost.jsonl": jl(
            span("h-bc-1", reported_cost_usd="NaN"),
            span("h-bc-2", reported_cost_usd="-Infinity"),
            span("h-bc-3", reported_cost_usd=-5),
            span("h-bc-4", reported_cost_usd=0.25),
        ),
        "whitespace_ids.jsonl": jl(
            span("h-ws-1", workspace_id="   "), span(" \t "), span("h-ws-3", operation="  "), span("h-ws-4")
        ),
        "padded_ids.jsonl": jl(span("  h-pad-1\t", trace_id=" t-pad ")),
        "offsets.jsonl": jl(
            span("h-of-1", started_at=f"{DAY}T10:00:00+99:00"),
            span("h-of-2", started_at=f"{DAY}T10:00:00+14:30"),
            span("h-of-3", started_at=f"{DAY}T10:00:00-15:00"),
            span("h-of-4", started_at=f"{DAY}T20:00:00+14:00"),
        ),
        "counts.jsonl": jl(
            span("h-ct-1", input_tokens="0x10"),
            span("h-ct-2", input_tokens="1_000"),
            span("h-ct-3", input_tokens="1e3"),
            span("h-ct-4", input_tokens="0b11"),
            span("h-ct-5", input_tokens="99999999999999999999999"),
            span("h-ct-6", input_tokens=f"{M}"),
            span("h-ct-7", input_tokens={"n": M}),
            span("h-ct-8", input_tokens="12"),
        ),
        "bad_values.jsonl": jl(
            span("h-bv-1", duration_ms=-1),
            span("h-bv-2", duration_ms=1e12),
            span("h-bv-3", operation=f"{M} op"),
            span("h-bv-4", status=M),
            span("h-bv-5", started_at=f"{M} noon"),
            span("h-bv-6", service_tier=M),
        ),
        "dup_key_row.jsonl": b'{"span_id":"h-dk-1","span_id":"h-dk-2","trace_id":"t","started_at":"2026-03-01T10:00:00Z","duration_ms":1,'
        b'"operation":"chat","provider":"openai","request_model":"m","workspace_id":"ws","status":"ok","input_tokens":1,"output_tokens":1}\n',
        "nul_bytes.jsonl": jl(span("h-nul-1")) + b'{"span_id":"h-nul-2\x00' + M.encode() + b'"}\n',
        "otlp_content.jsonl": jl(
            otlp_request(
                otlp_span("00000000000000d1", content_attrs, events),
                resource_attrs=[{"key": "gen_ai.system_instructions", "value": {"stringValue": M}}],
            )
        ),
        "otlp_broken_lines.jsonl": jl(otlp_request(otlp_span("00000000000000e1")))
        + f'{{"resourceSpans": [{{"{M}"\n'.encode()
        + b"[]\n",
        "json_in_txt.txt": jl(span("h-txt-1")),
        "prose.txt": f"{M} plain text that is no trace format\n".encode(),
        "duplicate_of_good.jsonl": jl(span("h-good-1")),
    }


def write_text_fixtures() -> None:
    HOSTILE.mkdir(parents=True, exist_ok=True)
    for name, data in _text_cases().items():
        (HOSTILE / name).write_bytes(data)


def _deep(n: int, open_: str = "[", close: str = "]") -> str:
    return open_ * n + close * n


def _parquet(path: Path, sql: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"copy ({sql}) to '{str(path).replace(chr(39), chr(39) * 2)}' (format parquet)")
    con.close()


_PARQUET_ROW = (
    "select 'SID' as span_id, 't' as trace_id, TIMESTAMP '2026-03-01 10:00:00' as started_at, 100.0 as duration_ms, "
    "'chat' as operation, 'openai' as provider, 'gpt-4o' as request_model, 'ws-h' as workspace_id, 'ok' as status, "
    "10 as input_tokens, 5 as output_tokens"
)


def build_generated(landing: Path, outside: Path) -> None:
    """Binary, huge and special cases (names as in cases.json, source "generated")."""
    M = MARKER
    landing.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    w = lambda name, data: (landing / name).write_bytes(data)  # noqa: E731
    # 1. recursion, compression, header length
    w("deep_line.jsonl", _deep(100_000).encode() + b"\n" + jl(span("h-dl-1")))
    w(
        "deep_first_line_object.jsonl",
        b'{"span_id":"h-dfo-1","x":' + _deep(100_000).encode() + b"}\n" + jl(span("h-dfo-2")),
    )
    w("deep_tags.jsonl", jl(span("h-dt-1", tags='{"a":' + _deep(100_000, "[", "]") + "}"), span("h-dt-2")))
    good = gzip.compress(jl(*(span(f"h-gz-{i}", agent_name=M) for i in range(2000))))
    w("corrupt.jsonl.gz", good[:40] + bytes(64) + good[104:])
    w("truncated.jsonl.gz", good[: len(good) // 2])
    w("not_gzip.jsonl.gz", jl(span("h-ngz-1")))
    w("gzip_bomb.jsonl.gz", gzip.compress(jl(span("h-bomb-1")) + b" " * (20 * 1024 * 1024)))
    w("gzip_ok.jsonl.gz", gzip.compress(jl(span("h-gzok-1"))))
    w(
        "long_header.csv",
        (CSV_HEADER + "," + ",".join(f"{M}{i:06d}" for i in range(10_000)) + "\n" + csv_row("h-lh-1") + "\n").encode(),
    )
    w("long_line.jsonl", jl(span("h-ll-1"), span("h-ll-2", agent_name=M * 100_000), span("h-ll-3")))
    # 2. glob characters in names
    w("spans1.jsonl", jl(span("h-g1-1")))
    w("spans[1].jsonl", jl(span("h-g2-1"), span("h-g2-2")))
    w("a*.jsonl", jl(span("h-g3-1")))
    w("ab.jsonl", jl(span("h-g4-1")))
    w("q?.jsonl", jl(span("h-g5-1")))
    w("qx.jsonl", jl(span("h-g6-1")))
    (landing / "dir[x]").mkdir(exist_ok=True)
    w("dir[x]/c{1,2}.csv", (CSV_HEADER + "\n" + csv_row("h-g7-1") + "\n").encode())
    _parquet(landing / "p[1]*.parquet", _PARQUET_ROW.replace("SID", "h-gp-1"))
    _parquet(landing / "p1x.parquet", _PARQUET_ROW.replace("SID", "h-gp-2"))
    # 7. Parquet columns named like the reader's own
    _parquet(
        landing / "virtual_names.parquet",
        _PARQUET_ROW.replace("SID", "h-vn-1") + f", '{M}' as filename, 7 as file_row_number, '{M}' as prompt",
    )
    _parquet(
        landing / "case_dup.parquet",
        _PARQUET_ROW.replace("SID", "h-pcd-1") + f", '{M}' as \"Input_Tokens_\", '{M}' as \"SPAN_ID \"",
    )
    # broken Parquet
    w("garbage.parquet", f"{M} not parquet".encode())
    pq = landing / "truncated.parquet"
    _parquet(pq, _PARQUET_ROW.replace("SID", "h-tp-1"))
    pq.write_bytes(pq.read_bytes()[:-30])
    w("random.bin", os.urandom(4096))
    # 5. symlinks
    (outside / "secret.jsonl").write_bytes(jl(span("h-out-1", agent_name=M)))
    (outside / "dir").mkdir(exist_ok=True)
    (outside / "dir" / "inner.jsonl").write_bytes(jl(span("h-out-2", agent_name=M)))
    os.symlink(outside / "secret.jsonl", landing / "link_outside.jsonl")
    os.symlink(outside / "dir", landing / "link_outside_dir")
    os.symlink(landing / "does-not-exist.jsonl", landing / "link_dangling.jsonl")
    os.symlink(landing / "gzip_ok.jsonl.gz", landing / "link_inside.jsonl.gz")
    os.mkfifo(landing / "fifo.jsonl")


def load_cases() -> list[dict]:
    return json.loads((HOSTILE / "cases.json").read_text())["cases"]


if __name__ == "__main__":
    write_text_fixtures()
    print(f"wrote {len(_text_cases())} text cases to {HOSTILE}", file=sys.stderr)
