"""Hostile input: no file stops a load, loses rows silently or carries content into the warehouse.

Every case of the corpus (tests/fixtures/ingest/hostile/cases.json) is
loaded in one batch together with a good file, through the real
`ingest_window`, in a fresh data dir.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import ingest_window
from orchestration.ingest.landing import discover

import hostile_corpus as hc
from ingest_support import FIXTURES, SALT, drop, make_settings, one, query


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus loaded once: (settings, summary, landing entries)."""
    from orchestration.settings import load_settings

    root = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(root / "data"))
        mp.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
        mp.delenv("AGENTLEDGER_ATTRIBUTE_MAPPING", raising=False)
        mp.setenv("AGENTLEDGER_USER_ID_SALT", SALT)
        for k, v in hc.LIMITS_ENV.items():
            mp.setenv(k, v)
        settings = load_settings()
        landing = settings.landing_dir
        hc.build_generated(landing, root / "outside")
        for case in hc.load_cases():
            if case["source"] == "fixture":
                shutil.copyfile(hc.HOSTILE / case["file"], landing / case["file"])
        shutil.copyfile(FIXTURES / "canonical_mixed.jsonl", landing / "good.jsonl")
        summary = ingest_window(settings, None, None)
        entries = discover(landing)
        yield settings, summary, entries


