-- Models called without a matching price, whole range (marts.rpt_unpriced_models); empty when all are priced.
-- Evidence 39 writes an unreadable Parquet file for a source query with no
-- rows and the build then fails, so an empty table yields one placeholder row
-- (is_placeholder = true, every other column null) that pages filter out.
with rows_found as (
select * from marts.rpt_unpriced_models
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
