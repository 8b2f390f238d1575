-- Rolling-origin backtest per scope, method and cut-off (signals.forecast_backtest).
-- Evidence 39 writes an unreadable Parquet file for a source query with no
-- rows and the build then fails, so an empty table yields one placeholder row
-- (is_placeholder = true, every other column null) that pages filter out.
with rows_found as (
select
    scope_type,
    scope_id,
    method,
    case method
        when 'prophet' then 'Prophet'
        when 'auto_ets' then 'AutoETS'
        when 'auto_theta' then 'AutoTheta'
        when 'auto_arima' then 'AutoARIMA'
        when 'seasonal_naive' then 'Seasonal naive'
        when 'linear_trend' then 'Linear trend'
        else method
    end as method_label,
    cutoff_date,
    train_days,
    test_days,
    mape,
    smape,
    coverage_80,
    coverage_95,
    calibration_errors,
    evaluated_at
from signals.forecast_backtest
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
