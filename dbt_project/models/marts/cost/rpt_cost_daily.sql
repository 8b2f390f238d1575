-- Daily cost per workspace, department, agent, provider and model, by cost part.
-- The measures come from the incremental fct_cost_daily, which keeps the
-- department as recorded; the org-mapping fallback and the labels are applied
-- here on every run, so a change to the mapping re-attributes all history.
with daily as (

    {{ cost_rollup_by_attributed_department(ref('fct_cost_daily'), ['call_date']) }}

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
