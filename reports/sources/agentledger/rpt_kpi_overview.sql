-- Headline KPIs for standard periods against the previous comparable period.
select * replace (
    cast(total_cost_usd as double) as total_cost_usd,
    cast(total_cost_usd_previous as double) as total_cost_usd_previous
)
from marts.rpt_kpi_overview
