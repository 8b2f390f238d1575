-- Daily cost per workspace, department, agent, provider and model, by cost part.
with calls as (

    select * from {{ attributed_llm_calls() }} as calls

),

daily as (

    select
        call_date,
        workspace_id,
        department,
        agent_id,
        provider,
        model,
        {{ cost_measures() }}
    from calls
    group by call_date, workspace_id, department, agent_id, provider, model

),

final as (

    select
        daily.call_date,
        daily.workspace_id,
        daily.department,
        daily.agent_id,
        agents.agent_name,
        agents.team,
        agents.cost_centre,
        daily.provider,
        daily.model,
        {{ cost_measure_columns('daily.') }}
    from daily
    left join {{ ref('dim_agents') }} as agents
        on daily.agent_id = agents.agent_id

)

select
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
