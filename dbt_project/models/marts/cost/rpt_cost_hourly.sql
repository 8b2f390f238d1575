-- Hourly cost per workspace, department, agent, provider and model, by cost part.
-- The measures come from the incremental fct_cost_hourly, which keeps the
-- department as recorded; the org-mapping fallback and the labels are applied
-- here on every run, so a change to the mapping re-attributes all history.
with hourly as (

    {{ cost_rollup_by_attributed_department(ref('fct_cost_hourly'), ['call_hour', 'call_date']) }}

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
