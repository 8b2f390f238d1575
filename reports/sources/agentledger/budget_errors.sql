-- Budget rows left out of signals.budget_status because they are invalid
-- (file, line, field and reason), from signals.budget_errors; usually empty.
-- Evidence 39 writes an unreadable Parquet file for a source query with no
-- rows and the build then fails, so an empty table yields one placeholder row
-- (is_placeholder = true, every other column null) that pages filter out.
with rows_found as (
select
    e.source_file,
    e.line,
    e.budget_id,
    e.field,
    e.value,
    e.message
from signals.budget_errors as e
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
