-- One row per agent and department its calls are attributed to: shows shared
-- agents (used by several departments) and where the department came from.
-- Sums of the incremental per-day cost aggregate, with the org-mapping
-- fallback applied on every run.
with by_department as (

    select
        agent_id,
        department,
        sum(calls) as calls,
        sum(case when department_source = 'trace' then calls else 0 end) as calls_department_from_trace,
        sum(case when department_source = 'org_mapping' then calls else 0 end) as calls_department_from_mapping,
        sum(unpriced_calls) as unpriced_calls,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd
    from {{ with_attributed_department(ref('fct_cost_daily')) }} as costs
    group by agent_id, department

),

final as (

    select
        by_department.agent_id,
        agents.agent_name,
        by_department.department,
        by_department.calls,
        by_department.calls_department_from_trace,
        by_department.calls_department_from_mapping,
        by_department.unpriced_calls,
        by_department.total_tokens,
        by_department.total_cost_usd,
        cast(by_department.total_cost_usd as double)
        / nullif(cast(sum(by_department.total_cost_usd) over (partition by by_department.agent_id) as double), 0)
            as share_of_agent_cost,
        cast(by_department.total_cost_usd as double)
        / nullif(cast(sum(by_department.total_cost_usd) over (partition by by_department.department) as double), 0)
            as share_of_department_cost
    from by_department
    left join {{ ref('dim_agents') }} as agents
        on by_department.agent_id = agents.agent_id

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(department as string) as department,
    cast(calls as bigint) as calls,
    cast(calls_department_from_trace as bigint) as calls_department_from_trace,
    cast(calls_department_from_mapping as bigint) as calls_department_from_mapping,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(share_of_agent_cost as double) as share_of_agent_cost,
    cast(share_of_department_cost as double) as share_of_department_cost
from final
