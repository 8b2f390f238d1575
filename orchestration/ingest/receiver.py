"""OTLP/HTTP receiver: an application's OpenTelemetry SDK sends spans straight to AgentLedger.

    python -m orchestration.ingest.receiver            # 127.0.0.1:4318, writes to <data>/landing/otlp-receiver/

Point the application's exporter at it with
`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318` (the SDKs append `/v1/traces`).

`POST /v1/traces` takes `application/x-protobuf` (every SDK's default) or
`application/json`, plain or `Content-Encoding: gzip`, parsed with the official
`opentelemetry-proto` classes. Prompt and completion content is removed from
the parsed message before anything is written (`otlp_proto.strip_content`,
the ingestion deny-list), and the spans are appended as OTLP JSON lines to a
file in the hidden folder `<landing>/.receiver/`, which the landing scan
ignores. A request is answered 200 only after its lines are flushed and
fsync'd, so an acknowledged span survives a crash. The file is renamed into
the landing folder (one atomic rename) once it is `rotate_seconds` old or
`rotate_bytes` large, and at shutdown; a file left in `.receiver/` by a crash
is moved in at the next start. The landing sensor and `ingest` then treat it
like any dropped file: spans the loader cannot accept are quarantined there,
with a reason, where every other bad row is counted, so the receiver answers
with a full-success OTLP response and never drops a span at the door.

Refusals use the status codes OTLP exporters act on: 400 (not an OTLP trace
request; not retried), 401 (bearer token missing or wrong, when one is set),
404/405, 411 (no length), 413 (body or its decompressed size over the limit),
415 (another content type or encoding), and 503 with `Retry-After` when the
write queue is full or the disk refuses a write (the exporter retries).

The server is the standard library's threading HTTP server: the receiver does
one small thing per request (parse, strip, hand over to one writer thread) and
needs no framework; the work that matters happens in the writer's group commit.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from orchestration.ingest.otlp_proto import (
    OtlpFormatError,
    parse_json,
    parse_protobuf,
    span_count,
    strip_content,
    to_json_lines,
)
from orchestration.settings import load_settings

log = logging.getLogger("agentledger.receiver")

TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# Hidden (leading '.'), so the landing scan never sees a file being written.
SPOOL_FOLDER = ".receiver"


@dataclass(frozen=True)
class ReceiverConfig:
    landing_dir: Path
    host: str = "127.0.0.1"
    port: int = 4318
    token: str | None = None
    # The OpenTelemetry Collector's OTLP/HTTP receiver defaults to 20 MiB bodies.
    max_request_bytes: int = 20 * 1024 * 1024
    max_decompressed_bytes: int = 128 * 1024 * 1024
    # Spans accepted but not yet on disk; above this, requests get 503 + Retry-After.
    max_pending_spans: int = 200_000
    retry_after_seconds: int = 2
    rotate_seconds: float = 10.0
    rotate_bytes: int = 64 * 1024 * 1024
    # A request waits at most this long for its write before it is answered 503.
    write_timeout_seconds: float = 30.0


class QueueFull(Exception):
    """The writer has more pending spans than the configured bound."""


class WriteFailed(Exception):
    """The writer could not put a batch on disk (e.g. disk full); the sender should retry."""


@dataclass
class _Pending:
    lines: list[str]
    spans: int
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@dataclass
class ReceiverStats:
    requests: int = 0
    spans: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    content_attributes_removed: int = 0
    events_removed: int = 0
    files_landed: int = 0


class LandingWriter:
    """One thread appends accepted lines to a spool file and renames full or old files into landing.

    Requests that arrive while a write is in progress are written together by
    the next one (group commit), so one fsync serves many requests.
    """

    def __init__(self, config: ReceiverConfig, stats: ReceiverStats):
        self.config = config
        self.stats = stats
        self.spool_dir = config.landing_dir / SPOOL_FOLDER
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._queue: list[_Pending] = []
        self._pending_spans = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._file = None
        self._file_path: Path | None = None
        self._file_opened = 0.0
        self._sequence = 0
        self._recover()
        self._thread = threading.Thread(target=self._run, name="landing-writer", daemon=True)
        self._thread.start()

    def _recover(self) -> None:
        """Move spool files a previous process left behind into landing: their lines were acknowledged."""
        for leftover in sorted(self.spool_dir.glob("*.jsonl")):
            if leftover.stat().st_size:
                self._land(leftover)
            else:
                leftover.unlink()

    def submit(self, lines: list[str], spans: int) -> None:
        """Queue lines and wait until they are on disk; raises QueueFull or WriteFailed."""
        item = _Pending(lines, spans)
        with self._cond:
            if self._stopping:
                raise WriteFailed("the receiver is shutting down")
            if self._pending_spans and self._pending_spans + spans > self.config.max_pending_spans:
                raise QueueFull(f"{self._pending_spans} spans are waiting to be written")
            self._queue.append(item)
            self._pending_spans += spans
            self._cond.notify()
        if not item.done.wait(self.config.write_timeout_seconds):
            raise WriteFailed(f"not written within {self.config.write_timeout_seconds:.0f} s")
        if item.error is not None:
            raise WriteFailed(str(item.error)) from item.error

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping and not self._rotation_due():
                    self._cond.wait(timeout=self._seconds_to_rotation())
                batch, self._queue = self._queue, []
                stopping = self._stopping
            if batch:
                self._write(batch)
            if stopping or self._rotation_due():
                self._rotate()
            if stopping:
                return

    def _seconds_to_rotation(self) -> float | None:
        if self._file is None:
            return None
        return max(0.05, self._file_opened + self.config.rotate_seconds - time.monotonic())

    def _rotation_due(self) -> bool:
        if self._file is None:
            return False
        return (
            time.monotonic() - self._file_opened >= self.config.rotate_seconds
            or self._file.tell() >= self.config.rotate_bytes
        )

    def _write(self, batch: list[_Pending]) -> None:
        error: BaseException | None = None
        try:
            if self._file is None:
                self._open()
            payload = "".join(line + "\n" for item in batch for line in item.lines)
            self._file.write(payload.encode("utf-8"))
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            error = exc
            log.error("could not write to %s: %s", self._file_path, exc)
            # A partly written line is quarantined by the loader as malformed;
            # the senders retry, and the loader's span-id dedupe keeps one copy.
            self._rotate()
        with self._cond:
            self._pending_spans -= sum(item.spans for item in batch)
        for item in batch:
            item.error = error
            item.done.set()

    def _open(self) -> None:
        self._sequence += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self._file_path = self.spool_dir / f"otlp-{stamp}-{os.getpid()}-{self._sequence:06d}.jsonl"
        self._file = self._file_path.open("ab")
        self._file_opened = time.monotonic()

    def _rotate(self) -> None:
        if self._file is None:
            return
        try:
            self._file.close()
        except OSError as exc:
            log.error("could not close %s: %s", self._file_path, exc)
        path, self._file, self._file_path = self._file_path, None, None
        if path is not None and path.exists():
            if path.stat().st_size:
                self._land(path)
            else:
                path.unlink()

    def _land(self, path: Path) -> None:
        target = self.config.landing_dir / "otlp-receiver" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        self.stats.files_landed += 1
        log.info("landed %s", target)


class _Handler(BaseHTTPRequestHandler):
    server: OtlpReceiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(HTTPStatus.OK, b"ok\n", "text/plain")
        else:
            self._refuse(HTTPStatus.NOT_FOUND, f"only POST {TRACES_PATH} is served", "text/plain")

    def do_POST(self) -> None:
        config = self.server.config
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        reply_type = JSON if content_type == JSON else PROTOBUF
        if self.path.split("?")[0] != TRACES_PATH:
            return self._refuse(HTTPStatus.NOT_FOUND, f"only POST {TRACES_PATH} is served", reply_type)
        if config.token and not self._authorised(config.token):
            return self._refuse(
                HTTPStatus.UNAUTHORIZED,
                "missing or wrong bearer token",
                reply_type,
                {"WWW-Authenticate": 'Bearer realm="agentledger"'},
            )
        if content_type not in (PROTOBUF, JSON):
            return self._refuse(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be {PROTOBUF} or {JSON}", reply_type
            )
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            return self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Encoding must be gzip or none", reply_type)
        body = self._read_body(config.max_request_bytes, reply_type)
        if body is None:
            return
        if encoding == "gzip":
            body = self._gunzip(body, config.max_decompressed_bytes, reply_type)
            if body is None:
                return
        try:
            message = parse_json(body) if content_type == JSON else parse_protobuf(body)
        except OtlpFormatError as exc:
            return self._refuse(HTTPStatus.BAD_REQUEST, str(exc), reply_type)
        removed = strip_content(message)
        spans = span_count(message)
        try:
            self.server.writer.submit(to_json_lines(message), spans)
        except QueueFull as exc:
            return self._refuse(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"busy: {exc}; retry later",
                reply_type,
                {"Retry-After": str(config.retry_after_seconds)},
            )
        except WriteFailed as exc:
            return self._refuse(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"could not store the spans: {exc}",
                reply_type,
                {"Retry-After": str(config.retry_after_seconds)},
            )
        stats = self.server.stats
        with self.server.stats_lock:
            stats.requests += 1
            stats.spans += spans
            stats.content_attributes_removed += removed.attributes
            stats.events_removed += removed.events
        response = ExportTraceServiceResponse()
        if reply_type == JSON:
            self._reply(HTTPStatus.OK, json_format.MessageToJson(response).encode(), JSON)
        else:
            self._reply(HTTPStatus.OK, response.SerializeToString(), PROTOBUF)

    def _authorised(self, token: str) -> bool:
        given = self.headers.get("Authorization") or ""
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())

    def _read_body(self, limit: int, reply_type: str) -> bytes | None:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked(limit, reply_type)
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self._refuse(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required", reply_type)
            return None
        size = int(length)
        if size > limit:
            self._refuse(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"body of {size} bytes is over the {limit}-byte limit",
                reply_type,
                close=True,
            )
            return None
        return self.rfile.read(size)

    def _read_chunked(self, limit: int, reply_type: str) -> bytes | None:
        parts, total = [], 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                self._refuse(HTTPStatus.BAD_REQUEST, "malformed chunked body", reply_type, close=True)
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                self._refuse(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over the {limit}-byte limit", reply_type, close=True
                )
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _gunzip(self, body: bytes, limit: int, reply_type: str) -> bytes | None:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            self._refuse(HTTPStatus.BAD_REQUEST, f"body is not valid gzip ({exc})", reply_type)
            return None
        if len(data) > limit or inflater.unconsumed_tail:
            self._refuse(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"decompressed body over the {limit}-byte limit", reply_type
            )
            return None
        return data

    def _refuse(
        self,
        status: HTTPStatus,
        message: str,
        reply_type: str,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        with self.server.stats_lock:
            self.server.stats.refused[int(status)] = self.server.stats.refused.get(int(status), 0) + 1
        log.warning("refused %s: %s", int(status), message)
        # OTLP/HTTP error bodies are a google.rpc.Status; its JSON form needs no extra package.
        if reply_type == JSON:
            body = json.dumps({"code": int(status), "message": message}).encode()
        else:
            body = _status_protobuf(int(status), message)
        self._reply(status, body, reply_type, headers, close)

    def _reply(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def _status_protobuf(code: int, message: str) -> bytes:
    """google.rpc.Status{code, message} in protobuf wire format (fields 1: int32, 2: string)."""
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class OtlpReceiver(ThreadingHTTPServer):
    """The HTTP server plus its landing writer; `serve_forever()` to run, `shutdown_and_land()` to stop."""

    daemon_threads = True

    def __init__(self, config: ReceiverConfig):
        self.config = config
        self.stats = ReceiverStats()
        self.stats_lock = threading.Lock()
        self.writer = LandingWriter(config, self.stats)
        super().__init__((config.host, config.port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def shutdown_and_land(self) -> None:
        """Stop accepting requests, write what is queued and move the last file into landing."""
        self.shutdown()
        self.server_close()
        self.writer.close()


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest.receiver", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it)")
    parser.add_argument("--port", type=int, default=4318, help="port (default 4318, the OTLP/HTTP port)")
    parser.add_argument(
        "--landing", type=Path, default=settings.landing_dir, help=f"landing folder (default {settings.landing_dir})"
    )
    parser.add_argument(
        "--rotate-seconds",
        type=float,
        default=ReceiverConfig.rotate_seconds,
        help="move the current file into landing after this many seconds (default 10)",
    )
    parser.add_argument("--max-request-bytes", type=int, default=ReceiverConfig.max_request_bytes)
    parser.add_argument("--max-pending-spans", type=int, default=ReceiverConfig.max_pending_spans)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = ReceiverConfig(
        landing_dir=args.landing,
        host=args.host,
        port=args.port,
        token=settings.receiver_token,
        rotate_seconds=args.rotate_seconds,
        max_request_bytes=args.max_request_bytes,
        max_pending_spans=args.max_pending_spans,
    )
    server = OtlpReceiver(config)
    auth = "bearer token required" if config.token else "no token (set AGENTLEDGER_RECEIVER_TOKEN to require one)"
    log.info("OTLP/HTTP receiver on %s%s, %s; landing in %s", server.url, TRACES_PATH, auth, config.landing_dir)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.writer.close()
        log.info("stopped: %s", server.stats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
