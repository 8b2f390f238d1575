-- Cost per hour, workspace, department as recorded on the span, agent,
-- provider and model, incremental by day (see int_cost_daily); rpt_cost_hourly
-- applies the org-mapping fallback and the labels on every run.
with calls as (

    select * from {{ attributed_llm_calls_in_window() }} as calls

)

select
    call_hour,
    call_date,
    workspace_id,
    trace_department,
    agent_id,
    provider,
    model,
    {{ cost_measures() }}
from calls
group by call_hour, call_date, workspace_id, trace_department, agent_id, provider, model
