"""generate_traces(): plan a run, generate it chunk by chunk, write files and ground truth.

Memory stays bounded because a chunk is at most MAX_CALLS_PER_PART model
calls (a large day is split into several part files) and at most four
chunks exist at once. The next chunk is generated in a background thread
while two writer threads, each with its own DuckDB connection, write the
previous ones; numpy and DuckDB release the GIL for the heavy work. Every
chunk has its own random stream and every file is written by one
single-threaded connection, so the overlap does not change a single byte.
"""

from __future__ import annotations

import csv
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from generators.agents import build_agents
from generators.config import FILE_EXTENSIONS, FORMATS, GenerationResult, GeneratorConfig
from generators.plan import anomaly_effect, anomaly_grid, plan_anomalies, plan_outages, plan_volume
from generators.spans import Chunk, RunContext, build_chunk
from generators.validation import plan_validation
from generators.writers import ChunkWriter, hidden_sibling, replace_if_changed

MAX_CALLS_PER_PART = 400_000
LABEL_COLUMNS = (
    "anomaly_id",
    "kind",
    "workspace_id",
    "agent_id",
    "start_date",
    "end_date",
    "expected_effect",
    "expected_cost_multiplier",
)
OUTAGE_COLUMNS = ("outage_id", "provider", "start_at", "end_at", "error_rate")


def default_labels_path(out_dir: Path) -> Path:
    """Ground truth lives beside the landing tree, never inside it (the loader would read it as traces)."""
    return Path(out_dir).resolve().parent / "ground_truth" / "anomalies.csv"


def part_path(out_dir: Path, fmt: str, day, part: int) -> Path:
    return Path(out_dir) / fmt / f"date={day:%Y-%m-%d}" / f"part-{part:05d}.{FILE_EXTENSIONS[fmt]}"


