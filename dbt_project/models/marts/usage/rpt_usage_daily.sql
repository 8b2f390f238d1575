-- Daily usage per agent, provider and model. Percentiles at this grain only.
-- The measures come from the incremental fct_usage_daily; the labels are
-- joined on every run, so a renamed agent shows its new name on every day.
with daily as (

    select * from {{ ref('fct_usage_daily') }}

),

final as (

    select
        daily.call_date,
        daily.agent_id,
        agents.agent_name,
        daily.provider,
        daily.model,
        {{ usage_measure_columns('daily.') }}
    from daily
    left join {{ ref('dim_agents') }} as agents
        on daily.agent_id = agents.agent_id

)

select
    call_date,
    agent_id,
    agent_name,
    provider,
    model,
    {{ usage_measure_columns() }}
from final
