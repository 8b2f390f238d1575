"""The landing folder: which files are there, what they hold, what day they claim.

Format detection looks at the extension first and then at the bytes, because
the OpenTelemetry Collector's file exporter writes JSON Lines into files named
`*.json`, and a file can be renamed on its way to the landing folder.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.ingest.options import InputLimits
from orchestration.ingest.otlp_proto import looks_like_proto_frames

FORMATS = ("parquet", "jsonl", "csv", "otlp_jsonl", "otlp_json", "otlp_proto")

# Files still being written by common copy tools, and hidden files.
_IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".inprogress")
_DAY_IN_PATH = re.compile(r"(?:^|/)(?:date|day|dt|ds)=(\d{4}-\d{2}-\d{2})(?:/|$)|(?:^|/)(\d{4}-\d{2}-\d{2})(?:/|$)")
# The first line of a JSON file is parsed in Python to tell JSON Lines from a
# single pretty-printed document; this caps how much of it is read.
_FIRST_LINE_LIMIT = 64 * 1024 * 1024


class UnrecognisedFormat(ValueError):
    """The file is neither Parquet, CSV, JSON Lines nor OTLP JSON."""


class FileRejected(ValueError):
    """A whole file is quarantined under `rule`; `message` never quotes the file's content."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # landing-relative, forward slashes
    size: int
    mtime_ns: int
    # Set when the entry cannot be read at all (a symlink leading outside the
    # landing folder, a dangling link, a FIFO): (rule, message).
    problem: tuple[str, str] | None = None

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=UTC)


def _ignored(rel: str, name: str) -> bool:
    return any(part.startswith((".", "_")) for part in rel.split("/")) or name.lower().endswith(_IGNORED_SUFFIXES)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def discover(landing_dir: Path, allow_symlinks: bool = False) -> list[LandingFile]:
    """Every file below the landing folder, at any depth, sorted by path.

    Hidden files and folders (leading '.' or '_') and files whose suffix marks
    an unfinished copy are left alone until they are renamed. Symlinks are
    never followed outside the landing folder unless `allow_symlinks`: such a
    link (to a file or a folder), a dangling link and anything that is not a
    regular file (a FIFO, a socket) is listed with a `problem`, so that it is
    quarantined and appears in the ledger instead of being read or skipped
    silently. A link to a file inside the landing folder is read like the file.
    """
    if not landing_dir.is_dir():
        return []
    root = os.path.realpath(landing_dir)
    found: list[LandingFile] = []
    seen_dirs: set[str] = set()

    def entry(path: Path, rel: str, problem=None, st=None) -> None:
        try:
            st = st or (path.lstat() if problem else path.stat())
        except OSError:
            return  # vanished while listing
        found.append(LandingFile(path=path, rel=rel, size=st.st_size, mtime_ns=st.st_mtime_ns, problem=problem))

    def walk(folder: Path, prefix: str) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for child in children:
            rel = prefix + child.name
            if _ignored(rel, child.name):
                continue
            path = Path(child.path)
            if child.is_symlink():
                target = os.path.realpath(path)
                if not os.path.exists(target):
                    entry(path, rel, ("unparseable_file", "a symlink whose target does not exist"))
                    continue
                outside = not _inside(target, root)
                if outside and not allow_symlinks:
                    entry(
                        path,
                        rel,
                        (
                            "symlink_outside_landing",
                            "a symlink leading outside the landing folder; it is not followed "
                            "(set AGENTLEDGER_INGEST_ALLOW_SYMLINKS=true to allow)",
                        ),
                    )
                    continue
                if os.path.isdir(target):
                    if outside:
                        walk(path, rel + "/")
                    # A link to a folder inside the landing folder: its files are listed where they are.
                    continue
            try:
                if child.is_dir(follow_symlinks=False):
                    walk(path, rel + "/")
                    continue
                regular = path.is_file()
            except OSError:
                continue
            if regular:
                entry(path, rel)
            else:
                entry(path, rel, ("unparseable_file", "not a regular file"))

    walk(landing_dir, "")
    return sorted(found, key=lambda f: f.rel)


_GLOB_CHARS = re.compile(r"[*?\[]")


def duckdb_path(path: Path | str) -> str:
    """`path` as a DuckDB file reader reads it literally.

    DuckDB's readers (read_csv, read_json, read_text, read_parquet) expand
    `*`, `?` and `[...]` in a path as a glob; inside brackets each of those
    characters stands for itself, so wrapping it in `[...]` makes the path
    literal. Paths without them (the normal case) are passed unchanged.
    """
    text = str(path)
    if not _GLOB_CHARS.search(text):
        return text
    return _GLOB_CHARS.sub(lambda m: "[" + m.group(0) + "]", text)


