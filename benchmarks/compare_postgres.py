"""Report pages side by side: AgentLedger's published marts against on-demand queries on raw spans in PostgreSQL.

Usage: python -m benchmarks.compare_postgres [--scales 3000 10000 30000 100000 300000 1000000 10000000]
           [--days 90] [--repeats 20] [--budget 20] [--work DIR [--keep]] [--no-record]

The architecture AgentLedger replaces is a web API that computes each report
page's numbers on demand from the raw traces in PostgreSQL. For each scale
this script:

1. generates the calls with the synthetic generator (seed 7), loads them with
   the product's own loader (`ingest_window`), builds the marts the five pages
   read with dbt, and publishes the read-only DuckDB file, as the pipeline does;
2. starts a throwaway PostgreSQL server (initdb in a temp dir, 127.0.0.1 on a
   free port, its unix socket in the same dir; stopped and removed at the end,
   also on error), copies the same raw spans (raw.trace_spans, all columns)
   into a `spans` table with the indexes a careful engineer would add
   (started_at; agent_id, started_at; workspace_id, started_at) and ANALYZEs
   it. Prices come from seeds/model_prices.csv as effective-dated input-token
   bands (the warehouse's int_model_prices_banded), with the model-name
   resolution table (int_model_catalog_matches): reference tables such an API
   keeps too. A view `llm_calls` prices every call at query time;
3. runs the statements behind five pages (overview KPIs for 30 days, daily
   cost by model, the cost attribution tree, one agent's detail, the token
   waterfall) on both sides, first the same-answer check (30-day and
   whole-range cost to the cent, call counts), then each page `--repeats`
   times after one warm-up run, and prints p50/p95 per page per side and the
   ratio.

The seed architecture's limit (its slowest page passing 500 ms at p95) is
interpolated between, or extrapolated linearly beyond, the measured scales.
Writes the "postgres" section of docs/benchmarks.md unless --no-record.

PostgreSQL comes from Debian's packages (`make postgres`); as root the server
runs as the `postgres` system user the package creates.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import itertools
import json
import multiprocessing
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
START = date(2026, 7, 1)
LLM_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
LIMIT_MS = 500.0
MIN_RUNS = 3
# the marts the five pages read, and what they are built from
PAGE_MARTS = [
    "+rpt_kpi_overview",
    "+rpt_cost_daily",
    "+rpt_usage_daily",
    "+rpt_cost_attribution",
    "+rpt_token_waterfall",
    "+dim_agents",
    "+rpt_agent_peer_rank",
]
DUCKDB_TO_POSTGRES = {
    "VARCHAR": "text",
    "TIMESTAMP": "timestamp",
    "DOUBLE": "double precision",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
    "DATE": "date",
}


# --------------------------------------------------------------------------- PostgreSQL server


def postgres_bindir() -> Path:
    """The directory holding initdb and pg_ctl: pg_config's answer, else Debian's versioned folder."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    raise SystemExit("PostgreSQL's initdb was not found; install the server with `make postgres`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    root: Path
    port: int
    bindir: Path
    run_as: str | None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "server.log"

    @property
    def datadir(self) -> Path:
        return self.root / "pgdata"

    def command(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def conninfo(self) -> str:
        return f"host={self.root} port={self.port} user=postgres dbname=postgres"


# Settings of a dedicated reporting database on this machine (2 cores, shared):
# a generous buffer cache and sort memory. Durability settings are off because
# the server is thrown away; they change load time, not query time.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "4GB",
    "max_parallel_workers_per_gather": "2",
    "random_page_cost": "1.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "8GB",
    "jit": "off",
}


