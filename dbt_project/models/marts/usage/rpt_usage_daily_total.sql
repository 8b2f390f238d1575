{{
    config(
        materialized='incremental',
        incremental_strategy=replace_days_strategy(),
        unique_key='call_date',
        partition_by=['call_date'],
        on_schema_change='fail'
    )
}}

-- Daily usage over all agents and models: the percentiles are computed over
-- every call of the day (they cannot be derived from rpt_usage_daily).
-- Incremental by day (no labels to refresh): a run replaces its window's days.
with calls as (

    -- the calls of the run's window and trace_span_days beyond it (see fct_usage_daily)
    select * from {{ ref('fct_llm_calls_attributed') }}
    where {{ partition_window_predicate('started_at', 'call_date', margin_days=var('trace_span_days') | int) }}

),

daily as (

    select
        call_date,
        cast(count(distinct agent_id) as bigint) as active_agents,
        cast(count(distinct {{ dbt.concat(['provider', "'/'", 'model']) }}) as bigint) as active_models,
        {{ usage_measures() }}
    from calls
    group by call_date

)

select
    call_date,
    active_agents,
    active_models,
    {{ usage_measure_columns() }}
from daily
