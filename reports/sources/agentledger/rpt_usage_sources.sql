-- What each source of calls reported and how many calls have an agent, per day (marts.rpt_usage_sources).
-- An empty table yields one placeholder row (is_placeholder = true), see unpriced_models.sql.
with rows_found as (
select * from marts.rpt_usage_sources
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