@contextlib.contextmanager
def throwaway_postgres(parent: Path | None = None) -> Iterator[PostgresServer]:
    """A PostgreSQL server in a fresh temp dir, listening on 127.0.0.1 only; stopped and removed on exit."""
    bindir = postgres_bindir()
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise SystemExit("running as root needs the `postgres` system user (Debian's package creates it)") from None
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="agentledger-pg-", dir=parent))
    server = PostgresServer(root=root, port=free_port(), bindir=bindir, run_as=run_as)
    started = False
    try:
        if run_as:
            shutil.chown(root, user=run_as)
        os.chmod(root, 0o755)
        subprocess.run(
            server.command(
                str(bindir / "initdb"),
                "-D",
                str(server.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options += f" -p {server.port} -k {root}"
        subprocess.run(
            server.command(
                str(bindir / "pg_ctl"), "-D", str(server.datadir), "-l", str(server.log), "-o", options, "-w", "start"
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        started = True
        yield server
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip() or (server.log.read_text() if server.log.exists() else "")
        raise SystemExit(f"PostgreSQL failed: {' '.join(exc.cmd[:6])}...: {detail}") from exc
    finally:
        if started:
            subprocess.run(
                server.command(str(bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "fast", "-w", "stop"),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- AgentLedger side


def in_spawned_process(function, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _generate_and_load(data_dir: str, calls: int, days: int) -> dict:
    os.environ["AGENTLEDGER_DATA_DIR"] = data_dir
    from generators.config import GeneratorConfig
    from generators.traces import generate_traces
    from orchestration.ingest import ingest_window
    from orchestration.settings import load_settings

    settings = load_settings()
    began = time.perf_counter()
    generate_traces(
        GeneratorConfig(calls=calls, days=days, start=START, seed=7), settings.landing_dir, "parquet", progress=False
    )
    generated = time.perf_counter() - began
    began = time.perf_counter()
    summary = ingest_window(settings, None, None)
    return {"generate_s": generated, "load_s": time.perf_counter() - began, "rows": summary.rows_loaded}


def _publish(data_dir: str) -> str:
    os.environ["AGENTLEDGER_DATA_DIR"] = data_dir
    from orchestration.publish.publish import publish_marts
    from orchestration.settings import load_settings

    return str(publish_marts(load_settings(), parquet=False).path)


@dataclass
class Warehouse:
    data_dir: Path
    working: Path
    published: Path
    calls: int
    spans: int
    build_s: float


def build_agentledger(data_dir: Path, calls: int, days: int, reuse: bool = False) -> Warehouse:
    """Generate, load with the product's loader, build the pages' marts with dbt, publish the read-only file."""
    from orchestration.dbt_invocation import run_dbt

    data_dir.mkdir(parents=True, exist_ok=True)
    working = data_dir / "warehouse.duckdb"
    marker = data_dir / "built.json"
    if reuse and marker.exists():
        built = json.loads(marker.read_text())
        loaded, build_s, published = built["loaded"], built["build_s"], Path(built["published"])
        print(f"  AgentLedger: reusing the warehouse built in {data_dir} (figures of that build):", flush=True)
    else:
        marker.unlink(missing_ok=True)
        loaded = in_spawned_process(_generate_and_load, str(data_dir), calls, days)
        began = time.perf_counter()
        dbt_work = data_dir / "dbt"
        env = {"AGENTLEDGER_DATA_DIR": str(data_dir)}
        run_dbt(["seed"], working, dbt_work, env=env, label="seed")
        run_dbt(["run", "--select", *PAGE_MARTS], working, dbt_work, env=env, label="run")
        published = Path(in_spawned_process(_publish, str(data_dir)))
        build_s = time.perf_counter() - began
        marker.write_text(json.dumps({"loaded": loaded, "build_s": build_s, "published": str(published)}))
    with duckdb.connect(str(published), read_only=True) as con:
        (llm_calls,) = con.execute("select count(*) from marts.fct_llm_calls").fetchone()
    with duckdb.connect(str(working), read_only=True) as con:
        (spans,) = con.execute("select count(*) from raw.trace_spans").fetchone()
    print(
        f"  AgentLedger: {llm_calls:,} calls ({spans:,} spans) generated in {loaded['generate_s']:.0f} s, "
        f"loaded in {loaded['load_s']:.0f} s, marts built and published in {build_s:.0f} s",
        flush=True,
    )
    return Warehouse(data_dir, working, published, llm_calls, spans, build_s)


# --------------------------------------------------------------------------- loading PostgreSQL


def _relation_in(con: duckdb.DuckDBPyConnection, name: str) -> str:
    rows = con.execute(
        "select table_schema from information_schema.tables where table_name = ? order by table_schema", [name]
    ).fetchall()
    if not rows:
        raise RuntimeError(f"{name} is not in the warehouse; did the dbt run build it?")
    return f"{rows[0][0]}.{name}"


def _hms(seconds: str) -> str:
    """Seconds after midnight as 'HH:MM:SS' text ('24:00:00' for the end of the day), a PostgreSQL time."""
    return f"printf('%02d:%02d:%02d', {seconds} // 3600, {seconds} % 3600 // 60, {seconds} % 60)"


def _copy_csv(cur, table: str, columns: list[str], path: Path) -> None:
    with cur.copy(f"copy {table} ({', '.join(columns)}) from stdin (format csv)") as copy, path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)


def load_postgres(server: PostgresServer, warehouse: Warehouse, scratch: Path) -> dict[str, float | str]:
    """Copy the raw spans and the price reference tables into PostgreSQL; index, ANALYZE, define the pricing view."""
    import psycopg

    scratch.mkdir(parents=True, exist_ok=True)
    spans_csv, prices_csv, aliases_csv = scratch / "spans.csv", scratch / "prices.csv", scratch / "aliases.csv"
    with duckdb.connect(str(warehouse.working), read_only=True) as con:
        described = con.execute("describe raw.trace_spans").fetchall()
        span_columns = [(name, DUCKDB_TO_POSTGRES[kind]) for name, kind, *_ in described]
        con.execute(f"copy (select * from raw.trace_spans) to '{spans_csv}' (header false)")
        banded = _relation_in(con, "int_model_prices_banded")
        con.execute(
            f"""copy (select provider_key, model_key, service_tier, valid_from, valid_to, daily_from_second,
                daily_to_second, band_floor_tokens, band_ceiling_tokens, input_price_per_mtok,
                cache_read_price_per_mtok, cache_write_price_per_mtok, output_price_per_mtok,
                reasoning_price_per_mtok from {banded} where price_source = 'catalog') to '{prices_csv}' (header false)""".replace(
                "daily_from_second,", f"{_hms('daily_from_second')},"
            ).replace("daily_to_second,", f"{_hms('daily_to_second')},")
        )
        matches = _relation_in(con, "int_model_catalog_matches")
        con.execute(
            f"""copy (select coalesce(provider, ''), coalesce(request_model, ''), coalesce(response_model, ''),
                catalog_provider_id, price_provider_id, catalog_model_id from {matches}) to '{aliases_csv}' (header false)"""
        )
    timings: dict[str, float | str] = {}
    with psycopg.connect(server.conninfo(), autocommit=True) as pg, pg.cursor() as cur:
        cur.execute("show server_version")
        timings["version"] = cur.fetchone()[0].split()[0]
        cur.execute("create table spans (" + ", ".join(f'"{n}" {t}' for n, t in span_columns) + ")")
        began = time.perf_counter()
        _copy_csv(cur, "spans", [f'"{n}"' for n, _ in span_columns], spans_csv)
        timings["copy_s"] = time.perf_counter() - began
        began = time.perf_counter()
        cur.execute("alter table spans add primary key (span_id)")
        cur.execute("create index spans_started_at on spans (started_at)")
        cur.execute("create index spans_agent_started_at on spans (agent_id, started_at)")
        cur.execute("create index spans_workspace_started_at on spans (workspace_id, started_at)")
        timings["index_s"] = time.perf_counter() - began
        cur.execute(
            """create table prices (
                provider_key text, model_key text, service_tier text, valid_from date, valid_to date,
                daily_from time, daily_to time, band_floor_tokens bigint,
                band_ceiling_tokens bigint, input_price_per_mtok numeric(18,9),
                cache_read_price_per_mtok numeric(18,9), cache_write_price_per_mtok numeric(18,9),
                output_price_per_mtok numeric(18,9), reasoning_price_per_mtok numeric(18,9))"""
        )
        _copy_csv(
            cur,
            "prices",
            [
                "provider_key",
                "model_key",
                "service_tier",
                "valid_from",
                "valid_to",
                "daily_from",
                "daily_to",
                "band_floor_tokens",
                "band_ceiling_tokens",
                "input_price_per_mtok",
                "cache_read_price_per_mtok",
                "cache_write_price_per_mtok",
                "output_price_per_mtok",
                "reasoning_price_per_mtok",
            ],
            prices_csv,
        )
        cur.execute("create index prices_model on prices (provider_key, model_key, service_tier, valid_from)")
        cur.execute(
            """create table model_aliases (provider text, request_model text, response_model text,
                catalog_provider_id text, price_provider_id text, catalog_model_id text,
                primary key (provider, request_model, response_model))"""
        )
        _copy_csv(
            cur,
            "model_aliases",
            [
                "provider",
                "request_model",
                "response_model",
                "catalog_provider_id",
                "price_provider_id",
                "catalog_model_id",
            ],
            aliases_csv,
        )
        cur.execute(
            "create table price_tiers as select distinct provider_key, model_key, service_tier from prices;"
            "alter table price_tiers add primary key (provider_key, model_key, service_tier)"
        )
        cur.execute(PRICED_VIEW)
        began = time.perf_counter()
        cur.execute("vacuum analyze")
        timings["analyze_s"] = time.perf_counter() - began
        cur.execute("select pg_total_relation_size('spans')")
        timings["size_mb"] = cur.fetchone()[0] / 2**20
    for path in (spans_csv, prices_csv, aliases_csv):
        path.unlink(missing_ok=True)
    return timings


# The API's pricing, done at query time: each model call joined to its model's
# catalog entry (the same name resolution as the warehouse), its service tier
# (a tier without prices falls back to default; fallback models are priced at
# default), and the price band valid on the call's day and time of day that
# holds its input tokens. Cache tokens without their own price cost the input
# rate, reasoning the output rate. Exact numeric arithmetic.
PRICED_VIEW = f"""
create view llm_calls as
with resolved as (
    select
        s.*,
        a.price_provider_id,
        a.catalog_model_id,
        case when a.catalog_provider_id = a.price_provider_id and t.service_tier is not null
            then t.service_tier else 'default' end as price_tier,
        coalesce(s.input_tokens, 0) as in_tok,
        coalesce(s.cache_read_tokens, 0) as cr_tok,
        coalesce(s.cache_write_tokens, 0) as cw_tok,
        coalesce(s.output_tokens, 0) as out_tok,
        coalesce(s.reasoning_tokens, 0) as rs_tok
    from spans s
    left join model_aliases a
        on a.provider = coalesce(s.provider, '')
        and a.request_model = coalesce(s.request_model, '')
        and a.response_model = coalesce(s.response_model, '')
    left join price_tiers t
        on t.provider_key = a.price_provider_id
        and t.model_key = a.catalog_model_id
        and t.service_tier = coalesce(s.service_tier, 'default')
    where s.operation in ({", ".join(f"'{op}'" for op in LLM_OPERATIONS)})
),
priced as (
    select r.*, p.provider_key is not null as is_priced,
        coalesce(p.input_price_per_mtok, 0) as p_in,
        coalesce(p.cache_read_price_per_mtok, p.input_price_per_mtok, 0) as p_cr,
        coalesce(p.cache_write_price_per_mtok, p.input_price_per_mtok, 0) as p_cw,
        coalesce(p.output_price_per_mtok, 0) as p_out,
        coalesce(p.reasoning_price_per_mtok, p.output_price_per_mtok, 0) as p_rs
    from resolved r
    left join prices p
        on p.provider_key = r.price_provider_id
        and p.model_key = r.catalog_model_id
        and p.service_tier = r.price_tier
        and r.started_at >= p.valid_from
        and r.started_at < p.valid_to
        and cast(r.started_at as time) >= p.daily_from
        and cast(r.started_at as time) < p.daily_to
        and r.in_tok > p.band_floor_tokens
        and r.in_tok <= p.band_ceiling_tokens
)
select
    started_at,
    cast(started_at as date) as call_date,
    workspace_id,
    nullif(trim(department), '') as department,
    coalesce(agent_id, 'unassigned') as agent_id,
    agent_name,
    coalesce(provider, 'unassigned') as provider,
    coalesce(request_model, response_model, 'unassigned') as model,
    coalesce(provider, 'unassigned') || ' / ' || coalesce(request_model, response_model, 'unassigned')
        as provider_model,
    status,
    duration_ms,
    is_priced,
    in_tok as input_tokens,
    cr_tok as cache_read_tokens,
    cw_tok as cache_write_tokens,
    in_tok - cr_tok - cw_tok as uncached_input_tokens,
    out_tok as output_tokens,
    rs_tok as reasoning_tokens,
    out_tok - rs_tok as visible_output_tokens,
    in_tok + out_tok as total_tokens,
    case when is_priced then (in_tok - cr_tok - cw_tok) * p_in * 0.000001 end as uncached_input_cost_usd,
    case when is_priced then cr_tok * p_cr * 0.000001 end as cache_read_cost_usd,
    case when is_priced then cw_tok * p_cw * 0.000001 end as cache_write_cost_usd,
    case when is_priced then (out_tok - rs_tok) * p_out * 0.000001 end as output_cost_usd,
    case when is_priced then rs_tok * p_rs * 0.000001 end as reasoning_cost_usd,
    case when is_priced then ((in_tok - cr_tok - cw_tok) * p_in + cr_tok * p_cr + cw_tok * p_cw
        + (out_tok - rs_tok) * p_out + rs_tok * p_rs) * 0.000001 end as total_cost_usd
from priced
"""


# --------------------------------------------------------------------------- the five pages

# Each page: the statements its page runs with every filter at "all" and the
# date range at its default. AgentLedger's read the published marts (as the
# report site's sources and page queries do); PostgreSQL's compute the same
# numbers from the spans through the pricing view. Parameters: %(s)s / %(e)s
# the range's first and last day, %(ps)s the previous 30-day window's first
# day, %(agent)s the agent of the detail page (for DuckDB: $s, $e, $ps, $agent).

RANGE_DUCK = "call_date between $s and $e"
RANGE_PG = "started_at >= %(s)s and started_at < %(e)s::date + 1"

PAGES: dict[str, dict[str, list[str]]] = {
    "overview KPIs, last 30 days": {
        "agentledger": [
            """with cur as (select sum(total_cost_usd) cost, sum(calls) calls, sum(total_tokens) tokens,
                   count(distinct agent_id) agents, sum(unpriced_calls) unpriced
               from marts.rpt_cost_daily where call_date between $s30 and $e),
               prev as (select sum(total_cost_usd) cost, sum(calls) calls, sum(total_tokens) tokens,
                   count(distinct agent_id) agents
               from marts.rpt_cost_daily where call_date between $ps and $s30 - 1)
               select cur.cost, cur.cost / nullif(prev.cost, 0) - 1, cur.calls, cur.calls / nullif(prev.calls, 0) - 1,
                   cur.tokens, cur.agents, cur.agents - prev.agents, cur.cost / nullif(cur.calls - cur.unpriced, 0),
                   cur.unpriced
               from cur cross join prev""",
            """select sum(error_calls)::double / nullif(sum(calls), 0) from marts.rpt_usage_daily
               where call_date between $s30 and $e""",
            """select call_date, provider || ' / ' || model, sum(total_cost_usd) from marts.rpt_cost_daily
               where call_date between $s30 and $e group by all order by 1""",
            "select * from marts.rpt_kpi_overview order by period_order",
        ],
        "postgres": [
            """with cur as (select sum(total_cost_usd) cost, count(*) calls, sum(total_tokens) tokens,
                   count(distinct agent_id) agents, count(*) filter (where not is_priced) unpriced
               from llm_calls where started_at >= %(s30)s and started_at < %(e)s::date + 1),
               prev as (select sum(total_cost_usd) cost, count(*) calls, sum(total_tokens) tokens,
                   count(distinct agent_id) agents
               from llm_calls where started_at >= %(ps)s and started_at < %(s30)s)
               select cur.cost, cur.cost / nullif(prev.cost, 0) - 1, cur.calls, cur.calls::float / nullif(prev.calls, 0) - 1,
                   cur.tokens, cur.agents, cur.agents - prev.agents, cur.cost / nullif(cur.calls - cur.unpriced, 0),
                   cur.unpriced
               from cur cross join prev""",
            """select count(*) filter (where status = 'error')::float / nullif(count(*), 0) from llm_calls
               where started_at >= %(s30)s and started_at < %(e)s::date + 1""",
            """select call_date, provider_model, sum(total_cost_usd) from llm_calls
               where started_at >= %(s30)s and started_at < %(e)s::date + 1 group by 1, 2 order by 1""",
            # the standard periods (7 days, 30 days, month to date, each against its previous period)
            """select w.period, w.kind, count(c.*), count(*) filter (where c.status = 'error'),
                   count(distinct c.agent_id), sum(c.total_cost_usd), sum(c.input_tokens), sum(c.output_tokens),
                   sum(c.cache_read_tokens), percentile_cont(0.5) within group (order by c.duration_ms),
                   percentile_cont(0.95) within group (order by c.duration_ms)
               from (values ('last_7_days', 'current', %(e)s::date - 6, %(e)s::date),
                            ('last_7_days', 'previous', %(e)s::date - 13, %(e)s::date - 7),
                            ('last_30_days', 'current', %(s30)s::date, %(e)s::date),
                            ('last_30_days', 'previous', %(ps)s::date, %(s30)s::date - 1),
                            ('month_to_date', 'current', date_trunc('month', %(e)s::date)::date, %(e)s::date),
                            ('month_to_date', 'previous',
                             date_trunc('month', %(e)s::date - interval '1 month')::date,
                             (%(e)s::date - interval '1 month')::date)) w(period, kind, first_day, last_day)
               join llm_calls c on c.started_at >= w.first_day and c.started_at < w.last_day + 1
               group by 1, 2""",
        ],
    },
    "daily cost by model": {
        "agentledger": [
            f"""select call_date, provider || ' / ' || model, sum(total_cost_usd) from marts.rpt_cost_daily
               where {RANGE_DUCK} group by all order by 1""",
            f"""select provider || ' / ' || model, sum(total_cost_usd), sum(calls),
                   sum(total_cost_usd) / nullif(sum(priced_calls), 0),
                   sum(total_cost_usd) * 1000 / nullif(sum(total_tokens), 0)
               from marts.rpt_cost_daily where {RANGE_DUCK} group by all order by 2 desc nulls last""",
            f"""select sum(uncached_input_cost_usd), sum(cache_read_cost_usd), sum(cache_write_cost_usd),
                   sum(output_cost_usd), sum(reasoning_cost_usd) from marts.rpt_cost_daily where {RANGE_DUCK}""",
        ],
        "postgres": [
            f"""select call_date, provider_model, sum(total_cost_usd) from llm_calls
               where {RANGE_PG} group by 1, 2 order by 1""",
            f"""select provider_model, sum(total_cost_usd), count(*),
                   sum(total_cost_usd) / nullif(count(*) filter (where is_priced), 0),
                   sum(total_cost_usd) * 1000 / nullif(sum(total_tokens), 0)
               from llm_calls where {RANGE_PG} group by 1 order by 2 desc nulls last""",
            f"""select sum(uncached_input_cost_usd), sum(cache_read_cost_usd), sum(cache_write_cost_usd),
                   sum(output_cost_usd), sum(reasoning_cost_usd) from llm_calls where {RANGE_PG}""",
        ],
    },
    "cost attribution tree": {
        "agentledger": [
            f"""select workspace_id, department, coalesce(agent_name, agent_id), provider || ' / ' || model,
                   sum(total_cost_usd), sum(calls) from marts.rpt_cost_daily where {RANGE_DUCK}
               group by all having sum(total_cost_usd) > 0 order by 1, 2, 3, 4""",
            f"""select workspace_id, department, count(distinct agent_id), sum(calls), sum(total_cost_usd),
                   sum(total_cost_usd) / sum(sum(total_cost_usd)) over ()
               from marts.rpt_cost_daily where {RANGE_DUCK} group by all order by 5 desc nulls last""",
            """select node_path, level, level_name, node_name, calls, total_cost_usd, share_of_parent, share_of_total
               from marts.rpt_cost_attribution where level between 1 and 3 order by node_path""",
        ],
        "postgres": [
            f"""select workspace_id, department, coalesce(agent_name, agent_id), provider_model,
                   sum(total_cost_usd), count(*) from llm_calls where {RANGE_PG}
               group by 1, 2, 3, 4 having sum(total_cost_usd) > 0 order by 1, 2, 3, 4""",
            f"""select workspace_id, department, count(distinct agent_id), count(*), sum(total_cost_usd),
                   sum(total_cost_usd) / sum(sum(total_cost_usd)) over ()
               from llm_calls where {RANGE_PG} group by 1, 2 order by 5 desc nulls last""",
            # the tree: workspace > department > agent, each node's share of its parent and of the total
            f"""with nodes as (
                   select workspace_id, department, agent_id, grouping(department, agent_id) as g,
                       count(*) as calls, coalesce(sum(total_cost_usd), 0) as cost
                   from llm_calls where {RANGE_PG}
                   group by grouping sets ((workspace_id), (workspace_id, department), (workspace_id, department, agent_id)))
               select n.*, n.cost / nullif(case n.g when 3 then sum(n.cost) filter (where n.g = 3) over ()
                                                when 1 then max(n.cost) filter (where n.g = 3) over (partition by n.workspace_id)
                                                else max(n.cost) filter (where n.g = 1) over (partition by n.workspace_id, n.department) end, 0),
                   n.cost / nullif(sum(n.cost) filter (where n.g = 3) over (), 0)
               from nodes n order by 1, 2 nulls first, 3 nulls first""",
        ],
    },
    "one agent's detail": {
        "agentledger": [
            "select * from marts.dim_agents where agent_id = $agent",
            f"""select sum(total_cost_usd), sum(calls), sum(total_tokens) from marts.rpt_cost_daily
               where agent_id = $agent and {RANGE_DUCK}""",
            f"""select call_date, provider || ' / ' || model, sum(total_cost_usd) from marts.rpt_cost_daily
               where agent_id = $agent and {RANGE_DUCK} group by all order by 1""",
            f"""select provider || ' / ' || model, sum(total_cost_usd), sum(calls) from marts.rpt_cost_daily
               where agent_id = $agent and {RANGE_DUCK} group by all order by 2 desc nulls last""",
            "select * from marts.rpt_agent_peer_rank where agent_id = $agent",
            """select agent_id, agent_name, total_cost_usd, cost_percentile from marts.rpt_agent_peer_rank
               where department = (select department from marts.rpt_agent_peer_rank where agent_id = $agent)
               order by total_cost_usd desc""",
        ],
        "postgres": [
            """select agent_id, max(agent_name), max(workspace_id), max(department), count(*),
                   min(started_at), max(started_at) from spans where agent_id = %(agent)s group by 1""",
            f"""select sum(total_cost_usd), count(*), sum(total_tokens) from llm_calls
               where agent_id = %(agent)s and {RANGE_PG}""",
            f"""select call_date, provider_model, sum(total_cost_usd) from llm_calls
               where agent_id = %(agent)s and {RANGE_PG} group by 1, 2 order by 1""",
            f"""select provider_model, sum(total_cost_usd), count(*) from llm_calls
               where agent_id = %(agent)s and {RANGE_PG} group by 1 order by 2 desc nulls last""",
            # peer rank needs every agent's figures
            f"""with per_agent as (
                   select agent_id, max(department) as department, sum(total_cost_usd) as cost, count(*) as calls,
                       count(*) filter (where status = 'error')::float / count(*) as error_rate
                   from llm_calls where {RANGE_PG} group by agent_id),
               ranked as (select *, percent_rank() over (order by cost) as cost_percentile,
                   percent_rank() over (order by calls) as calls_percentile from per_agent)
               select * from ranked where agent_id = %(agent)s
                   or department = (select department from per_agent where agent_id = %(agent)s)
               order by cost desc""",
        ],
    },
    "token waterfall": {
        "agentledger": [
            f"""select sum(uncached_input_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(input_tokens),
                   sum(reasoning_tokens), sum(visible_output_tokens), sum(output_tokens), sum(total_tokens)
               from marts.rpt_usage_daily where {RANGE_DUCK}""",
            f"""select sum(uncached_input_cost_usd), sum(cache_read_cost_usd), sum(cache_write_cost_usd),
                   sum(reasoning_cost_usd), sum(output_cost_usd), sum(total_cost_usd)
               from marts.rpt_cost_daily where {RANGE_DUCK}""",
            """select strftime(period_start, '%Y-%m'), step_order, step, step_kind, tokens, cost_usd,
                   share_of_cascade_tokens from marts.rpt_token_waterfall
               where period_grain = 'month' and scope = 'total'
                   and period_start between date_trunc('month', $s) and $e order by 1, 2""",
        ],
        "postgres": [
            f"""select sum(uncached_input_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(input_tokens),
                   sum(reasoning_tokens), sum(visible_output_tokens), sum(output_tokens), sum(total_tokens)
               from llm_calls where {RANGE_PG}""",
            f"""select sum(uncached_input_cost_usd), sum(cache_read_cost_usd), sum(cache_write_cost_usd),
                   sum(reasoning_cost_usd), sum(output_cost_usd), sum(total_cost_usd)
               from llm_calls where {RANGE_PG}""",
            f"""select date_trunc('month', started_at), sum(uncached_input_tokens), sum(cache_read_tokens),
                   sum(cache_write_tokens), sum(input_tokens), sum(reasoning_tokens), sum(visible_output_tokens),
                   sum(output_tokens), sum(total_tokens), sum(uncached_input_cost_usd), sum(cache_read_cost_usd),
                   sum(cache_write_cost_usd), sum(reasoning_cost_usd), sum(output_cost_usd), sum(total_cost_usd)
               from llm_calls where {RANGE_PG} group by 1 order by 1""",
        ],
    },
}


@dataclass(frozen=True)
class PageTiming:
    page: str
    side: str
    statements: int
    rows: int
    runs: int
    first_ms: float
    p50_ms: float
    p95_ms: float


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, int(-(-q * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def page_params(published: Path) -> dict[str, object]:
    """The pages' default inputs: the whole range, the last 30 days and the 30 before, the costliest agent."""
    with duckdb.connect(str(published), read_only=True) as con:
        first, last = con.execute("select min(call_date), max(call_date) from marts.rpt_cost_daily").fetchone()
        (agent,) = con.execute(
            "select agent_id from marts.rpt_cost_daily group by 1 order by sum(total_cost_usd) desc nulls last limit 1"
        ).fetchone()
    return {"s": first, "e": last, "s30": last - timedelta(days=29), "ps": last - timedelta(days=59), "agent": agent}


def _duck_params(sql: str, params: dict[str, object]) -> dict[str, object]:
    named = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in named}


def time_pages(
    published: Path, conninfo: str, params: dict[str, object], repeats: int, budget_s: float = 60.0
) -> list[PageTiming]:
    """Each page's statements on each side: one warm-up run, then `repeats` timed runs, fewer (at least
    MIN_RUNS) when a side's runs of that page pass `budget_s` seconds."""
    import psycopg

    timings: list[PageTiming] = []
    duck = duckdb.connect(str(published), read_only=True)
    try:
        with psycopg.connect(conninfo, autocommit=True) as pg:
            for page, sides in PAGES.items():
                for side in ("agentledger", "postgres"):
                    statements = sides[side]
                    samples, rows = [], 0
                    budget_end = time.perf_counter() + budget_s
                    while len(samples) < repeats + 1:
                        if len(samples) > MIN_RUNS and time.perf_counter() > budget_end:
                            break
                        began = time.perf_counter()
                        rows = 0
                        for sql in statements:
                            if side == "agentledger":
                                rows += len(duck.execute(sql, _duck_params(sql, params)).fetchall())
                            else:
                                with pg.cursor() as cur:
                                    cur.execute(sql, params)
                                    rows += len(cur.fetchall())
                        samples.append((time.perf_counter() - began) * 1000)
                    warm = samples[1:]
                    timing = PageTiming(
                        page,
                        side,
                        len(statements),
                        rows,
                        len(warm),
                        samples[0],
                        percentile(warm, 0.5),
                        percentile(warm, 0.95),
                    )
                    print(
                        f"    {page:30} {side:12} first {timing.first_ms:9.1f} ms  p50 {timing.p50_ms:9.1f} ms  "
                        f"p95 {timing.p95_ms:9.1f} ms  ({len(warm)} runs, {rows} rows)",
                        flush=True,
                    )
                    timings.append(timing)
    finally:
        duck.close()
    return timings


@dataclass(frozen=True)
class SameAnswer:
    label: str
    agentledger: Decimal | int
    postgres: Decimal | int

    @property
    def equal(self) -> bool:
        if isinstance(self.agentledger, int) and isinstance(self.postgres, int):
            return self.agentledger == self.postgres
        return round(Decimal(self.agentledger), 2) == round(Decimal(self.postgres), 2)


def same_answers(published: Path, conninfo: str, params: dict[str, object]) -> list[SameAnswer]:
    """Both sides' key totals: the 30-day and whole-range cost to the cent, call counts, the agent's cost."""
    import psycopg

    checks = [
        (
            "30-day cost (USD)",
            "select sum(total_cost_usd) from marts.rpt_cost_daily where call_date between $s30 and $e",
            "select sum(total_cost_usd) from llm_calls where started_at >= %(s30)s and started_at < %(e)s::date + 1",
        ),
        (
            "whole-range cost (USD)",
            f"select sum(total_cost_usd) from marts.rpt_cost_daily where {RANGE_DUCK}",
            f"select sum(total_cost_usd) from llm_calls where {RANGE_PG}",
        ),
        (
            "whole-range calls",
            f"select sum(calls)::bigint from marts.rpt_cost_daily where {RANGE_DUCK}",
            f"select count(*) from llm_calls where {RANGE_PG}",
        ),
        (
            "unpriced calls",
            f"select sum(unpriced_calls)::bigint from marts.rpt_cost_daily where {RANGE_DUCK}",
            f"select count(*) filter (where not is_priced) from llm_calls where {RANGE_PG}",
        ),
        (
            "the detail page agent's cost (USD)",
            f"select sum(total_cost_usd) from marts.rpt_cost_daily where agent_id = $agent and {RANGE_DUCK}",
            f"select sum(total_cost_usd) from llm_calls where agent_id = %(agent)s and {RANGE_PG}",
        ),
    ]
    results = []
    with duckdb.connect(str(published), read_only=True) as duck, psycopg.connect(conninfo) as pg:
        for label, duck_sql, pg_sql in checks:
            (ours,) = duck.execute(duck_sql, _duck_params(duck_sql, params)).fetchone()
            (theirs,) = pg.execute(pg_sql, params).fetchone()
            results.append(SameAnswer(label, ours, theirs))
    return results


# --------------------------------------------------------------------------- the comparison


@dataclass
class ScaleResult:
    calls: int
    spans: int
    load: dict[str, float | str]
    checks: list[SameAnswer]
    timings: list[PageTiming]

    def timing(self, page: str, side: str) -> PageTiming:
        return next(t for t in self.timings if t.page == page and t.side == side)

    def slowest_postgres_p95(self) -> tuple[str, float]:
        slowest = max((t for t in self.timings if t.side == "postgres"), key=lambda t: t.p95_ms)
        return slowest.page, slowest.p95_ms


def compare_at_scale(
    calls: int, days: int, repeats: int, work: Path, keep: bool = False, budget_s: float = 60.0
) -> ScaleResult:
    """One scale, end to end: build AgentLedger's published file, load PostgreSQL, check answers, time the pages."""
    print(f"== {calls:,} calls over {days} days", flush=True)
    warehouse = build_agentledger(work / f"calls_{calls}", calls, days, reuse=keep)
    params = page_params(warehouse.published)
    with throwaway_postgres() as server:
        load = load_postgres(server, warehouse, work / f"calls_{calls}" / "pg_export")
        print(
            f"  PostgreSQL {server.bindir.parent.name}: spans copied in {load['copy_s']:.1f} s, indexed in "
            f"{load['index_s']:.1f} s, analyzed in {load['analyze_s']:.1f} s; table with indexes "
            f"{load['size_mb']:.0f} MiB",
            flush=True,
        )
        checks = same_answers(warehouse.published, server.conninfo(), params)
        for c in checks:
            print(
                f"  same answer? {c.label}: AgentLedger {c.agentledger} / PostgreSQL {c.postgres} -> "
                f"{'equal' if c.equal else 'DIFFERENT'}",
                flush=True,
            )
        if not all(c.equal for c in checks):
            raise SystemExit("the two sides answer differently; the timings would compare different questions")
        timings = time_pages(warehouse.published, server.conninfo(), params, repeats, budget_s)
    return ScaleResult(warehouse.calls, warehouse.spans, load, checks, timings)


def volume_at_limit(points: list[tuple[int, float]], limit_ms: float = LIMIT_MS) -> tuple[float | None, str]:
    """Calls at which the slowest page's p95 reaches `limit_ms`: linear interpolation between the
    measured scales that bracket it, else linear extrapolation from the two nearest (below the smallest
    scale when that one is already slower, beyond the largest when that one is still faster)."""
    points = sorted(points)
    for (c0, t0), (c1, t1) in itertools.pairwise(points):
        if t0 <= limit_ms <= t1 and t1 > t0:
            return c0 + (limit_ms - t0) * (c1 - c0) / (t1 - t0), "interpolated"
    if points and points[0][1] > limit_ms:
        if len(points) >= 2:
            (c0, t0), (c1, t1) = points[0], points[1]
            below = c0 + (limit_ms - t0) * (c1 - c0) / (t1 - t0) if t1 > t0 else 0
            if below > 0:
                return below, "extrapolated linearly below the smallest scale"
        return None, f"already above {limit_ms:.0f} ms at the smallest scale measured"
    if len(points) >= 2:
        (c0, t0), (c1, t1) = points[-2], points[-1]
        if t1 > t0:
            return c1 + (limit_ms - t1) * (c1 - c0) / (t1 - t0), "extrapolated linearly beyond the largest scale"
    return None, "not reached at the scales measured"


def markdown(results: list[ScaleResult], days: int, repeats: int, budget_s: float = 60.0) -> str:
    pages = list(PAGES)
    lines = [
        "## Side by side: AgentLedger vs on-demand queries on PostgreSQL (`benchmarks/compare_postgres.py`)",
        "",
        "The architecture AgentLedger replaces: a web API computing each report page's numbers on demand from raw "
        "traces in PostgreSQL. Both sides answer the same questions on the same spans in the same run: the synthetic "
        f"generator's calls (seed 7, {days} days) loaded by AgentLedger's loader, its marts built and published; the "
        "same raw.trace_spans rows copied into a PostgreSQL `spans` table with indexes on started_at, "
        "(agent_id, started_at) and (workspace_id, started_at), ANALYZEd, and priced at query time by a view that "
        "joins the effective-dated price bands of seeds/model_prices.csv. PostgreSQL "
        f"{results[0].load.get('version', '')} runs as a throwaway local server (shared_buffers 1GB, work_mem 64MB, "
        "parallel workers 2, JIT off). Each page is its statements run one after the other with every filter at "
        f"'all' (whole range; the overview: the last 30 days and the 30 before), timed {repeats} times after one "
        f"warm-up run, or as often as fit in {budget_s:.0f} s but at least {MIN_RUNS} times (the runs column; with "
        f"{MIN_RUNS} runs p95 is the slowest run); AgentLedger reads the published DuckDB file over a read-only connection. Targets: AgentLedger "
        ">= 50x faster at p95 on 10M calls; every AgentLedger page < 100 ms at p95.",
        "",
    ]
    for r in results:
        checks = "; ".join(
            f"{c.label} {c.agentledger:,.2f} both"
            if not isinstance(c.agentledger, int)
            else f"{c.label} {c.agentledger:,} both"
            for c in r.checks
        )
        lines += [
            f"**{r.calls:,} calls** ({r.spans:,} spans; PostgreSQL table and indexes {r.load['size_mb']:,.0f} MiB). "
            f"Same answers on both sides: {checks}.",
            "",
            "| page | statements | runs | AgentLedger p50 | AgentLedger p95 | PostgreSQL p50 | PostgreSQL p95 | p95 ratio |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for page in pages:
            ours, theirs = r.timing(page, "agentledger"), r.timing(page, "postgres")
            lines.append(
                f"| {page} | {ours.statements} / {theirs.statements} | {ours.runs} / {theirs.runs} | {ours.p50_ms:.1f} ms | {ours.p95_ms:.1f} ms "
                f"| {theirs.p50_ms:,.0f} ms | {theirs.p95_ms:,.0f} ms | {theirs.p95_ms / ours.p95_ms:,.0f}x |"
            )
        lines.append("")
    points = [(r.calls, r.slowest_postgres_p95()[1]) for r in results]
    at_limit, how = volume_at_limit(points)
    slowest = ", ".join(
        f"{c:,} calls: {t:,.0f} ms ({r.slowest_postgres_p95()[0]})" for r, (c, t) in zip(results, points, strict=True)
    )
    limit_text = f"about **{at_limit:,.0f} calls** ({how})" if at_limit is not None else how
    lines += [
        f"The PostgreSQL architecture's limit: its slowest page passes {LIMIT_MS:.0f} ms at p95 at {limit_text}. "
        f"Slowest page p95 by scale: {slowest}.",
        "",
    ]
    worst_ours = max(t.p95_ms for r in results for t in r.timings if t.side == "agentledger")
    big = results[-1]
    ratios = [big.timing(p, "postgres").p95_ms / big.timing(p, "agentledger").p95_ms for p in pages]
    lines.append(
        f"At {big.calls:,} calls the p95 ratio ranges from {min(ratios):,.0f}x to {max(ratios):,.0f}x; "
        f"AgentLedger's slowest page p95 over all scales is {worst_ours:.1f} ms."
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines += [
        "",
        f"Machine load average at the end of the run (1, 5, 15 min): {load} on {os.cpu_count()} cores.",
    ]
    return "\n".join(lines)


def run(
    scales: list[int],
    days: int = 90,
    repeats: int = 20,
    work: Path | None = None,
    record: bool = True,
    keep: bool = False,
    budget_s: float = 60.0,
) -> list[ScaleResult]:
    """The comparison at each scale; prints the figures and (with `record`) writes the postgres section."""
    own_work = work is None
    work = work or Path(tempfile.mkdtemp(prefix="agentledger-compare-pg-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = []
        for calls in scales:
            results.append(compare_at_scale(calls, days, repeats, work, keep=keep, budget_s=budget_s))
            if not keep:
                shutil.rmtree(work / f"calls_{calls}", ignore_errors=True)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    text = markdown(results, days, repeats, budget_s)
    print(text)
    if record:
        from benchmarks.record import record_section

        record_section("postgres", text)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=[3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 10_000_000],
        help="LLM calls; the small ones locate the PostgreSQL side's 500 ms limit",
    )
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=20, help="timed runs of each page after one warm-up")
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds of timed runs per page and side before stopping early"
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temp dir, removed)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each scale's warehouse under --work and reuse one already built there (same scale and days)",
    )
    parser.add_argument("--no-record", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.keep and args.work is None:
        parser.error("--keep needs --work")
    run(
        sorted(args.scales),
        args.days,
        args.repeats,
        args.work,
        record=not args.no_record,
        keep=args.keep,
        budget_s=args.budget,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
