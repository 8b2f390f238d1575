-- Hourly cost per workspace, department, agent and model (marts.rpt_cost_hourly).
select
    call_hour,
    call_date,
    workspace_id,
    department,
    agent_id,
    provider || ' / ' || model as provider_model,
    calls,
    cast(total_cost_usd as double) as total_cost_usd
from marts.rpt_cost_hourly
