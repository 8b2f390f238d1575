{{ config(unique_key='span_date') }}

-- Span activity per day, workspace and agent (id and name as recorded, null
-- included), incremental by day: a run replaces the days of its partition
-- window. dim_agents and dim_workspaces read it instead of every span of the
-- history: first and last activity, the latest display name, the workspace an
-- agent works in most.
with spans as (

    select
        started_at,
        workspace_id,
        agent_id,
        agent_name,
        operation
    from {{ ref('stg_raw__trace_spans') }}
    where {{ partition_window_predicate('started_at', 'span_date') }}

)

select
    {{ day_of('started_at') }} as span_date,
    workspace_id,
    agent_id,
    agent_name,
    count(*) as span_count,
    min(started_at) as first_started_at,
    max(started_at) as last_started_at,
    min(case when {{ is_llm_call_operation('operation') }} then started_at end) as first_call_at,
    max(case when {{ is_llm_call_operation('operation') }} then started_at end) as last_call_at
from spans
group by {{ day_of('started_at') }}, workspace_id, agent_id, agent_name
