-- Every landing file version the loader saw, per partition day (quality.ingestion_ledger).
select
    source_file,
    source_format,
    partition_day,
    window_start,
    window_end,
    size_bytes,
    rows_read,
    rows_loaded,
    rows_quarantined,
    duplicates_skipped,
    rows_replaced,
    status,
    message,
    loaded_at
from quality.ingestion_ledger
