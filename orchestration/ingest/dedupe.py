"""Which version of a span wins: span_id collisions within a run and with raw.trace_spans.

Among versions of a span (rows already in raw and rows of this run) the
latest wins: the version from the file with the later modification time,
then the later landing path (lexicographic), then the later row in the file;
a newer version of the same file beats its older self. A version identical
in content to the winner, or losing to it, is a duplicate.
"""

from __future__ import annotations

from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS
from orchestration.ingest.tables import LEDGER_TABLE
from orchestration.ingest.typed_rows import KEYS_TABLE


def content_hash(prefix: str) -> str:
    """SQL hash of every contract column of the row alias `prefix`."""
    return "hash(" + ", ".join(f"{prefix}{c}" for c in TRACE_COLUMNS) + ")"


def compute_outcomes(con, rows_sql: str, due: str) -> bool:
    """Classify the rows that share a span_id with another row of the run or of raw.

    Creates temp table `outcomes(_file_id, _source_row, _partition_day,
    span_id, outcome)` with outcome in insert, replace, duplicate, stale;
    returns False when no row collides (the common case), so the hot path
    skips the anti-join. Candidates are found on the keys' span_id hashes
    (a hash aggregate over integers, and a semi-join of raw on them); only
    candidate rows are read again from the sources, with their exact
    span_id, to be ranked.
    """
    con.execute(
        f"create temp table dup_hashes as select _span_hash from {KEYS_TABLE} "
        "where _ok group by _span_hash having count(*) > 1"
    )
    raw_rows = con.execute(f"select count(*) from {RAW_SPANS_TABLE}").fetchone()[0]
    raw_filter = f"hash(r.span_id) in (select _span_hash from {KEYS_TABLE} where _ok)" if raw_rows else "false"
    con.execute(
        f"""create temp table raw_hits as
        with loads as (
            select source_file, loaded_at, max(file_mtime_ns) as mtime_ns
            from {LEDGER_TABLE} where status = 'loaded' group by all
        )
        select r.span_id, {content_hash("r.")} as _h, r._source_file as rel, r._source_row as row_no,
            coalesce(l.mtime_ns, 0) as mtime_ns
        from {RAW_SPANS_TABLE} r
        left join loads l on l.source_file = r._source_file and l.loaded_at = r._loaded_at
        where {raw_filter}"""
    )
    n_dup, n_hits = con.execute("select (select count(*) from dup_hashes), (select count(*) from raw_hits)").fetchone()
    if not n_dup and not n_hits:
        return False
    con.execute(
        f"""create temp table outcomes as
        with candidate_hashes as (
            select _span_hash as h from dup_hashes union select hash(span_id) from raw_hits
        ),
        contenders as (
            select b._file_id, b._source_row, b._partition_day, b.span_id, {content_hash("b.")} as _h,
                f.mtime_ns, f.rel, 1 as generation, b._source_row as row_no, false as existing
            from ({rows_sql}) b join files f using (_file_id)
            where b._ok and {due} and hash(b.span_id) in (select h from candidate_hashes)
            union all
            select null, null, null, span_id, _h, mtime_ns, rel, 0, row_no, true from raw_hits
        ),
        ranked as (
            select *,
                row_number() over w as rk,
                first_value(_h) over w as winner_h,
                max(case when existing then _h end) over (partition by span_id) as existing_h,
                bool_or(existing) over (partition by span_id) as has_existing
            from contenders
            window w as (partition by span_id order by mtime_ns desc, rel desc, generation desc, row_no desc)
        )
        select _file_id, _source_row, _partition_day, span_id,
            case when rk = 1 and not has_existing then 'insert'
                 when rk = 1 and _h = existing_h then 'duplicate'
                 when rk = 1 then 'replace'
                 when _h = winner_h then 'duplicate'
                 else 'stale' end as outcome
        from ranked where not existing"""
    )
    return True


# Enumerated fields: a value outside the enumeration could be any text, so
# raw_record shows it only when it is one of the known values.