def _ledger(settings) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f, status, read, loaded, quarantined, dups in query(
        settings,
        "select source_file, status, rows_read, rows_loaded, rows_quarantined, duplicates_skipped from raw.ingestion_ledger",
    ):
        e = out.setdefault(f, {"status": set(), "read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0})
        e["status"].add(status)
        e["read"] += read
        e["loaded"] += loaded
        e["quarantined"] += quarantined
        e["duplicates"] += dups
    return out


def test_corpus_covers_at_least_forty_kinds_and_every_defect_class():
    cases = hc.load_cases()
    assert len(cases) >= 40
    assert {c["defect_class"] for c in cases} >= {1, 2, 3, 5, 6, 7, 8, 9}
    for c in cases:
        if c["source"] == "fixture":
            assert (hc.HOSTILE / c["file"]).is_file(), c["file"]


def test_the_good_file_loads_beside_the_hostile_ones(corpus):
    settings, _summary, _ = corpus
    good = _ledger(settings)["good.jsonl"]
    # canonical_mixed.jsonl alone: 9 read, 3 loaded, 5 quarantined, 1 duplicate (test_ingest_formats).
    assert (good["read"], good["loaded"], good["quarantined"], good["duplicates"]) == (9, 3, 5, 1)
    assert one(settings, "select count(*) from raw.trace_spans where _source_file = 'good.jsonl'") == 3


@pytest.mark.parametrize("case", hc.load_cases(), ids=lambda c: c["file"])
def test_each_case_has_its_expected_outcome(corpus, case):
    settings, _, _ = corpus
    ledger = _ledger(settings)
    assert case["file"] in ledger, f"{case['file']}: no ledger row"
    got = ledger[case["file"]]
    expect = case["expect"]
    assert got["status"] == {expect["status"]}
    rules = sorted(
        {r for (r,) in query(settings, "select rule from raw.quarantine where source_file = ?", [case["file"]])}
    )
    assert rules == expect["rules"]
    if expect["status"] == "loaded":
        assert got["read"] == expect["read"]
        assert got["quarantined"] == expect["quarantined"]
        if "loaded" in expect:
            assert got["loaded"] == expect["loaded"]
        else:
            assert got["loaded"] + got["duplicates"] == expect["loaded_or_duplicate"]
    else:
        assert got["read"] == got["loaded"] == got["quarantined"] == 0
        n = one(
            settings, "select count(*) from raw.quarantine where source_file = ? and source_row is null", [case["file"]]
        )
        assert n == 1


def test_every_landing_entry_has_a_ledger_row_and_rows_are_conserved(corpus):
    settings, summary, entries = corpus
    ledger = _ledger(settings)
    assert {e.rel for e in entries} == set(ledger)
    for rel, e in ledger.items():
        if e["status"] == {"loaded"}:
            assert e["read"] == e["loaded"] + e["quarantined"] + e["duplicates"], rel
            # Quarantined row counts match the quarantine table.
            n = one(settings, "select count(*) from raw.quarantine where source_file = ?", [rel])
            assert n == e["quarantined"], rel
        else:
            assert e["read"] == 0, rel  # quarantined whole
    assert summary.rows_read == summary.rows_loaded + summary.rows_quarantined + summary.duplicates_skipped
    assert summary.files_quarantined == sum(1 for e in ledger.values() if e["status"] != {"loaded"})


def test_names_with_glob_characters_are_read_literally(corpus):
    settings, _, _ = corpus
    spans = dict(
        query(
            settings, "select span_id, _source_file from raw.trace_spans where regexp_matches(span_id, '^h-g[0-9p]-')"
        )
    )
    assert spans == {
        "h-g1-1": "spans1.jsonl",
        "h-g2-1": "spans[1].jsonl",
        "h-g2-2": "spans[1].jsonl",
        "h-g3-1": "a*.jsonl",
        "h-g4-1": "ab.jsonl",
        "h-g5-1": "q?.jsonl",
        "h-g6-1": "qx.jsonl",
        "h-g7-1": "dir[x]/c{1,2}.csv",
        "h-gp-1": "p[1]*.parquet",
        "h-gp-2": "p1x.parquet",
    }


def test_tags_lose_content_keys_by_nesting_escape_and_case(corpus):
    settings, _, _ = corpus
    tags = dict(query(settings, "select span_id, tags from raw.trace_spans where span_id like 'h-t%'"))
    assert json.loads(tags["h-tn-1"]) == {"team": "blue"}
    assert json.loads(tags["h-te-1"]) == {"team": "red"}
    assert json.loads(tags["h-tu-1"]) == {"team": "g"}
    # A duplicate key no longer turns tags into null; rewritten tags keep the first occurrence.
    assert (
        tags["h-td-1"] is not None
        and duckdb.connect().execute("select ?::JSON->>'team'", [tags["h-td-1"]]).fetchone()[0] == "a"
    )
    assert json.loads(tags["h-tdc-1"]) == {"team": "a"}


def test_ids_are_trimmed_and_numbers_typed_strictly(corpus):
    settings, _, _ = corpus
    assert query(settings, "select span_id, trace_id from raw.trace_spans where span_id like '%h-pad-1%'") == [
        ("h-pad-1", "t-pad")
    ]
    assert one(settings, "select input_tokens from raw.trace_spans where span_id = 'h-ct-8'") == 12
    assert one(settings, "select count(*) from raw.trace_spans where span_id like 'h-ct-%'") == 1
    # +14:00 is the largest offset accepted: 20:00+14:00 is 06:00 UTC the same day.
    assert (
        str(one(settings, "select started_at from raw.trace_spans where span_id = 'h-of-4'")) == "2026-03-01 06:00:00"
    )
    # A rejected offset does not move the row to another day.
    assert {
        d
        for (d,) in query(
            settings, "select partition_day from raw.ingestion_ledger where source_file = 'offsets.jsonl'"
        )
    } == {__import__("datetime").date(2026, 3, 1)}


def test_messages_quote_no_content_and_no_server_path(corpus):
    settings, _, _ = corpus
    root = str(settings.data_dir)
    for table, col in (("raw.quarantine", "message"), ("raw.ingestion_ledger", "message")):
        for (message,) in query(settings, f"select {col} from {table} where {col} is not null"):
            assert root not in message and "/tmp" not in message and "/outside" not in message, message
    messages = dict(query(settings, "select source_file, message from raw.quarantine where source_row is null"))
    assert messages["headerless.csv"].startswith("headerless.csv: cannot be parsed as csv: no span_id column")
    by_row = dict(
        query(settings, "select source_line, message from raw.quarantine where source_file = 'invalid_utf8.jsonl'")
    )
    assert by_row == {2: "invalid_utf8.jsonl: line 2: the line is not valid UTF-8 (quarantined without its text)"}
    got = one(settings, "select message from raw.quarantine where source_file = 'counts.jsonl' and source_row = 1")
    assert got.endswith("got 0x10")


def test_no_planted_marker_reaches_any_column_of_any_table(corpus):
    """The corpus plants MARKER in content keys (any case, escaped, nested), OTLP
    content attributes and events, extra columns and unknown keys, bad lines,
    invalid UTF-8 lines, a headerless CSV's first row, a long header, text in
    count, enum and time columns, compressed streams and files behind symlinks."""
    settings, _, _ = corpus
    assert _marker_hits(settings.warehouse_path, hc.MARKER) == []


def _marker_hits(warehouse: Path, marker: str) -> list[tuple[str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() where database_name = current_database()"
        ).fetchall()
        hits = []
        for schema, table, column in columns:
            n = con.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}"::VARCHAR ilike ?', [f"%{marker}%"]
            ).fetchone()[0]
            if n:
                hits.append((f"{schema}.{table}", column))
        assert len(columns) > 40  # the raw tables were searched
        return hits
    finally:
        con.close()


def test_a_marker_in_a_file_name_is_stored_only_as_lineage(tmp_path, monkeypatch):
    settings = make_settings(tmp_path, monkeypatch)
    name = f"{hc.MARKER}[x].jsonl"
    settings.landing_dir.mkdir(parents=True)
    (settings.landing_dir / name).write_bytes(hc.jl(hc.span("fn-1"), b"not json " + hc.MARKER.encode()))
    ingest_window(settings, None, None)
    hits = _marker_hits(settings.warehouse_path, hc.MARKER)
    assert set(hits) <= {
        ("raw.trace_spans", "_source_file"),
        ("raw.quarantine", "source_file"),
        ("raw.quarantine", "message"),
        ("raw.ingestion_ledger", "source_file"),
        ("raw.landing_manifest", "source_file"),
    }
    # The message names the file (lineage) but not the bad line's text.
    message = one(settings, "select message from raw.quarantine")
    assert message.count(hc.MARKER) == 1 and message.startswith(name)


def test_a_second_run_over_the_corpus_adds_nothing(corpus):
    settings, _summary, _ = corpus
    before = one(settings, "select count(*) from raw.trace_spans"), one(settings, "select count(*) from raw.quarantine")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(settings.data_dir))
        mp.setenv("AGENTLEDGER_USER_ID_SALT", SALT)
        for k, v in hc.LIMITS_ENV.items():
            mp.setenv(k, v)
        again = ingest_window(settings, None, None)
    assert again.rows_loaded == 0 and again.files_loaded == 0
    assert (
        one(settings, "select count(*) from raw.trace_spans"),
        one(settings, "select count(*) from raw.quarantine"),
    ) == before


