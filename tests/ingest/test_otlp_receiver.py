"""The OTLP/HTTP receiver, driven by the real OpenTelemetry SDK and its OTLP/HTTP exporter.

Spans go from a `TracerProvider` through `OTLPSpanExporter` (protobuf over
HTTP, as every SDK sends by default) to the receiver on 127.0.0.1, land as
OTLP JSON lines with their content removed, and load through the same
ingestion as any dropped file.
"""

from __future__ import annotations

import gzip
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from orchestration.ingest import ingest_window
from orchestration.ingest.receiver import SPOOL_FOLDER, OtlpReceiver, ReceiverConfig

from ingest_support import make_settings, one, query

MARKER = "RCVMARKER"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def start_receiver(landing: Path, **overrides) -> OtlpReceiver:
    server = OtlpReceiver(ReceiverConfig(landing_dir=landing, port=0, **overrides))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receiver(settings) -> Iterator[OtlpReceiver]:
    server = start_receiver(settings.landing_dir)
    yield server
    if server.writer._thread.is_alive():
        server.shutdown_and_land()


def sdk_provider(server: OtlpReceiver, **batch) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "support-bot",
                "gen_ai.agent.name": "support-bot",
                "gen_ai.prompt.0.content": f"{MARKER} in a resource",
            }
        )
    )
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, **batch))
    return provider


def emit_calls(provider: TracerProvider, calls: int, failed_every: int = 0) -> None:
    """LLM call spans under one agent span per ten calls, with content everywhere the conventions put it."""
    tracer = provider.get_tracer("app")
    for start in range(0, calls, 10):
        with tracer.start_as_current_span("invoke_agent support-bot") as agent:
            agent.set_attribute("gen_ai.operation.name", "invoke_agent")
            agent.set_attribute("gen_ai.agent.name", "support-bot")
            for i in range(start, min(start + 10, calls)):
                with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.provider.name", "openai")
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
                    span.set_attribute("gen_ai.usage.input_tokens", 100 + i)
                    span.set_attribute("gen_ai.usage.output_tokens", 20)
                    span.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "content": MARKER}]))
                    span.set_attribute("gen_ai.prompt.0.content", MARKER)
                    span.set_attribute("llm.completions.0.content", MARKER)
                    span.add_event("gen_ai.content.completion", {"gen_ai.completion": MARKER})
                    if failed_every and i % failed_every == 0:
                        span.set_attribute("error.type", "RateLimitError")
                        span.set_status(Status(StatusCode.ERROR, "rate limited"))


def landed_text(landing: Path) -> str:
    return "".join(p.read_text() for p in sorted(landing.rglob("*.jsonl")))


