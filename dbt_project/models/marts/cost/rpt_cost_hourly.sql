-- Hourly cost per workspace, department, agent, provider and model, by cost part.
with calls as (

    select * from {{ attributed_llm_calls() }} as calls

),

hourly as (

    select
        call_hour,
        call_date,
        workspace_id,
        department,
        agent_id,
        provider,
        model,
        {{ cost_measures() }}
    from calls
    group by call_hour, call_date, workspace_id, department, agent_id, provider, model

),

final as (

    select
        hourly.call_hour,
        hourly.call_date,
        hourly.workspace_id,
        hourly.department,
        hourly.agent_id,
        agents.agent_name,
        agents.team,
        agents.cost_centre,
        hourly.provider,
        hourly.model,
        {{ cost_measure_columns('hourly.') }}
    from hourly
    left join {{ ref('dim_agents') }} as agents
        on hourly.agent_id = agents.agent_id

)

select
    call_hour,
    call_date,
    workspace_id,
    department,
    agent_id,
    agent_name,
    team,
    cost_centre,
    provider,
    model,
    {{ cost_measure_columns() }}
from final
