-- Hourly cost per workspace, department, agent, provider and model, by cost part.
-- The measures are sums of the incremental fct_cost_hourly, which keeps the
-- department as recorded; the org-mapping fallback and the labels are applied
-- here on every run, so a change to the mapping re-attributes all history.
-- Every measure is a count or a sum, so summing again after the fallback
-- (two recorded departments may map to the same one) gives the same result.
with recorded as (

    select * from {{ ref('fct_cost_hourly') }}

),

org_mapping as (

    select * from {{ ref('org_mapping') }}

),

attributed as (

    select
        recorded.*,
        {{ attributed_department('recorded.trace_department', 'org_mapping.department') }} as department
    from recorded
    left join org_mapping
        on recorded.agent_id = org_mapping.agent_id

),

hourly as (

    select
        call_hour,
        call_date,
        workspace_id,
        department,
        agent_id,
        provider,
        model,
        cast(sum(calls) as bigint) as calls,
        cast(sum(priced_calls) as bigint) as priced_calls,
        cast(sum(unpriced_calls) as bigint) as unpriced_calls,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        cast(sum(uncached_input_cost_usd) as {{ money_type() }}) as uncached_input_cost_usd,
        cast(sum(cache_read_cost_usd) as {{ money_type() }}) as cache_read_cost_usd,
        cast(sum(cache_write_cost_usd) as {{ money_type() }}) as cache_write_cost_usd,
        cast(sum(output_cost_usd) as {{ money_type() }}) as output_cost_usd,
        cast(sum(reasoning_cost_usd) as {{ money_type() }}) as reasoning_cost_usd,
        cast(sum(total_cost_usd) as {{ money_type() }}) as total_cost_usd,
        cast(sum(cache_savings_usd) as {{ money_type() }}) as cache_savings_usd,
        cast(sum(cache_write_premium_usd) as {{ money_type() }}) as cache_write_premium_usd
    from attributed
    group by call_hour, call_date, workspace_id, department, agent_id, provider, model

),

final as (

    select
        hourly.call_hour,
        hourly.call_date,
        hourly.workspace_id,
        hourly.department,
        hourly.agent_id,
        agents.agent_name,
        agents.team,
        agents.cost_centre,
        hourly.provider,
        hourly.model,
        hourly.calls,
        hourly.priced_calls,
        hourly.unpriced_calls,
        hourly.input_tokens,
        hourly.output_tokens,
        hourly.total_tokens,
        hourly.uncached_input_cost_usd,
        hourly.cache_read_cost_usd,
        hourly.cache_write_cost_usd,
        hourly.output_cost_usd,
        hourly.reasoning_cost_usd,
        hourly.total_cost_usd,
        hourly.cache_savings_usd,
        hourly.cache_write_premium_usd
    from hourly
    left join {{ ref('dim_agents') }} as agents
        on hourly.agent_id = agents.agent_id

)

select
    call_hour,
    call_date,
    workspace_id,
    department,
    agent_id,
    agent_name,
    team,
    cost_centre,
    provider,
    model,
    calls,
    priced_calls,
    unpriced_calls,
    input_tokens,
    output_tokens,
    total_tokens,
    uncached_input_cost_usd,
    cache_read_cost_usd,
    cache_write_cost_usd,
    output_cost_usd,
    reasoning_cost_usd,
    total_cost_usd,
    cache_savings_usd,
    cache_write_premium_usd
from final