def landed_span_ids(landing: Path) -> list[str]:
    ids = []
    for path in sorted(landing.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    ids.extend(span["spanId"] for span in ss.get("spans", ()))
    return ids


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_sdk_spans_land_without_content_and_load(settings, receiver):
    provider = sdk_provider(receiver)
    emit_calls(provider, 30, failed_every=7)
    assert provider.force_flush(30_000)
    provider.shutdown()
    receiver.shutdown_and_land()

    files = list(settings.landing_dir.rglob("*.jsonl"))
    assert files and all(SPOOL_FOLDER not in p.parts for p in files)
    assert not list((settings.landing_dir / SPOOL_FOLDER).iterdir())
    text = landed_text(settings.landing_dir)
    assert MARKER not in text
    assert '"events"' not in text
    assert len(landed_span_ids(settings.landing_dir)) == 33  # 30 calls and 3 agent spans
    assert receiver.stats.spans == 33 and receiver.stats.events_removed == 30

    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (33, 33, 0)
    assert one(settings, "select count(*) from raw.trace_spans where operation = 'chat'") == 30
    assert one(settings, "select count(*) from raw.trace_spans where status = 'error'") == 5
    assert one(settings, "select sum(input_tokens) from raw.trace_spans") == sum(100 + i for i in range(30))
    for (table,) in query(settings, "select table_schema || '.' || table_name from information_schema.tables"):
        hits = one(settings, f"select count(*) from {table} t where contains(t::varchar, '{MARKER}')")
        assert hits == 0, table


def test_json_and_gzip_bodies_keep_hex_ids(settings, receiver):
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "batch-job"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "chat gpt-4o",
                                "kind": 3,
                                "startTimeUnixNano": "1767225600000000000",
                                "endTimeUnixNano": "1767225601500000000",
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 3}},
                                    {
                                        "key": "metadata",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [
                                                    {"key": "gen_ai.input.messages", "value": {"stringValue": MARKER}},
                                                    {"key": "team", "value": {"stringValue": "ops"}},
                                                ]
                                            }
                                        },
                                    },
                                ],
                                "status": {"code": 2, "message": "boom"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    body = gzip.compress(json.dumps(request).encode())
    status, headers, reply = post(
        f"{receiver.url}/v1/traces", body, {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(reply) == {}
    receiver.shutdown_and_land()

    line = json.loads(landed_text(settings.landing_dir))
    span = line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (span["traceId"], span["spanId"], span["kind"], span["status"]["code"]) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        3,
        2,
    )
    metadata = next(a for a in span["attributes"] if a["key"] == "metadata")
    assert [kv["key"] for kv in metadata["value"]["kvlistValue"]["values"]] == ["team"]
    assert MARKER not in json.dumps(line)


def test_refusals_use_the_status_codes_exporters_act_on(settings):
    server = start_receiver(
        settings.landing_dir, token="s3cret", max_request_bytes=4096, max_decompressed_bytes=64 * 1024
    )
    url = f"{server.url}/v1/traces"
    auth = {"Authorization": "Bearer s3cret", "Content-Type": "application/x-protobuf"}
    empty = ExportTraceServiceResponse().SerializeToString()
    try:
        assert post(url, empty, {"Content-Type": "application/x-protobuf"})[0] == 401
        assert post(url, empty, {**auth, "Authorization": "Bearer wrong"})[0] == 401
        assert post(url, empty, auth)[0] == 200
        assert post(f"{server.url}/v1/metrics", empty, auth)[0] == 404
        assert post(url, b"<xml/>", {**auth, "Content-Type": "text/xml"})[0] == 415
        assert post(url, empty, {**auth, "Content-Encoding": "br"})[0] == 415
        assert post(url, b"\xff" * 100, auth)[0] == 400
        assert post(url, b"x" * 5000, auth)[0] == 413
        bomb = gzip.compress(b"\0" * (1024 * 1024))
        assert len(bomb) < 4096
        assert post(url, bomb, {**auth, "Content-Encoding": "gzip"})[0] == 413
        assert post(url, b"not gzip", {**auth, "Content-Encoding": "gzip"})[0] == 400
        assert server.stats.refused == {401: 2, 404: 1, 415: 2, 400: 2, 413: 2}
    finally:
        server.shutdown_and_land()


def test_a_full_queue_answers_503_with_retry_after(settings):
    server = start_receiver(settings.landing_dir, max_pending_spans=15)
    release = threading.Event()
    write = server.writer._write

    def slow_write(batch):
        release.wait(30)
        write(batch)

    server.writer._write = slow_write
    try:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

        captured = []

        class Capture(SpanExporter):
            def export(self, spans):
                captured.extend(spans)
                return SpanExportResult.SUCCESS

        capture = TracerProvider()
        capture.add_span_processor(SimpleSpanProcessor(Capture()))
        emit_calls(capture, 10)
        body = encode_spans(captured[:10]).SerializeToString()
        headers = {"Content-Type": "application/x-protobuf"}
        first = threading.Thread(target=post, args=(f"{server.url}/v1/traces", body, headers))
        first.start()
        for _ in range(100):
            if server.writer._pending_spans:
                break
            threading.Event().wait(0.05)
        status, reply_headers, _ = post(f"{server.url}/v1/traces", body, headers)
        assert status == 503 and reply_headers["Retry-After"] == "2"
        release.set()
        first.join(30)
    finally:
        release.set()
        server.shutdown_and_land()
    assert len(landed_span_ids(settings.landing_dir)) == 10


def test_a_spool_file_left_by_a_crash_is_landed_at_the_next_start(settings):
    spool = settings.landing_dir / SPOOL_FOLDER
    spool.mkdir(parents=True)
    (spool / "otlp-left-behind.jsonl").write_text('{"resourceSpans":[]}\n')
    (spool / "otlp-empty.jsonl").write_text("")
    server = start_receiver(settings.landing_dir)
    server.shutdown_and_land()
    assert [p.name for p in settings.landing_dir.rglob("*.jsonl")] == ["otlp-left-behind.jsonl"]
    assert not list(spool.iterdir())


@pytest.mark.slow
def test_fifty_thousand_spans_are_conserved_from_sender_to_raw(settings, receiver):
    """Nothing lost or duplicated: the sender's span count equals the landed and the loaded count.

    The SDK's queue is sized so that it drops nothing on its side (its
    default 2048 would drop spans made faster than they are exported).
    """
    provider = sdk_provider(receiver, max_queue_size=60_000, max_export_batch_size=2048, schedule_delay_millis=200)
    emit_calls(provider, 45_455)  # and 4,546 agent spans: 50,001 spans
    assert provider.force_flush(600_000)
    provider.shutdown()
    receiver.shutdown_and_land()

    ids = landed_span_ids(settings.landing_dir)
    assert len(ids) == len(set(ids)) == 50_001 == receiver.stats.spans
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (50_001, 50_001, 0)
    assert one(settings, "select count(distinct span_id) from raw.trace_spans") == 50_001


def collector_proto_file(path: Path, requests: list[bytes], truncate: int = 0) -> Path:
    """A Collector file exporter `format: proto` file: each TracesData preceded by its 4-byte big-endian length."""
    data = b"".join(len(body).to_bytes(4, "big") + body for body in requests)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) - truncate] if truncate else data)
    return path