# --- single defects, each checked alone -------------------------------------------------


@pytest.fixture
def settings(tmp_path, monkeypatch):
    return make_settings(tmp_path, monkeypatch)


def test_symlinks_outside_are_followed_only_when_allowed(settings, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.jsonl").write_bytes(hc.jl(hc.span("sym-1")))
    settings.landing_dir.mkdir(parents=True)
    os.symlink(outside / "x.jsonl", settings.landing_dir / "x.jsonl")
    ingest_window(settings, None, None)
    assert one(settings, "select rule from raw.quarantine") == "symlink_outside_landing"
    assert one(settings, "select count(*) from raw.trace_spans") == 0
    monkeypatch.setenv("AGENTLEDGER_INGEST_ALLOW_SYMLINKS", "true")
    (outside / "x.jsonl").write_bytes(hc.jl(hc.span("sym-1"), hc.span("sym-2")))  # a new version
    os.utime(settings.landing_dir / "x.jsonl", follow_symlinks=False)
    ingest_window(settings, None, None)
    assert one(settings, "select count(*) from raw.trace_spans") == 2


def test_a_file_that_changes_while_read_is_not_loaded_and_read_again_next_run(settings, monkeypatch):
    from orchestration.ingest import batch

    target = drop(settings, "late_day.jsonl")
    real = batch.read_path

    def touch_while_reading(plan, options, workdir):
        path = real(plan, options, workdir)
        with open(target, "ab") as fh:
            fh.write(hc.jl(hc.span("changed-1")))
        return path

    monkeypatch.setattr(batch, "read_path", touch_while_reading)
    ingest_window(settings, None, None)
    assert query(settings, "select status, rows_read from raw.ingestion_ledger") == [("changed_during_read", 0)]
    assert one(settings, "select rule from raw.quarantine") == "file_changed_during_read"
    assert one(settings, "select count(*) from raw.trace_spans") == 0
    monkeypatch.setattr(batch, "read_path", real)
    ingest_window(settings, None, None)
    assert one(settings, "select count(*) from raw.trace_spans") == 2
    checksum = one(settings, "select checksum from raw.ingestion_ledger where status = 'loaded'")
    import hashlib

    assert checksum == hashlib.sha256(target.read_bytes()).hexdigest()


def test_decompressed_size_and_line_limits_are_configurable(settings, monkeypatch):
    import gzip

    monkeypatch.setenv("AGENTLEDGER_INGEST_MAX_LINE_BYTES", "2048")
    settings.landing_dir.mkdir(parents=True)
    (settings.landing_dir / "a.jsonl").write_bytes(hc.jl(hc.span("lim-1"), hc.span("lim-2", agent_name="x" * 3000)))
    (settings.landing_dir / "b.jsonl.gz").write_bytes(gzip.compress(hc.jl(hc.span("lim-3")) * 200))
    monkeypatch.setenv("AGENTLEDGER_INGEST_MAX_DECOMPRESSED_BYTES", "10000")
    ingest_window(settings, None, None)
    assert sorted(query(settings, "select source_file, rule, source_line from raw.quarantine")) == [
        ("a.jsonl", "line_too_long", 2),
        ("b.jsonl.gz", "decompressed_too_large", None),
    ]
    assert one(settings, "select count(*) from raw.trace_spans") == 1


def test_a_parquet_file_of_a_group_with_glob_names_keeps_its_rows(settings):
    """Parquet files sharing a schema are read in one scan: literal names there too."""
    settings.landing_dir.mkdir(parents=True)
    for name, sid in (("g[1].parquet", "pg-1"), ("g1.parquet", "pg-2"), ("g*.parquet", "pg-3")):
        hc._parquet(settings.landing_dir / name, hc._PARQUET_ROW.replace("SID", sid))
    summary = ingest_window(settings, None, None)
    assert (summary.rows_read, summary.rows_loaded, summary.duplicates_skipped) == (3, 3, 0)
    assert dict(query(settings, "select span_id, _source_file from raw.trace_spans")) == {
        "pg-1": "g[1].parquet",
        "pg-2": "g1.parquet",
        "pg-3": "g*.parquet",
    }
