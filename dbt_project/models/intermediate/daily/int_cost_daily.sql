-- Cost per day, workspace, department as recorded on the span, agent,
-- provider and model, incremental by day: a run replaces the days of its
-- partition window. The department is kept as recorded so that
-- rpt_cost_daily applies the org-mapping fallback on every run (a change to
-- the mapping re-attributes all history without a rebuild of this table).
with calls as (

    select * from {{ attributed_llm_calls_in_window() }} as calls

)

select
    call_date,
    workspace_id,
    trace_department,
    agent_id,
    provider,
    model,
    {{ cost_measures() }}
from calls
group by call_date, workspace_id, trace_department, agent_id, provider, model
