-- Daily usage per agent, provider and model. Percentiles at this grain only.
with calls as (

    select * from {{ attributed_llm_calls() }} as calls

),

daily as (

    select
        call_date,
        agent_id,
        provider,
        model,
        {{ usage_measures() }}
    from calls
    group by call_date, agent_id, provider, model

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
