{{ config(unique_key='span_date', partition_by=['span_date']) }}

-- Span activity per day, workspace and agent (id and name as attributed: the
-- span's own, else its nearest ancestor's; null included), incremental by day: a run replaces the days of its partition
-- window. dim_agents and dim_workspaces read it instead of every span of the
-- history: first and last activity, the latest display name, the workspace an
-- agent works in most.
with spans as (

    select
        spans.started_at,
        spans.workspace_id,
        {{ attributed_agent_id('spans') }} as agent_id,
        {{ attributed_agent_name('spans') }} as agent_name,
        spans.operation
    from {{ ref('stg_raw__trace_spans') }} as spans
    left join {{ ref('int_span_attribution') }} as inherited
        on spans.span_id = inherited.span_id
    -- trace_span_days beyond the window too: spans there may have been
    -- re-attributed to an agent whose span arrived in this run
    where {{ partition_window_predicate('spans.started_at', 'span_date', margin_days=var('trace_span_days', 1) | int) }}

)

select
    cast(started_at as date) as span_date,
    workspace_id,
    agent_id,
    agent_name,
    count(*) as span_count,
    min(started_at) as first_started_at,
    max(started_at) as last_started_at,
    min(case when {{ is_llm_call_operation('operation') }} then started_at end) as first_call_at,
    max(case when {{ is_llm_call_operation('operation') }} then started_at end) as last_call_at
from spans
group by cast(started_at as date), workspace_id, agent_id, agent_name