def _tasks(counts: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(day, part, calls per agent) for every part file, splitting large days evenly across agents."""
    tasks = []
    for day in range(counts.shape[1]):
        col = counts[:, day]
        total = int(col.sum())
        parts = max(1, -(-total // MAX_CALLS_PER_PART))
        for p in range(parts):
            tasks.append((day, p, col // parts + (p < col % parts)))
    return tasks


def _remove_stale(out_dir: Path, fmt: str, keep: set[Path]) -> list[Path]:
    """Remove part files of an earlier run in this format that this run did not produce, so no stale
    day survives a re-run; the files it produced again were compared, not deleted."""
    root = Path(out_dir) / fmt
    if not root.exists():
        return []
    removed = []
    for f in sorted(root.glob(f"date=*/part-*.{FILE_EXTENSIONS[fmt]}")):
        if f not in keep:
            f.unlink()
            removed.append(f)
    for d in root.glob("date=*"):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return removed


def generate_traces(
    config: GeneratorConfig,
    out_dir: Path,
    fmt: str = "parquet",
    labels_path: Path | None = None,
    progress: bool | None = None,
    writer_threads: int = 2,
    duckdb_threads: int = 1,
) -> GenerationResult:
    """Write a synthetic trace dataset under `out_dir/<fmt>/date=YYYY-MM-DD/` and its ground truth.

    `progress=None` shows a progress bar only when stderr is a terminal.
    Files are written by `writer_threads` DuckDB connections in parallel
    (each file by one single-threaded connection, which keeps it byte-stable),
    while the next chunk is generated in another thread.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    labels_path = Path(labels_path) if labels_path else default_labels_path(out_dir)
    start = config.start_date
    agents = build_agents(config.agents, config.seed)
    shape = drift = None
    if config.anomaly_mix == "validation":
        plan = plan_validation(agents, config.days, start, config.seed)
        agents, anomalies, shape, drift = plan.agents, plan.anomalies, plan.shape, plan.drift
    else:
        anomalies = plan_anomalies(agents, config.days, config.seed)
    grid = anomaly_grid(anomalies, len(agents), config.days)
    outages = plan_outages(config.days, start, config.seed)
    counts = plan_volume(agents, anomalies, config.calls, config.days, start, config.seed, shape)
    tool_names = tuple(dict.fromkeys(t for a in agents for t in a.family.tools)) or ("noop",)
    day0_us = int(datetime.combine(start, datetime.min.time(), tzinfo=UTC).timestamp()) * 1_000_000
    ctx = RunContext(agents, anomalies, grid, outages, config.seed, config.error_rate, day0_us, tool_names, drift)
    tasks = _tasks(counts)

    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=config.calls, unit="call", unit_scale=True, desc=f"generate {fmt}", file=sys.stderr)
    files: list[Path] = []
    written: list[Path] = []
    totals = {"spans": 0, "traces": 0, "calls": 0}
    costs = {a.index: [0.0, 0.0] for a in anomalies}
    local = threading.local()
    writers: list[ChunkWriter] = []
    lock = threading.Lock()

    def write(chunk: Chunk, path: Path) -> None:
        # One DuckDB connection per writer thread; each file is written by a single thread.
        w = getattr(local, "writer", None)
        if w is None:
            w = local.writer = ChunkWriter(fmt, agents, tool_names, threads=duckdb_threads)
            with lock:
                writers.append(w)
        if w.write(chunk, path):
            with lock:
                written.append(path)

    def finish(chunk, future) -> None:
        future.result()
        totals["spans"] += chunk.rows
        totals["traces"] += chunk.traces
        totals["calls"] += chunk.llm_calls
        for idx, (actual, base) in chunk.anomaly_costs.items():
            costs[idx][0] += actual
            costs[idx][1] += base
        if bar is not None:
            bar.update(chunk.llm_calls)

    try:
        with (
            ThreadPoolExecutor(max_workers=1) as gen_pool,
            ThreadPoolExecutor(max_workers=writer_threads) as write_pool,
        ):
            pending = gen_pool.submit(build_chunk, ctx, *tasks[0]) if tasks else None
            in_flight: deque = deque()
            for i, (day, part, _) in enumerate(tasks):
                chunk = pending.result()
                pending = gen_pool.submit(build_chunk, ctx, *tasks[i + 1]) if i + 1 < len(tasks) else None
                path = part_path(out_dir, fmt, start + timedelta(days=day), part)
                files.append(path)
                while len(in_flight) >= writer_threads:
                    finish(*in_flight.popleft())
                in_flight.append((chunk, write_pool.submit(write, chunk, path)))
                del chunk
            while in_flight:
                finish(*in_flight.popleft())
    finally:
        for w in writers:
            w.close()
        if bar is not None:
            bar.close()

    removed = _remove_stale(out_dir, fmt, set(files))
    _write_labels(labels_path, anomalies, agents, start, costs)
    outages_path = labels_path.parent / "outages.csv"
    _write_outages(outages_path, outages)
    return GenerationResult(
        files=tuple(files),
        format=fmt,
        llm_calls=totals["calls"],
        spans=totals["spans"],
        traces=totals["traces"],
        days=config.days,
        start_date=start,
        end_date=config.end_date,
        labels_path=labels_path,
        outages_path=outages_path,
        anomalies=len(anomalies),
        files_written=tuple(sorted(written)),
        files_removed=tuple(removed),
    )


def _write_labels(path: Path, anomalies, agents, start, costs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = hidden_sibling(path)
    with staged.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(LABEL_COLUMNS)
        for a in anomalies:
            agent = agents[a.agent]
            actual, base = costs[a.index]
            # Empty when the affected agent-days hold no priced call (only in tiny runs).
            multiplier = f"{actual / base:.2f}" if base > 0 else ""
            w.writerow(
                [
                    a.anomaly_id(),
                    a.kind,
                    agent.workspace_id,
                    agent.agent_id,
                    f"{start + timedelta(days=a.start_day):%Y-%m-%d}",
                    f"{start + timedelta(days=a.end_day):%Y-%m-%d}",
                    anomaly_effect(a),
                    multiplier,
                ]
            )
    replace_if_changed(staged, path)


def _write_outages(path: Path, outages) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = hidden_sibling(path)
    with staged.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(OUTAGE_COLUMNS)
        for i, o in enumerate(outages):
            fmt = "%Y-%m-%dT%H:%M:%SZ"
            w.writerow(
                [
                    f"out-{i + 1:03d}",
                    o.provider,
                    datetime.fromtimestamp(o.start_us / 1e6, tz=UTC).strftime(fmt),
                    datetime.fromtimestamp(o.end_us / 1e6, tz=UTC).strftime(fmt),
                    f"{o.error_rate:.2f}",
                ]
            )
    replace_if_changed(staged, path)
