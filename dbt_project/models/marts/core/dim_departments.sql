-- One row per department: those calls or traces are attributed to (after the
-- org-mapping fallback, 'unassigned' included) and those listed in org_mapping.
-- Built from the incremental per-day cost aggregate (org-mapping fallback
-- applied on every run) and the trace fact, not from every call.
with call_activity as (

    select
        department,
        min(first_call_at) as first_seen_at,
        max(last_call_at) as last_seen_at,
        count(distinct workspace_id) as workspace_count,
        count(distinct agent_id) as agent_count,
        sum(calls) as call_count
    from {{ with_attributed_department(ref('fct_cost_daily')) }} as costs
    group by department

),

trace_departments as (

    select
        department,
        min(started_at) as first_trace_at,
        max(started_at) as last_trace_at
    from {{ ref('fct_traces') }}
    group by department

),

mapped as (

    select
        department,
        count(*) as mapped_agent_count
    from {{ ref('org_mapping') }}
    group by department

),

department_universe as (

    select department from call_activity
    union
    select department from trace_departments
    union
    select department from mapped

),

final as (

    select
        department_universe.department,
        coalesce(call_activity.first_seen_at, trace_departments.first_trace_at) as first_seen_at,
        coalesce(call_activity.last_seen_at, trace_departments.last_trace_at) as last_seen_at,
        coalesce(call_activity.workspace_count, 0) as workspace_count,
        coalesce(call_activity.agent_count, 0) as agent_count,
        coalesce(mapped.mapped_agent_count, 0) as mapped_agent_count,
        coalesce(call_activity.call_count, 0) as call_count,
        mapped.department is not null as is_in_org_mapping
    from department_universe
    left join call_activity
        on department_universe.department = call_activity.department
    left join trace_departments
        on department_universe.department = trace_departments.department
    left join mapped
        on department_universe.department = mapped.department

)

select
    cast(department as string) as department,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at,
    cast(workspace_count as bigint) as workspace_count,
    cast(agent_count as bigint) as agent_count,
    cast(mapped_agent_count as bigint) as mapped_agent_count,
    cast(call_count as bigint) as call_count,
    cast(is_in_org_mapping as boolean) as is_in_org_mapping
from final
