-- Hourly usage per agent, provider and model. Percentiles at this grain only.
-- The measures come from the incremental fct_usage_hourly; the labels are
-- joined on every run.
with hourly as (

    select * from {{ ref('fct_usage_hourly') }}

),

final as (

    select
        hourly.call_hour,
        hourly.call_date,
        hourly.agent_id,
        agents.agent_name,
        hourly.provider,
        hourly.model,
        {{ usage_measure_columns('hourly.') }}
    from hourly
    left join {{ ref('dim_agents') }} as agents
        on hourly.agent_id = agents.agent_id

)

select
    call_hour,
    call_date,
    agent_id,
    agent_name,
    provider,
    model,
    {{ usage_measure_columns() }}
from final
