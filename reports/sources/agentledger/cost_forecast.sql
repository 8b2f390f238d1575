-- Daily cost actuals and the 30-day forecast with 80 % / 95 % intervals per
-- scope (signals.cost_forecast), with a readable scope label and the scope's
-- method, fallback reason and why the backtest chose the method repeated on
-- every row for the page's notes.
select
    f.scope_type,
    f.scope_id,
    case f.scope_type
        when 'total' then 'All spend'
        when 'agent' then 'Agent: ' || coalesce(a.agent_name, f.scope_id)
        else upper(f.scope_type[1]) || f.scope_type[2:] || ': ' || f.scope_id
    end as scope_label,
    f.date,
    f.is_history,
    f.actual_cost,
    f.yhat,
    f.yhat_lower_80,
    f.yhat_upper_80,
    f.yhat_lower_95,
    f.yhat_upper_95,
    f.method,
    case f.method
        when 'prophet' then 'Prophet'
        when 'auto_ets' then 'AutoETS'
        when 'auto_theta' then 'AutoTheta'
        when 'auto_arima' then 'AutoARIMA'
        when 'seasonal_naive' then 'Seasonal naive'
        when 'linear_trend' then 'Linear trend'
        else f.method
    end as method_label,
    f.fallback_reason,
    f.selection_reason,
    f.model_version,
    f.trained_at
from signals.cost_forecast as f
left join marts.dim_agents as a
    on f.scope_type = 'agent' and f.scope_id = a.agent_id
