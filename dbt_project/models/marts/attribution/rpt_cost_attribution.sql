-- Cost attribution tree over the whole data range:
-- total (level 0) -> workspace (1) -> department (2) -> agent (3) -> provider/model (4).
-- Each node's share_of_parent is its cost over its parent's cost, so the shares
-- of the children of one parent sum to 1; share_of_total is over the root.
{%- set separator = "' > '" %}
-- The leaves are summed from the incremental fct_cost_daily (the org-mapping
-- fallback applied on every run), not from every call of the history.
with leaves as (

    {{ cost_rollup_by_attributed_department(ref('fct_cost_daily'), []) }}

),

nodes as (

    select
        0 as level,
        'total' as level_name,
        'total' as node_name,
        'total' as node_path,
        cast(null as string) as parent_path,
        cast(null as string) as workspace_id,
        cast(null as string) as department,
        cast(null as string) as agent_id,
        cast(null as string) as provider,
        cast(null as string) as model,
        sum(calls) as calls,
        sum(unpriced_calls) as unpriced_calls,
        sum(total_cost_usd) as total_cost_usd
    from leaves

    union all

    select
        1,
        'workspace',
        workspace_id,
        {{ dbt.concat(["'total'", separator, 'workspace_id']) }},
        'total',
        workspace_id,  -- noqa: AL08
        null,
        null,
        null,
        null,
        sum(calls),
        sum(unpriced_calls),
        sum(total_cost_usd)
    from leaves
    group by workspace_id

    union all

    select
        2,
        'department',
        department,
        {{ dbt.concat(["'total'", separator, 'workspace_id', separator, 'department']) }},
        {{ dbt.concat(["'total'", separator, 'workspace_id']) }},
        workspace_id,
        department,  -- noqa: AL08
        null,
        null,
        null,
        sum(calls),
        sum(unpriced_calls),
        sum(total_cost_usd)
    from leaves
    group by workspace_id, department

    union all

    select
        3,
        'agent',
        agent_id,
        {{ dbt.concat(["'total'", separator, 'workspace_id', separator, 'department', separator, 'agent_id']) }},
        {{ dbt.concat(["'total'", separator, 'workspace_id', separator, 'department']) }},
        workspace_id,
        department,
        agent_id,  -- noqa: AL08
        null,
        null,
        sum(calls),
        sum(unpriced_calls),
        sum(total_cost_usd)
    from leaves
    group by workspace_id, department, agent_id

    union all

    select
        4,
        'model',
        {{ dbt.concat(['provider', "'/'", 'model']) }},
        {{ dbt.concat(["'total'", separator, 'workspace_id', separator, 'department', separator, 'agent_id', separator, 'provider', "'/'", 'model']) }},  -- noqa: LT05
        {{ dbt.concat(["'total'", separator, 'workspace_id', separator, 'department', separator, 'agent_id']) }},
        workspace_id,
        department,
        agent_id,
        provider,
        model,
        calls,
        unpriced_calls,
        total_cost_usd
    from leaves

),

root as (

    select total_cost_usd from nodes
    where level = 0

),

final as (

    select
        nodes.node_path,
        nodes.level,
        nodes.level_name,
        nodes.node_name,
        nodes.parent_path,
        nodes.workspace_id,
        nodes.department,
        nodes.agent_id,
        nodes.provider,
        nodes.model,
        nodes.calls,
        nodes.unpriced_calls,
        nodes.total_cost_usd,
        case
            when nodes.level = 0 then 1.0
            else cast(coalesce(nodes.total_cost_usd, 0) as double)
                / nullif(cast(parents.total_cost_usd as double), 0)
        end as share_of_parent,
        cast(coalesce(nodes.total_cost_usd, 0) as double)
        / nullif(cast(root.total_cost_usd as double), 0) as share_of_total
    from nodes
    cross join root
    left join nodes as parents
        on nodes.parent_path = parents.node_path

)

select
    cast(node_path as string) as node_path,
    cast(level as integer) as level,
    cast(level_name as string) as level_name,
    cast(node_name as string) as node_name,
    cast(parent_path as string) as parent_path,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(agent_id as string) as agent_id,
    cast(provider as string) as provider,
    cast(model as string) as model,
    cast(calls as bigint) as calls,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(share_of_parent as double) as share_of_parent,
    cast(share_of_total as double) as share_of_total
from final
