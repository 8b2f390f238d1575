"""Publishing: complete copy, atomic swap, readers never block, failures leave the old copy."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.tables import LEDGER_DDL, QUARANTINE_DDL
from orchestration.publish.publish import PublishError, publish_marts
from orchestration.settings import load_settings


def _make_warehouse(path: Path, cost_rows: int) -> None:
    conn = duckdb.connect(str(path))
    try:
        for schema in ("raw", "staging", "marts", "signals", "reference"):
            conn.execute(f"create schema {schema}")
        conn.execute(
            "create table marts.fct_llm_calls as select 's' || range as span_id, "
            "(range * 0.25)::decimal(38,12) as total_cost_usd from range(?)",
            [cost_rows],
        )
        conn.execute("create view marts.rpt_cost as select sum(total_cost_usd) as cost from marts.fct_llm_calls")
        conn.execute("create table signals.alerts as select 1 as alert_id, 'warn' as severity")
        conn.execute("create table reference.model_prices as select 'gpt-4o' as model_id")
        conn.execute("create table staging.stg_spans as select 1 as x")
        conn.execute("create table raw.trace_spans as select 1 as x")
        conn.execute(LEDGER_DDL)
        conn.execute(
            "insert into raw.ingestion_ledger (source_file, source_format, partition_day, rows_read, rows_loaded, "
            "rows_quarantined, status) values ('a.jsonl', 'jsonl', date '2026-01-02', 12, 10, 2, 'loaded')"
        )
        conn.execute(QUARANTINE_DDL)
        conn.execute(
            "insert into raw.quarantine (source_file, source_row, source_format, partition_day, rule, field, message, "
            "raw_record, quarantined_at) values "
            "('a.jsonl', 3, 'jsonl', date '2026-01-02', 'not_null', 'span_id', 'a.jsonl row 3: span_id is empty', "
            "'{\"user\": \"x\"}', timestamp '2026-01-02 03:00'), "
            "('a.jsonl', 7, 'jsonl', date '2026-01-02', 'not_null', 'span_id', 'a.jsonl row 7: span_id is empty', "
            "'{}', timestamp '2026-01-02 04:00'), "
            "('b.jsonl', null, 'jsonl', null, 'unparseable', null, 'b.jsonl: not JSON', null, timestamp '2026-01-03 04:00')"
        )
    finally:
        conn.close()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    s = load_settings()
    s.data_dir.mkdir(parents=True)
    _make_warehouse(s.warehouse_path, cost_rows=100)
    return s


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_copies_consumer_tables_only(settings):
    result = publish_marts(settings)
    assert result.path == settings.published_warehouse_path
    assert result.tables == {
        "marts.fct_llm_calls": 100,
        "marts.rpt_cost": 1,
        "reference.model_prices": 1,
        "signals.alerts": 1,
        "quality.ingestion_ledger": 1,
        "quality.quarantine_summary": 2,
    }
    conn = duckdb.connect(str(result.path), read_only=True)
    try:
        schemas = {r[0] for r in conn.execute("select distinct table_schema from information_schema.tables").fetchall()}
        assert schemas == {"marts", "signals", "reference", "quality"}
        assert conn.execute("select sum(total_cost_usd) from marts.fct_llm_calls").fetchone()[0] == pytest.approx(
            1237.5
        )
        # The view is published as a table, since the layers it reads are not published.
        assert (
            conn.execute("select table_type from information_schema.tables where table_name = 'rpt_cost'").fetchone()[0]
            == "BASE TABLE"
        )
        summary = conn.execute(
            "select partition_day, quarantined_on, source_file, rule, field, quarantined_rows "
            "from quality.quarantine_summary order by quarantined_on"
        ).fetchall()
        assert [tuple(map(str, r)) for r in summary] == [
            ("2026-01-02", "2026-01-02", "a.jsonl", "not_null", "span_id", "2"),
            ("None", "2026-01-03", "b.jsonl", "unparseable", "None", "1"),
        ]
        cols = {r[0] for r in conn.execute("describe quality.quarantine_summary").fetchall()}
        assert not cols & {"raw_record", "message"}
    finally:
        conn.close()
    parquet = settings.published_dir / "parquet" / "marts" / "fct_llm_calls.parquet"
    conn = duckdb.connect()
    try:
        assert conn.execute(f"select count(*) from '{parquet}'").fetchone()[0] == 100
    finally:
        conn.close()


def test_published_file_uses_v1_storage_format(settings):
    publish_marts(settings, parquet=False)
    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{settings.published_warehouse_path}' as p (read_only)")
        (tags,) = conn.execute("select tags from duckdb_databases() where database_name = 'p'").fetchone()
    finally:
        conn.close()
    assert tags["storage_version"].startswith("v1.0.0")
    # The header of a file written with storage compatibility v1.0.0 carries
    # database-format version 64, which DuckDB 1.x node drivers read.
    header = settings.published_warehouse_path.read_bytes()[:64]
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == 64


def test_reader_holding_the_file_does_not_block_publishing(settings):
    publish_marts(settings, parquet=False)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                conn = duckdb.connect({str(settings.published_warehouse_path)!r}, read_only=True)
                print(conn.execute('select count(*) from marts.fct_llm_calls').fetchone()[0], flush=True)
                sys.stdin.readline()
                print(conn.execute('select count(*) from marts.fct_llm_calls').fetchone()[0], flush=True)
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "100"
        settings.warehouse_path.unlink()
        _make_warehouse(settings.warehouse_path, cost_rows=250)
        result = publish_marts(settings, parquet=False)
        assert result.tables["marts.fct_llm_calls"] == 250
        # The open reader keeps its consistent view of the file it opened.
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "100"
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        assert conn.execute("select count(*) from marts.fct_llm_calls").fetchone()[0] == 250
    finally:
        conn.close()


def test_failure_mid_publish_leaves_previous_file_byte_identical(settings):
    publish_marts(settings)
    before = _digest(settings.published_warehouse_path)
    parquet_before = sorted(p.name for p in (settings.published_dir / "parquet" / "marts").iterdir())
    conn = duckdb.connect(str(settings.warehouse_path))
    try:
        conn.execute("insert into marts.fct_llm_calls select 'x' || range, 1 from range(10)")
        # A mart whose rows cannot be read: the copy fails after earlier tables were written.
        conn.execute("create view marts.zz_broken as select error('injected failure') as boom")
    finally:
        conn.close()
    with pytest.raises(PublishError, match=r"marts\.zz_broken .*injected failure"):
        publish_marts(settings)
    assert _digest(settings.published_warehouse_path) == before
    assert sorted(p.name for p in (settings.published_dir / "parquet" / "marts").iterdir()) == parquet_before
    leftovers = [p.name for p in settings.published_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_failing_check_hook_aborts_the_swap(settings):
    publish_marts(settings, parquet=False)
    before = _digest(settings.published_warehouse_path)

    def reject(conn):
        raise PublishError("check failed")

    with pytest.raises(PublishError, match="check failed"):
        publish_marts(settings, parquet=False, before_swap=reject)
    assert _digest(settings.published_warehouse_path) == before


def test_missing_warehouse_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTLEDGER_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
    with pytest.raises(PublishError, match="does not exist; run the pipeline"):
        publish_marts(load_settings())
