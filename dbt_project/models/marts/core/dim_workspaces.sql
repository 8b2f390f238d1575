-- One row per workspace (tenant) seen in any span.
with spans as (

    select workspace_id, agent_id, started_at, trace_id
    from {{ ref('stg_raw__trace_spans') }}

),

calls as (

    select * from {{ attributed_llm_calls() }} as calls

),

span_activity as (

    select
        workspace_id,
        min(started_at) as first_seen_at,
        max(started_at) as last_seen_at,
        count(distinct agent_id) as agent_count,
        count(distinct trace_id) as trace_count
    from spans
    group by workspace_id

),

call_activity as (

    select
        workspace_id,
        count(distinct department) as department_count,
        count(*) as call_count
    from calls
    group by workspace_id

),

final as (

    select
        span_activity.workspace_id,
        span_activity.first_seen_at,
        span_activity.last_seen_at,
        span_activity.agent_count,
        coalesce(call_activity.department_count, 0) as department_count,
        span_activity.trace_count,
        coalesce(call_activity.call_count, 0) as call_count
    from span_activity
    left join call_activity
        on span_activity.workspace_id = call_activity.workspace_id

)

select
    cast(workspace_id as varchar) as workspace_id,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at,
    cast(agent_count as bigint) as agent_count,
    cast(department_count as bigint) as department_count,
    cast(trace_count as bigint) as trace_count,
    cast(call_count as bigint) as call_count
from final
