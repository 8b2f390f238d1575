"""OTLP protobuf in, OTLP JSON lines out, with content removed on the way.

Two inputs arrive as protobuf rather than the OTLP JSON that the loader reads:

* requests to the OTLP/HTTP receiver (`orchestration/ingest/receiver.py`),
  protobuf by default in every OpenTelemetry SDK, or JSON;
* files written by the OpenTelemetry Collector's file exporter with
  `format: proto`: a sequence of `TracesData` messages, each preceded by its
  length as a 4-byte big-endian unsigned integer.

Both are parsed with the official `opentelemetry-proto` classes (a request and
a `TracesData` share one wire format) and written as OTLP JSON lines, the format
the landing loader already validates, so a span is checked, quarantined and
priced the same whichever way it came in.

Content is removed from the parsed message before anything is written: every
attribute whose key is on the ingestion deny-list (`privacy.is_content_key`),
at any nesting depth of key-value lists, in spans, span links, resources and
scopes; and every span event (events carry prompts and completions in the
older conventions, and the loader never reads them).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, TracesData

from orchestration.ingest.privacy import is_content_key

# A JSON line holds at most this many spans (one resource and one scope each),
# so a large request never becomes a line near the loader's line limit.
SPANS_PER_LINE = 1000
# The Collector's frame header: message length, 4 bytes, big-endian.
FRAME_HEADER_BYTES = 4
# The OTLP JSON encoding writes these ids as hex, where protobuf's JSON mapping writes base64.
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class OtlpFormatError(ValueError):
    """The bytes are not an OTLP trace message; the text says where and why."""


class ProtoFileTooLarge(ValueError):
    """A proto file decompresses to more than the loader's limit."""


@dataclass
class StripCounts:
    """What `strip_content` removed from one message."""

    attributes: int = 0
    events: int = 0

    def add(self, other: StripCounts) -> None:
        self.attributes += other.attributes
        self.events += other.events


def _strip_value(value: AnyValue) -> int:
    removed = 0
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        removed += _strip_attributes(value.kvlist_value.values)
    elif kind == "array_value":
        for item in value.array_value.values:
            removed += _strip_value(item)
    return removed


def _strip_attributes(attributes) -> int:
    """Remove content keys from a repeated KeyValue field in place; returns how many."""
    kept: list[KeyValue] = []
    removed = 0
    for kv in attributes:
        if is_content_key(kv.key):
            removed += 1
            continue
        removed += _strip_value(kv.value)
        kept.append(kv)
    if removed:
        copies = [KeyValue(key=kv.key, value=kv.value) for kv in kept]
        del attributes[:]
        attributes.extend(copies)
    return removed


def strip_content(message: ExportTraceServiceRequest | TracesData) -> StripCounts:
    """Remove prompt and completion content from `message` in place."""
    counts = StripCounts()
    for resource_spans in message.resource_spans:
        counts.attributes += _strip_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            counts.attributes += _strip_attributes(scope_spans.scope.attributes)
            for span in scope_spans.spans:
                counts.attributes += _strip_attributes(span.attributes)
                counts.events += len(span.events)
                del span.events[:]
                for link in span.links:
                    counts.attributes += _strip_attributes(link.attributes)
    return counts


def span_count(message: ExportTraceServiceRequest | TracesData) -> int:
    return sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans)


def _ids_to_hex(node: dict) -> None:
    for key in _ID_FIELDS:
        if key in node:
            node[key] = base64.b64decode(node[key]).hex()


def _ids_to_base64(node: dict, where: str) -> None:
    for key in _ID_FIELDS:
        value = node.get(key)
        if isinstance(value, str) and value:
            try:
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            except ValueError as exc:
                raise OtlpFormatError(f"{where}.{key} is not a hex id") from exc


def _line(resource_spans: ResourceSpans, scope_index: int, spans: Iterable) -> str:
    part = ResourceSpans(resource=resource_spans.resource, schema_url=resource_spans.schema_url)
    source_scope = resource_spans.scope_spans[scope_index]
    scope = part.scope_spans.add(scope=source_scope.scope, schema_url=source_scope.schema_url)
    scope.spans.extend(spans)
    return _json_line(part)


def _json_line(resource_spans: ResourceSpans) -> str:
    """One resource's spans as a compact OTLP JSON document, ids in hex."""
    document = json_format.MessageToDict(TracesData(resource_spans=[resource_spans]), use_integers_for_enums=True)
    for rs in document.get("resourceSpans", ()):
        for ss in rs.get("scopeSpans", ()):
            for span in ss.get("spans", ()):
                _ids_to_hex(span)
                for link in span.get("links", ()):
                    _ids_to_hex(link)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def to_json_lines(message: ExportTraceServiceRequest | TracesData) -> list[str]:
    """OTLP JSON lines (`{"resourceSpans": [...]}`), at most SPANS_PER_LINE spans each.

    Ids are written as hex, as the OTLP JSON encoding requires. A resource or
    scope with no spans still gets a line, so nothing the sender wrote is
    silently left out (the loader counts and quarantines such lines).
    """
    lines = []
    for resource_spans in message.resource_spans:
        if not resource_spans.scope_spans:
            lines.append(_json_line(resource_spans))
        for index, scope_spans in enumerate(resource_spans.scope_spans):
            spans = list(scope_spans.spans)
            for start in range(0, max(len(spans), 1), SPANS_PER_LINE):
                lines.append(_line(resource_spans, index, spans[start : start + SPANS_PER_LINE]))
    return lines


def parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    try:
        message.ParseFromString(body)
    except DecodeError as exc:
        raise OtlpFormatError(f"not an OTLP protobuf trace request ({exc})") from exc
    return message


def parse_json(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP JSON request (hex ids, camelCase or snake_case keys) as a message."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpFormatError(f"not valid JSON ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(document, dict):
        raise OtlpFormatError("the body is not a JSON object")
    for r, rs in enumerate(_list(document, "resourceSpans", "resource_spans")):
        for s, ss in enumerate(_list(rs, "scopeSpans", "scope_spans")):
            for n, span in enumerate(_list(ss, "spans")):
                if isinstance(span, dict):
                    _normalise_id_keys(span)
                    _ids_to_base64(span, f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]")
                    for link in _list(span, "links"):
                        if isinstance(link, dict):
                            _normalise_id_keys(link)
                            _ids_to_base64(link, f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}].links")
    message = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error) as exc:
        raise OtlpFormatError(f"not an OTLP JSON trace request ({exc})") from exc
    return message


def _list(node, *keys: str) -> list:
    if not isinstance(node, dict):
        return []
    for key in keys:
        value = node.get(key)
        if isinstance(value, list):
            return value
    return []


def _normalise_id_keys(node: dict) -> None:
    for snake, camel in (("trace_id", "traceId"), ("span_id", "spanId"), ("parent_span_id", "parentSpanId")):
        if snake in node and camel not in node:
            node[camel] = node.pop(snake)


def read_frames(stream: BinaryIO, name: str, max_frame_bytes: int, max_total_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(byte offset, message) of each length-prefixed frame of a Collector proto file."""
    offset = 0
    while True:
        header = stream.read(FRAME_HEADER_BYTES)
        if not header:
            return
        if len(header) < FRAME_HEADER_BYTES:
            raise OtlpFormatError(f"{name}: byte {offset}: truncated frame header ({len(header)} of 4 bytes)")
        size = int.from_bytes(header, "big")
        if size > max_frame_bytes:
            raise OtlpFormatError(
                f"{name}: byte {offset}: frame of {size} bytes is over the {max_frame_bytes}-byte limit "
                "(not a Collector `format: proto` file, or a corrupt length)"
            )
        if offset + FRAME_HEADER_BYTES + size > max_total_bytes:
            raise ProtoFileTooLarge(f"more than {max_total_bytes} bytes (AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES)")
        payload = stream.read(size)
        if len(payload) < size:
            raise OtlpFormatError(f"{name}: byte {offset}: truncated frame ({len(payload)} of {size} bytes)")
        yield offset, payload
        offset += FRAME_HEADER_BYTES + size


def looks_like_proto_frames(head: bytes) -> bool:
    """Whether a file's first bytes start a Collector proto frame holding a TracesData.

    The first byte after the 4-byte length is field 1 (`resource_spans`,
    length-delimited), tag byte 0x0A. JSON and text never start with a zero
    byte, so they are not mistaken for this (a frame under 16 MiB starts with 0x00).
    """
    if len(head) < FRAME_HEADER_BYTES + 1 or head[0] != 0:
        return False
    size = int.from_bytes(head[:FRAME_HEADER_BYTES], "big")
    return size == 0 or head[FRAME_HEADER_BYTES] == 0x0A


@dataclass
class ConvertedFile:
    spans: int
    lines: int
    removed: StripCounts


def convert_proto_file(
    stream: BinaryIO, name: str, target: Path, max_frame_bytes: int, max_total_bytes: int
) -> ConvertedFile:
    """Write a Collector `format: proto` stream to `target` as OTLP JSON lines, content removed.

    Raises OtlpFormatError naming the file and byte offset of the first frame
    that is not a TracesData; nothing of a failing file is loaded, as with any
    structurally broken file.
    """
    result = ConvertedFile(spans=0, lines=0, removed=StripCounts())
    with target.open("w", encoding="utf-8") as out:
        for offset, payload in read_frames(stream, name, max_frame_bytes, max_total_bytes):
            message = TracesData()
            try:
                message.ParseFromString(payload)
            except DecodeError as exc:
                raise OtlpFormatError(f"{name}: byte {offset}: frame is not an OTLP TracesData ({exc})") from exc
            result.removed.add(strip_content(message))
            result.spans += span_count(message)
            for line in to_json_lines(message):
                out.write(line)
                out.write("\n")
                result.lines += 1
    return result
