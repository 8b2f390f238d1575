-- Each scope's forecasting methods side by side over the backtest's cut-offs
-- (signals.forecast_model_choice): median errors, mean coverage of the
-- calibrated intervals, and which method the scope's forecast uses and why.
-- An empty table yields one placeholder row (is_placeholder = true) that
-- pages filter out, as in forecast_backtest.sql.
with rows_found as (
select
    c.scope_type,
    c.scope_id,
    case c.scope_type
        when 'total' then 'All spend'
        when 'agent' then 'Agent: ' || coalesce(a.agent_name, c.scope_id)
        else upper(c.scope_type[1]) || c.scope_type[2:] || ': ' || c.scope_id
    end as scope_label,
    c.method,
    case c.method
        when 'prophet' then 'Prophet'
        when 'auto_ets' then 'AutoETS'
        when 'auto_theta' then 'AutoTheta'
        when 'auto_arima' then 'AutoARIMA'
        when 'seasonal_naive' then 'Seasonal naive'
        when 'linear_trend' then 'Linear trend'
        else c.method
    end as method_label,
    c.cutoffs,
    c.median_mape,
    c.median_smape,
    c.coverage_80,
    c.coverage_95,
    c.meets_coverage,
    c.selected,
    c.reason,
    c.evaluated_at
from signals.forecast_model_choice as c
left join marts.dim_agents as a
    on c.scope_type = 'agent' and c.scope_id = a.agent_id
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