def sha256_file(path: Path, chunk: int = 4 * 1024 * 1024) -> str:
    """Checksum of the file's bytes, streamed so large files never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def path_day_hint(rel: str) -> date | None:
    """The day a path claims (`date=2026-01-05/` or `2026-01-05/`), if any."""
    match = _DAY_IN_PATH.search(rel)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1) or match.group(2))
    except ValueError:
        return None


def open_decompressed(path: Path):
    """The file's bytes, gunzipped when its name ends in .gz."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


BOM = codecs.BOM_UTF8
# The Collector file exporter's `format: proto` files (any name is sniffed too).
PROTO_EXTENSIONS = ("pb", "binpb")
# Errors of a corrupt or truncated gzip stream (gzip.BadGzipFile is an OSError).
_GZIP_ERRORS = (zlib.error, EOFError, gzip.BadGzipFile)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_exceeds(text: bytes, limit: int) -> bool:
    """True when the JSON text nests deeper than `limit` (strings ignored).

    At C speed (regex, translate, numpy), never recursively: deeply nested
    input must not exhaust Python's stack anywhere in the loader.
    """
    brackets = _JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKET)
    if len(brackets) <= limit:
        return False
    import numpy as np

    arr = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((arr == ord("[")) | (arr == ord("{")), 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max()) > limit


def _first_json_value(fh, limits: InputLimits):
    """The first non-blank line that parses as JSON, skipping lines that are too
    deep, too long or not UTF-8 (they are quarantined line by line later);
    None when the first ordinary line is not a complete JSON value (a
    pretty-printed document)."""
    for _ in range(20):
        line = fh.readline(_FIRST_LINE_LIMIT)
        while line and not line.strip():
            line = fh.readline(_FIRST_LINE_LIMIT)
        if not line:
            return None
        if line.startswith(BOM):
            line = line[len(BOM) :]
        if len(line) >= _FIRST_LINE_LIMIT or json_depth_exceeds(line, limits.max_json_depth):
            while line and not line.endswith(b"\n"):
                line = fh.readline(_FIRST_LINE_LIMIT)
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return None
    return None


def detect_format(path: Path, limits: InputLimits | None = None) -> str:
    """One of FORMATS, from the extension and the first bytes of the file."""
    limits = limits or InputLimits()
    name = path.name.lower()
    stem = name[:-3] if name.endswith(".gz") else name
    ext = stem.rsplit(".", 1)[-1] if "." in stem else ""
    try:
        with open_decompressed(path) as fh:
            head = fh.read(8)
    except _GZIP_ERRORS as exc:
        raise FileRejected("unparseable_file", "corrupt or truncated gzip stream") from exc
    except OSError as exc:
        raise FileRejected("unparseable_file", f"the file cannot be opened ({type(exc).__name__})") from exc
    if ext in PROTO_EXTENSIONS or looks_like_proto_frames(head):
        return "otlp_proto"
    if head.startswith(BOM):
        head = head[len(BOM) :]
    if head[:4] == b"PAR1" or ext == "parquet":
        return "parquet"
    if ext in ("csv", "tsv"):
        return "csv"
    if ext in ("json", "jsonl", "ndjson") or head.lstrip()[:1] in (b"{", b"["):
        try:
            with open_decompressed(path) as fh:
                doc = _first_json_value(fh, limits)
                if doc is None:
                    # Not a complete JSON value on the first line: a pretty-printed
                    # document (OTLP if it mentions resourceSpans near the top).
                    fh.seek(0)
                    top = fh.read(256 * 1024)
                    if b'"resourceSpans"' in top or b'"resource_spans"' in top:
                        return "otlp_json"
                    return "jsonl"
        except _GZIP_ERRORS as exc:
            raise FileRejected("unparseable_file", "corrupt or truncated gzip stream") from exc
        # resource_spans: the proto field name, as protobuf-JSON converters write it.
        if isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
            return "otlp_jsonl"
        return "jsonl"
    raise UnrecognisedFormat(
        "unrecognised format; expected Parquet (.parquet), CSV (.csv), "
        "JSON Lines (.jsonl), OTLP JSON (.json / .jsonl with resourceSpans) "
        "or the Collector's OTLP protobuf (.pb, length-prefixed TracesData)"
    )


# What replaces an unreadable line in a cleaned copy: not JSON, one CSV
# field, not blank, and free of the file's content.
PLACEHOLDER_LINE = b"~agentledger: unreadable line~\n"
_SCAN_CHUNK = 4 * 1024 * 1024


@dataclass
class LineIssue:
    line: int  # the line number the format's reader reports (_source_line)
    rule: str  # invalid_utf8 or line_too_long


