-- One row per workspace (tenant) seen in any span. Built from the incremental
-- aggregates (span activity per day, cost per day) and the trace fact, not
-- from every span of the history.
with span_activity as (

    select
        workspace_id,
        min(first_started_at) as first_seen_at,
        max(last_started_at) as last_seen_at,
        count(distinct agent_id) as agent_count
    from {{ ref('int_span_activity_daily') }}
    group by workspace_id

),

trace_activity as (

    select
        workspace_id,
        count(*) as trace_count
    from {{ ref('fct_traces') }}
    group by workspace_id

),

call_rollup as (

    {{ cost_rollup_by_attributed_department(ref('fct_cost_daily'), []) }}

),

call_activity as (

    select
        workspace_id,
        count(distinct department) as department_count,
        sum(calls) as call_count
    from call_rollup
    group by workspace_id

),

final as (

    select
        span_activity.workspace_id,
        span_activity.first_seen_at,
        span_activity.last_seen_at,
        span_activity.agent_count,
        coalesce(call_activity.department_count, 0) as department_count,
        coalesce(trace_activity.trace_count, 0) as trace_count,
        coalesce(call_activity.call_count, 0) as call_count
    from span_activity
    left join trace_activity
        on span_activity.workspace_id = trace_activity.workspace_id
    left join call_activity
        on span_activity.workspace_id = call_activity.workspace_id

)

select
    cast(workspace_id as string) as workspace_id,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at,
    cast(agent_count as bigint) as agent_count,
    cast(department_count as bigint) as department_count,
    cast(trace_count as bigint) as trace_count,
    cast(call_count as bigint) as call_count
from final
