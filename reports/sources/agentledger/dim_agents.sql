-- One row per agent, with the page link used by the agents index.
select
    agent_id,
    agent_name,
    workspace_id,
    department,
    team,
    cost_centre,
    primary_provider,
    primary_model,
    model_count,
    call_count,
    trace_count,
    first_seen_at,
    last_seen_at,
    '/agents/' || agent_id as agent_link
from marts.dim_agents