@dataclass
class TextScan:
    """What the pre-pass over a text file found (see scan_text)."""

    decompressed_bytes: int = 0
    bom: bool = False
    valid_utf8: bool = True
    long_line: bool = False
    issues: list[LineIssue] = field(default_factory=list)

    def needs_copy(self, fmt: str) -> bool:
        return (not self.valid_utf8) or self.long_line or (self.bom and fmt == "otlp_json")


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def scan_text(path: Path, fmt: str, limits: InputLimits, copy_to: Path | None = None) -> TextScan:
    """One streamed pass over a text file (decompressed), at C speed.

    Checks the gzip stream, the decompressed size, UTF-8 validity and line
    lengths without splitting lines in Python (only runs of bytes without a
    newline that span chunks are measured). Raises FileRejected for a
    condition that rejects the whole file. With `copy_to`, the decompressed
    bytes are written there as they are checked (gzip files are read by
    DuckDB from that copy: its line reader, sized for lines of up to 2 GB,
    cannot read gzip at all).
    """
    scan = TextScan()
    line_limit = limits.max_line_bytes if fmt != "otlp_json" else None
    decoder = codecs.getincrementaldecoder("utf-8")()
    run = 0  # bytes since the last newline
    out = copy_to.open("wb") if copy_to is not None else None
    try:
        with open_decompressed(path) as fh:
            first = True
            while block := fh.read(_SCAN_CHUNK):
                if out is not None:
                    out.write(block)
                scan.decompressed_bytes += len(block)
                if scan.decompressed_bytes > limits.max_decompressed_bytes:
                    raise FileRejected(
                        "decompressed_too_large",
                        f"more than {limits.max_decompressed_bytes} bytes (AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES)",
                    )
                if first:
                    scan.bom = block.startswith(BOM)
                    first = False
                if scan.valid_utf8:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        scan.valid_utf8 = False
                if line_limit is not None and not scan.long_line:
                    nl = block.find(b"\n")
                    if nl < 0:
                        run += len(block)
                    else:
                        if run + nl > line_limit:
                            scan.long_line = True
                        elif len(block) > line_limit:
                            scan.long_line = max(map(len, block.split(b"\n")[1:-1]), default=0) > line_limit
                        run = len(block) - block.rfind(b"\n") - 1
                    if run > line_limit:
                        scan.long_line = True
            if scan.valid_utf8:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    scan.valid_utf8 = False
    except _GZIP_ERRORS as exc:
        raise FileRejected("unparseable_file", "corrupt or truncated gzip stream") from exc
    except OSError as exc:
        raise FileRejected("unparseable_file", f"the file cannot be read ({type(exc).__name__})") from exc
    finally:
        if out is not None:
            out.close()
    if fmt == "otlp_json" and not scan.valid_utf8:
        raise FileRejected("invalid_utf8", "the document is not valid UTF-8")
    return scan


def write_clean_copy(path: Path, dest: Path, fmt: str, limits: InputLimits) -> list[LineIssue]:
    """Copy a text file to `dest` (decompressed, without a BOM), replacing each
    line that is not UTF-8 or longer than the line limit by PLACEHOLDER_LINE.

    Lines keep their positions, so the readers' line numbers stay those of
    the original file; the returned issues name the replaced lines with the
    numbers the format's reader reports (physical lines for CSV, non-blank
    lines for JSON Lines and OTLP). Only files the pre-pass flagged take this
    path (it handles lines in Python).
    """
    issues: list[LineIssue] = []
    limit = limits.max_line_bytes
    physical = ordinal = 0
    with open_decompressed(path) as src, dest.open("wb") as out:
        if fmt == "otlp_json":
            head = src.read(len(BOM))
            if head != BOM:
                out.write(head)
            while block := src.read(_SCAN_CHUNK):
                out.write(block)
            return issues
        while True:
            line = src.readline(limit + 1)
            if not line:
                break
            physical += 1
            if physical == 1 and line.startswith(BOM):
                line = line[len(BOM) :]
            rule = None
            if len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\n")):
                rule = "line_too_long"
                while line and not line.endswith(b"\n"):
                    line = src.readline(_SCAN_CHUNK)
            else:
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    rule = "invalid_utf8"
            if rule is None:
                blank = not line.rstrip(b"\n").strip(b" ")
                out.write(line if line.endswith(b"\n") else line + b"\n")
            else:
                blank = False
                out.write(PLACEHOLDER_LINE)
            if not blank:
                ordinal += 1
            if rule:
                issues.append(LineIssue(physical if fmt == "csv" else ordinal, rule))
    return issues
