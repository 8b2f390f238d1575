-- Cost per hour, workspace, department as recorded on the span, agent,
-- provider and model, incremental by day (see fct_cost_daily); rpt_cost_hourly
-- applies the org-mapping fallback and the labels on every run.
with calls as (

    -- the calls of the run's window, and trace_span_days beyond it on both
    -- sides: there fct_llm_calls may have re-attributed calls to an agent
    -- whose span arrived in this run, and those days are re-aggregated whole
    select * from {{ ref('fct_llm_calls_attributed') }}
    where {{ partition_window_predicate('started_at', 'call_date', margin_days=var('trace_span_days') | int) }}

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
