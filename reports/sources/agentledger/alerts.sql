-- Alerts raised (signals.alerts) with their latest delivery state; may be empty.
-- Evidence 39 writes an unreadable Parquet file for a source query with no
-- rows and the build then fails, so an empty table yields one placeholder row
-- (is_placeholder = true, every other column null) that pages filter out.
with last_delivery as (
    select alert_key, arg_max(status, attempt) as delivery_status, max(attempt) as attempts
    from signals.alert_deliveries
    group by alert_key
),
rows_found as (
select
    a.alert_key,
    a.alert_type,
    a.scope_type,
    a.scope_id,
    a.period,
    a.severity,
    case a.severity when 'critical' then 4 when 'high' then 3 when 'medium' then 2 else 1 end as severity_order,
    a.title,
    a.message,
    a.value,
    a.threshold,
    a.created_at,
    coalesce(d.delivery_status, 'pending') as delivery_status,
    coalesce(d.attempts, 0) as attempts
from signals.alerts as a
left join last_delivery as d
    on a.alert_key = d.alert_key
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
