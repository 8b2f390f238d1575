{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='call_date',
        on_schema_change='fail'
    )
}}

-- Daily usage over all agents and models: the percentiles are computed over
-- every call of the day (they cannot be derived from rpt_usage_daily).
-- Incremental by day (no labels to refresh): a run replaces its window's days.
with calls as (

    select * from {{ attributed_llm_calls_in_window() }} as calls

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
