-- One row per agent seen in any span or LLM call, with its owner and habits.
-- Built from the incremental aggregates (span activity per day, agents per
-- trace, cost per day), not from every span of the history.
with span_days as (

    select * from {{ ref('int_span_activity_daily') }}

),

-- Calls per workspace, attributed department, agent, provider and model over
-- all days (org-mapping fallback applied).
call_rollup as (

    {{ cost_rollup_by_attributed_department(ref('fct_cost_daily'), []) }}

),

span_activity as (

    select
        agent_id,
        min(first_started_at) as first_seen_at,
        max(last_started_at) as last_seen_at
    from span_days
    where agent_id is not null
    group by agent_id

),

trace_activity as (

    select
        agent_id,
        count(*) as trace_count
    from {{ ref('int_trace_agents') }}
    where agent_id is not null
    group by agent_id

),

-- First and last call under the calls' agent id ('unassigned' when none).
call_times as (

    select
        coalesce(agent_id, {{ unassigned_label() }}) as agent_id,
        min(first_call_at) as first_call_at,
        max(last_call_at) as last_call_at
    from span_days
    where first_call_at is not null
    group by coalesce(agent_id, {{ unassigned_label() }})

),

call_activity as (

    select
        agent_id,
        sum(calls) as call_count,
        count(distinct {{ dbt.concat(['provider', "'/'", 'model']) }}) as model_count
    from call_rollup
    group by agent_id

),

agent_universe as (

    select agent_id from span_activity
    union
    select agent_id from call_activity

),

-- Latest non-null display name (ties: alphabetical).
name_last_used as (

    select
        agent_id,
        agent_name,
        max(last_started_at) as last_used_at
    from span_days
    where agent_id is not null and agent_name is not null
    group by agent_id, agent_name

),

names_ranked as (

    select
        agent_id,
        agent_name,
        row_number() over (partition by agent_id order by last_used_at desc, agent_name asc) as name_rank
    from name_last_used

),

-- Workspace with the most spans (ties: alphabetical).
workspace_counts as (

    select
        agent_id,
        workspace_id,
        sum(span_count) as span_count
    from span_days
    where agent_id is not null
    group by agent_id, workspace_id

),

workspaces_ranked as (

    select
        agent_id,
        workspace_id,
        row_number() over (partition by agent_id order by span_count desc, workspace_id asc) as workspace_rank
    from workspace_counts

),

-- Department (already resolved with the org-mapping fallback) with the most calls.
department_counts as (

    select
        agent_id,
        department,
        sum(calls) as call_count
    from call_rollup
    group by agent_id, department

),

departments_ranked as (

    select
        agent_id,
        department,
        row_number() over (partition by agent_id order by call_count desc, department asc) as department_rank
    from department_counts

),

model_counts as (

    select
        agent_id,
        provider,
        model,
        sum(calls) as call_count
    from call_rollup
    group by agent_id, provider, model

),

models_ranked as (

    select
        agent_id,
        provider,
        model,
        row_number() over (partition by agent_id order by call_count desc, provider asc, model asc) as model_rank
    from model_counts

),

call_workspaces_ranked as (

    select
        agent_id,
        workspace_id,
        row_number() over (partition by agent_id order by sum(calls) desc, workspace_id) as workspace_rank
    from call_rollup
    group by agent_id, workspace_id

),

final as (

    select
        agent_universe.agent_id,
        coalesce(names_ranked.agent_name, agent_universe.agent_id) as agent_name,
        coalesce(workspaces_ranked.workspace_id, call_workspaces_ranked.workspace_id) as workspace_id,
        coalesce(departments_ranked.department, org.department, {{ unassigned_label() }}) as department,
        org.team,
        org.cost_centre,
        org.agent_id is not null as is_in_org_mapping,
        coalesce(span_activity.first_seen_at, call_times.first_call_at) as first_seen_at,
        coalesce(span_activity.last_seen_at, call_times.last_call_at) as last_seen_at,
        models_ranked.provider as primary_provider,
        models_ranked.model as primary_model,
        coalesce(call_activity.model_count, 0) as model_count,
        coalesce(call_activity.call_count, 0) as call_count,
        coalesce(trace_activity.trace_count, 0) as trace_count
    from agent_universe
    left join span_activity
        on agent_universe.agent_id = span_activity.agent_id
    left join trace_activity
        on agent_universe.agent_id = trace_activity.agent_id
    left join call_times
        on agent_universe.agent_id = call_times.agent_id
    left join call_activity
        on agent_universe.agent_id = call_activity.agent_id
    left join names_ranked
        on agent_universe.agent_id = names_ranked.agent_id
        and names_ranked.name_rank = 1
    left join workspaces_ranked
        on agent_universe.agent_id = workspaces_ranked.agent_id
        and workspaces_ranked.workspace_rank = 1
    left join call_workspaces_ranked
        on agent_universe.agent_id = call_workspaces_ranked.agent_id
        and call_workspaces_ranked.workspace_rank = 1
    left join departments_ranked
        on agent_universe.agent_id = departments_ranked.agent_id
        and departments_ranked.department_rank = 1
    left join models_ranked
        on agent_universe.agent_id = models_ranked.agent_id
        and models_ranked.model_rank = 1
    left join {{ ref('org_mapping') }} as org
        on agent_universe.agent_id = org.agent_id

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(team as string) as team,
    cast(cost_centre as string) as cost_centre,
    cast(is_in_org_mapping as boolean) as is_in_org_mapping,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at,
    cast(primary_provider as string) as primary_provider,
    cast(primary_model as string) as primary_model,
    cast(model_count as bigint) as model_count,
    cast(call_count as bigint) as call_count,
    cast(trace_count as bigint) as trace_count
from final
