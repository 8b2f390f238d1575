"""The landing folder: which files are there, what they hold, what day they claim.

Format detection looks at the extension first and then at the bytes, because
the OpenTelemetry Collector's file exporter writes JSON Lines into files named
`*.json`, and a file can be renamed on its way to the landing folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

FORMATS = ("parquet", "jsonl", "csv", "otlp_jsonl", "otlp_json")

# Files still being written by common copy tools, and hidden files.
_IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".inprogress")
_DAY_IN_PATH = re.compile(r"(?:^|/)(?:date|day|dt|ds)=(\d{4}-\d{2}-\d{2})(?:/|$)|(?:^|/)(\d{4}-\d{2}-\d{2})(?:/|$)")
# The first line of a JSON file is parsed in Python to tell JSON Lines from a
# single pretty-printed document; this caps how much of it is read.
_FIRST_LINE_LIMIT = 64 * 1024 * 1024


class UnrecognisedFormat(ValueError):
    """The file is neither Parquet, CSV, JSON Lines nor OTLP JSON."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # landing-relative, forward slashes
    size: int
    mtime_ns: int

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=timezone.utc)


def discover(landing_dir: Path) -> list[LandingFile]:
    """Every file below the landing folder, at any depth, sorted by path.

    Hidden files and folders (leading '.' or '_') and files whose suffix marks
    an unfinished copy are left alone until they are renamed.
    """
    if not landing_dir.is_dir():
        return []
    found = []
    for path in landing_dir.rglob("*"):
        rel = path.relative_to(landing_dir).as_posix()
        if any(part.startswith((".", "_")) for part in rel.split("/")):
            continue
        if path.name.lower().endswith(_IGNORED_SUFFIXES) or not path.is_file():
            continue
        st = path.stat()
        found.append(LandingFile(path=path, rel=rel, size=st.st_size, mtime_ns=st.st_mtime_ns))
    return sorted(found, key=lambda f: f.rel)


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


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def detect_format(path: Path) -> str:
    """One of FORMATS, from the extension and the first bytes of the file."""
    name = path.name.lower()
    stem = name[:-3] if name.endswith(".gz") else name
    ext = stem.rsplit(".", 1)[-1] if "." in stem else ""
    try:
        with _open(path) as fh:
            head = fh.read(4)
    except OSError as exc:
        raise UnrecognisedFormat(f"{path.name}: cannot read the file ({exc})") from exc
    if head == b"PAR1" or ext == "parquet":
        return "parquet"
    if ext in ("csv", "tsv"):
        return "csv"
    if ext in ("json", "jsonl", "ndjson") or head.lstrip()[:1] in (b"{", b"["):
        with _open(path) as fh:
            first = fh.readline(_FIRST_LINE_LIMIT)
            while first and not first.strip():
                first = fh.readline(_FIRST_LINE_LIMIT)
            try:
                doc = json.loads(first)
            except ValueError:
                # Not a complete JSON value on the first line: a pretty-printed
                # document (OTLP if it mentions resourceSpans near the top).
                fh.seek(0)
                top = fh.read(256 * 1024)
                if b'"resourceSpans"' in top or b'"resource_spans"' in top:
                    return "otlp_json"
                return "jsonl"
            # resource_spans: the proto field name, as protobuf-JSON converters write it.
            if isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
                return "otlp_jsonl"
            return "jsonl"
    raise UnrecognisedFormat(
        f"{path.name}: unrecognised format; expected Parquet (.parquet), CSV (.csv), "
        "JSON Lines (.jsonl) or OTLP JSON (.json / .jsonl with resourceSpans)"
    )
