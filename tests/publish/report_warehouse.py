"""A small, realistic working warehouse for the publish/report tests.

Raw spans are written in SQL straight into raw.trace_spans (the contract's
DDL), then the real dbt project builds seeds, staging, the priced fact and the
marts into the same temporary file, and the real signals code runs when it is
present. Deterministic: every value derives from the row number.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb

from orchestration.contract import RAW_SPANS_TABLE, raw_table_ddl
from orchestration.settings import DBT_PROJECT_DIR, Settings

AGENTS = 6
DAYS = 45

# (provider, model, input, output, cache_read share) -- priced models from the seed catalog, plus one unpriced.
MODELS = (
    ("openai", "gpt-4o", 1800, 400, 0.30),
    ("openai", "gpt-4o-mini", 1200, 300, 0.10),
    ("anthropic", "claude-sonnet-4-5", 2500, 600, 0.50),
    ("anthropic", "claude-3-5-haiku-latest", 900, 200, 0.00),
    ("acme", "in-house-llm", 1000, 250, 0.00),
)


def _raw_spans_sql(calls_per_day: int) -> str:
    models = " union all ".join(
        f"select {i} as m, '{p}' as provider, '{n}' as model, {inp} as inp, {out} as outp, {cr} as cr"
        for i, (p, n, inp, out, cr) in enumerate(MODELS)
    )
    return f"""
    with models as ({models}),
    calls as (
        select range as n,
            (current_date - interval {DAYS} day) + interval (range // {calls_per_day}) day
                + interval ((range * 37) % 86400) second as started_at
        from range({DAYS * calls_per_day})
    )
    select
        'span-' || n as span_id,
        'trace-' || (n // 2) as trace_id,
        null as parent_span_id,
        started_at,
        200 + (n * 13) % 1800 + m * 150 as duration_ms,
        50 + (n * 7) % 400 as time_to_first_token_ms,
        'chat' as operation,
        provider,
        model as request_model,
        model as response_model,
        null as service_tier,
        null as tool_name,
        case when n % {AGENTS} < 4 then 'ws-acme' else 'ws-globex' end as workspace_id,
        case n % {AGENTS} when 0 then 'engineering' when 1 then 'support' when 2 then 'engineering'
            when 3 then 'sales' when 4 then 'finance' else null end as department,
        'agent-' || (n % {AGENTS}) as agent_id,
        'Agent ' || chr(65 + (n % {AGENTS})::int) as agent_name,
        'user-' || (n % 17) as user_id,
        'conv-' || (n // 3) as conversation_id,
        'production' as environment,
        null as tags,
        case when n % 29 = 0 then 'error' else 'ok' end as status,
        case when n % 29 = 0 then 'rate_limit' end as error_type,
        (inp * (1 + (n % 5) * 0.3) * (1 + (n % {AGENTS}) * 0.2))::bigint as input_tokens,
        (outp * (1 + (n % 3) * 0.5))::bigint as output_tokens,
        (inp * (1 + (n % 5) * 0.3) * (1 + (n % {AGENTS}) * 0.2) * cr)::bigint as cache_read_tokens,
        case when m = 2 and n % 4 = 0 then 100 else 0 end as cache_write_tokens,
        case when m = 2 then (outp * 0.2)::bigint else 0 end as reasoning_tokens,
        null as reported_cost_usd,
        'synthetic/day.jsonl' as _source_file,
        n + 1 as _source_row,
        'jsonl' as _source_format,
        now()::timestamp as _loaded_at
    from calls join models on models.m = (calls.n // {AGENTS} + calls.n % 3) % {len(MODELS)}
    """


def build_working_warehouse(settings: Settings, calls_per_day: int = 120) -> None:
    """Write raw spans, then run the real `dbt build` and signals into settings.warehouse_path."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(settings.warehouse_path))
    try:
        conn.execute("create schema if not exists raw")
        conn.execute(raw_table_ddl())
        conn.execute(f"insert into {RAW_SPANS_TABLE} by name {_raw_spans_sql(calls_per_day)}")
    finally:
        conn.close()
    env = {**os.environ, **settings.dbt_env()}
    dbt = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[2] / ".venv")) / "bin" / "dbt"
    proc = subprocess.run(
        [str(dbt), "build", "--profiles-dir", ".", "--target-path", str(settings.data_dir / "dbt_target"),
         "--log-path", str(settings.data_dir / "dbt_logs"), "--exclude", "resource_type:unit_test"],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build failed on the synthetic warehouse:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
