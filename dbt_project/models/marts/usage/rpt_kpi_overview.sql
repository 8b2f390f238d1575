-- Headline KPIs for standard periods ending on the as-of date (var as_of_date,
-- default: the last day with calls), each against the previous comparable
-- period: the 7 / 30 days before, or the same days of the previous month.
{%- set metrics = [
    'calls', 'error_calls', 'unpriced_calls', 'active_agents', 'total_cost_usd',
    'input_tokens', 'output_tokens', 'cache_read_tokens', 'latency_p50_ms',
    'latency_p95_ms', 'error_rate'
] %}
with calls as (

    -- only the day and duration of each call (for the latency percentiles):
    -- no attribution needed
    select * from {{ ref('fct_llm_calls') }}

),

as_of as (

    select cast({{ as_of_date_sql(ref('fct_llm_calls')) }} as date) as as_of_date

),

previous_month as (

    select
        as_of_date,
        cast({{ dbt.dateadd('month', -1, 'as_of_date') }} as date) as same_day_previous_month
    from as_of

),

windows as (

    select
        'last_7_days' as period,
        1 as period_order,
        'current' as window_kind,
        cast({{ dbt.dateadd('day', -6, 'as_of_date') }} as date) as start_date,
        as_of_date as end_date
    from as_of
    union all
    select
        'last_7_days',
        1,
        'previous',
        cast({{ dbt.dateadd('day', -13, 'as_of_date') }} as date),
        cast({{ dbt.dateadd('day', -7, 'as_of_date') }} as date)
    from as_of
    union all
    select
        'last_30_days',
        2,
        'current',
        cast({{ dbt.dateadd('day', -29, 'as_of_date') }} as date),
        as_of_date
    from as_of
    union all
    select
        'last_30_days',
        2,
        'previous',
        cast({{ dbt.dateadd('day', -59, 'as_of_date') }} as date),
        cast({{ dbt.dateadd('day', -30, 'as_of_date') }} as date)
    from as_of
    union all
    select
        'month_to_date',
        3,
        'current',
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date),
        as_of_date
    from as_of
    union all
    -- Same days of the previous month; a 31st maps to the previous month's last day.
    select
        'month_to_date',
        3,
        'previous',
        cast({{ dbt.date_trunc('month', 'same_day_previous_month') }} as date),
        same_day_previous_month
    from previous_month

),

-- Volume, errors, tokens and cost: sums of the incremental per-agent daily
-- aggregate (one row per agent and day with calls, so its distinct agents are
-- the active agents). The latency percentiles, which do not add up across
-- days, read the calls of the windows' days only.
window_sums as (

    select
        windows.period,
        windows.window_kind,
        coalesce(sum(daily.calls), 0) as calls,
        coalesce(sum(daily.error_calls), 0) as error_calls,
        coalesce(sum(daily.unpriced_calls), 0) as unpriced_calls,
        count(distinct daily.agent_id) as active_agents,
        sum(daily.total_cost_usd) as total_cost_usd,
        coalesce(sum(daily.input_tokens), 0) as input_tokens,
        coalesce(sum(daily.output_tokens), 0) as output_tokens,
        coalesce(sum(daily.cache_read_tokens), 0) as cache_read_tokens
    from windows
    left join {{ ref('fct_agent_daily') }} as daily
        on daily.call_date between windows.start_date and windows.end_date
    group by windows.period, windows.window_kind

),

window_calls as (

    select
        call_date,
        duration_ms
    from calls
    where call_date >= (select min(start_date) from windows)  -- noqa: RF02
        and call_date <= (select max(end_date) from windows)  -- noqa: RF02

),

window_latency as (

    select
        windows.period,
        windows.window_kind,
        {{ percentile_cont('window_calls.duration_ms', 0.5, together_with=[0.95]) }} as latency_p50_ms,
        {{ percentile_cont('window_calls.duration_ms', 0.95, together_with=[0.5]) }} as latency_p95_ms
    from windows
    left join window_calls
        on window_calls.call_date between windows.start_date and windows.end_date
    group by windows.period, windows.window_kind

),

window_measures as (

    select
        window_sums.period,
        window_sums.window_kind,
        window_sums.calls,
        window_sums.error_calls,
        window_sums.unpriced_calls,
        window_sums.active_agents,
        window_sums.total_cost_usd,
        window_sums.input_tokens,
        window_sums.output_tokens,
        window_sums.cache_read_tokens,
        window_latency.latency_p50_ms,
        window_latency.latency_p95_ms,
        cast(window_sums.error_calls as double) / nullif(window_sums.calls, 0) as error_rate
    from window_sums
    inner join window_latency
        on window_sums.period = window_latency.period
        and window_sums.window_kind = window_latency.window_kind

),

periods as (

    select
        period,
        max(period_order) as period_order,
        max(case when window_kind = 'current' then start_date end) as period_start,
        max(case when window_kind = 'current' then end_date end) as period_end,
        max(case when window_kind = 'previous' then start_date end) as previous_period_start,
        max(case when window_kind = 'previous' then end_date end) as previous_period_end
    from windows
    group by period

),

final as (

    select
        periods.period,
        periods.period_order,
        as_of.as_of_date,
        periods.period_start,
        periods.period_end,
        periods.previous_period_start,
        periods.previous_period_end,
        {%- for metric in metrics %}
            current_window.{{ metric }} as {{ metric }},  -- noqa: AL09
            previous_window.{{ metric }} as {{ metric }}_previous,
        {%- endfor %}
        {%- for metric in metrics if metric != 'error_rate' %}
            cast(current_window.{{ metric }} as double)
            / nullif(cast(previous_window.{{ metric }} as double), 0) - 1 as {{ metric }}_change_pct,
        {%- endfor %}
        current_window.error_rate - previous_window.error_rate as error_rate_change_pts
    from periods
    cross join as_of
    inner join window_measures as current_window
        on periods.period = current_window.period
        and current_window.window_kind = 'current'
    inner join window_measures as previous_window
        on periods.period = previous_window.period
        and previous_window.window_kind = 'previous'

)

select
    cast(period as string) as period,
    cast(period_order as integer) as period_order,
    cast(as_of_date as date) as as_of_date,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(previous_period_start as date) as previous_period_start,
    cast(previous_period_end as date) as previous_period_end,
    {%- for metric in metrics %}
        {%- set metric_type = money_type() if metric.endswith('_usd') else ('double' if metric.endswith('_ms') or metric == 'error_rate' else 'bigint') %}  -- noqa: LT05
        cast({{ metric }} as {{ metric_type }}) as {{ metric }},
        cast({{ metric }}_previous as {{ metric_type }}) as {{ metric }}_previous,
    {%- endfor %}
    {%- for metric in metrics if metric != 'error_rate' %}
        cast({{ metric }}_change_pct as double) as {{ metric }}_change_pct,
    {%- endfor %}
    cast(error_rate_change_pts as double) as error_rate_change_pts
from final
