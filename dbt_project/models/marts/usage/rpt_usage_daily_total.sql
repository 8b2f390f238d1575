-- Daily usage over all agents and models: the percentiles are computed over
-- every call of the day (they cannot be derived from rpt_usage_daily).
with calls as (

    select * from {{ attributed_llm_calls() }} as calls

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