def encoded_batches(calls: int, per_batch: int) -> list[bytes]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    batches: list[bytes] = []
    pending = []

    class Frames(SpanExporter):
        def export(self, spans):
            pending.extend(spans)
            if len(pending) >= per_batch:
                batches.append(encode_spans(pending[:]).SerializeToString())
                pending.clear()
            return SpanExportResult.SUCCESS

    provider = TracerProvider(resource=Resource.create({"service.name": "collector-app"}))
    provider.add_span_processor(SimpleSpanProcessor(Frames()))
    emit_calls(provider, calls, failed_every=4)
    if pending:
        batches.append(encode_spans(pending).SerializeToString())
    return batches


def test_collector_proto_files_load_like_json(settings):
    batches = encoded_batches(20, per_batch=7)  # 22 spans in 4 frames
    collector_proto_file(settings.landing_dir / "collector" / "traces.pb", batches)
    import gzip as gz

    plain = collector_proto_file(
        settings.landing_dir / "collector" / "rotated-traces", encoded_batches(10, per_batch=11)
    )
    (plain.parent / "rotated-traces.gz").write_bytes(gz.compress(plain.read_bytes()))
    plain.unlink()
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (33, 33, 0)
    formats = dict(query(settings, "select source_file, any_value(source_format) from raw.ingestion_ledger group by 1"))
    assert formats == {"collector/traces.pb": "otlp_proto", "collector/rotated-traces.gz": "otlp_proto"}
    assert one(settings, "select count(*) from raw.trace_spans where status = 'error'") == 5 + 3
    for (table,) in query(settings, "select table_schema || '.' || table_name from information_schema.tables"):
        assert one(settings, f"select count(*) from {table} t where contains(t::varchar, '{MARKER}')") == 0, table


def test_a_truncated_proto_file_is_quarantined_naming_the_frame(settings):
    batches = encoded_batches(10, per_batch=6)
    collector_proto_file(settings.landing_dir / "collector" / "cut.pb", batches, truncate=10)
    summary = ingest_window(settings, None, None)
    assert summary.files_quarantined == 1 and summary.rows_loaded == 0
    rule, message = query(settings, "select rule, message from raw.quarantine")[0]
    assert rule == "unparseable_file"
    assert f"byte {4 + len(batches[0])}: truncated frame" in message and "collector/cut.pb" in message
