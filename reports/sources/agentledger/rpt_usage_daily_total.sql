-- Daily usage over all agents; latency percentiles over every call of the day.
select * from marts.rpt_usage_daily_total
