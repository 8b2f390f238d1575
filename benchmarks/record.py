"""Write a benchmark's figures into its own section of docs/benchmarks.md.

Each benchmark script owns one section, delimited by HTML comments, and
replaces only that section, so scripts can be re-run in any order.
"""

from __future__ import annotations

import platform
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS_DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`; each script replaces its own section.\n"


def peak_rss_mb() -> float:
    """Peak resident set size of this process and its waited-for children, MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def machine_line() -> str:
    import os

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


SCALE_UNITS = {"k": 1_000, "m": 1_000_000}


def parse_scale(text: str) -> int:
    """`100m`, `10M`, `250k` or a plain number of calls."""
    text = text.strip().lower().replace("_", "")
    if text[-1:] in SCALE_UNITS:
        return int(float(text[:-1]) * SCALE_UNITS[text[-1]])
    return int(text)


def scale_label(calls: int) -> str:
    """`1m`, `10m`, `20k`: a benchmark run at each scale keeps its own section."""
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if calls >= size and calls % size == 0:
            return f"{calls // size}{unit}"
    return str(calls)


def record_section(name: str, markdown: str, doc: Path = BENCHMARKS_DOC) -> None:
    """Replace (or append) the section called `name` with `markdown`."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = doc.read_text() if doc.exists() else HEADER
    block = f"{begin}\n{markdown.strip()}\n\n_{machine_line()}_\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
