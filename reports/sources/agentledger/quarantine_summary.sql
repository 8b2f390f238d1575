-- Quarantined rows per data day, load day, file, format, rule and field
-- (quality.quarantine_summary); empty after a clean load.
-- Evidence 39 writes an unreadable Parquet file for a source query with no
-- rows and the build then fails, so an empty table yields one placeholder row
-- (is_placeholder = true, every other column null) that pages filter out.
with rows_found as (
select
    partition_day,
    quarantined_on,
    source_file,
    source_format,
    rule,
    coalesce(field, '(whole record)') as field,
    quarantined_rows
from quality.quarantine_summary
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
