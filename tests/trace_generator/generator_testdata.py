"""Shared small datasets for the generator tests (imported by the test modules, not a conftest)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np

from generators.catalog import MODELS
from generators.config import GeneratorConfig
from generators.pricing import PriceTable
from generators.traces import generate_traces

SMALL = GeneratorConfig(calls=20_000, days=30, start=date(2026, 3, 2), seed=11, agents=6, error_rate=0.05)


def generate(root: Path, fmt: str = "parquet", config: GeneratorConfig = SMALL):
    return generate_traces(config, root / "landing", fmt=fmt, progress=False)


def read_parquet(result) -> duckdb.DuckDBPyConnection:
    """In-memory connection with a `spans` view over the generated Parquet files."""
    con = duckdb.connect()
    files = ", ".join(f"'{f}'" for f in result.files)
    con.execute(f"create view spans as select * from read_parquet([{files}], hive_partitioning = false)")
    return con


def daily_agent_cost(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    """List-price cost per (agent_id, day) of the model spans, priced with the generator's catalog table."""
    rows = con.execute(
        """
        select agent_id, cast(started_at as date)::varchar as day, request_model, input_tokens, cache_read_tokens,
               cache_write_tokens, output_tokens, coalesce(service_tier = 'batch', false) as batch,
               (hour(started_at) * 60 + minute(started_at)) as minute
        from spans where input_tokens is not null
        """
    ).fetchnumpy()
    code = {m.request_model: i for i, m in enumerate(MODELS)}
    models = np.array([code[m] for m in rows["request_model"]])
    cost = PriceTable().cost(
        models,
        rows["input_tokens"],
        rows["cache_read_tokens"],
        rows["cache_write_tokens"],
        rows["output_tokens"],
        batch=rows["batch"],
        minute_of_day=rows["minute"],
    )
    keys = np.char.add(np.char.add(rows["agent_id"].astype(str), "|"), rows["day"].astype(str))
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=np.nan_to_num(cost))
    return {tuple(k.split("|")): float(v) for k, v in zip(uniq, sums)}
