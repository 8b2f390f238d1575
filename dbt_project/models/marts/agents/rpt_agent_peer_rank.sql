-- Where each agent stands among all agents with LLM calls, as percentile ranks
-- in [0, 1] (percent_rank: 0 = lowest value, 1 = highest; ties share a rank):
--   cost_percentile        1 = the most expensive agent
--   efficiency_percentile  1 = the lowest cost per successful call (most efficient)
--   error_rate_percentile  1 = the highest error rate
-- An agent whose metric is null (no priced call, or no successful priced call)
-- is left out of that metric's ranking and gets a null percentile.
with efficiency as (

    select
        agent_id,
        agent_name,
        workspace_id,
        department,
        calls,
        total_cost_usd,
        cost_per_successful_call_usd,
        error_rate
    from {{ ref('rpt_agent_efficiency') }}

),

ranked as (

    select
        efficiency.*,
        percent_rank() over (
            partition by case when efficiency.total_cost_usd is null then 1 else 0 end
            order by efficiency.total_cost_usd
        ) as cost_rank_raw,
        percent_rank() over (
            partition by case when efficiency.cost_per_successful_call_usd is null then 1 else 0 end
            order by efficiency.cost_per_successful_call_usd desc
        ) as efficiency_rank_raw,
        percent_rank() over (
            partition by case when efficiency.error_rate is null then 1 else 0 end
            order by efficiency.error_rate
        ) as error_rate_rank_raw,
        count(efficiency.total_cost_usd) over () as cost_peer_count,
        count(efficiency.cost_per_successful_call_usd) over () as efficiency_peer_count,
        count(efficiency.error_rate) over () as error_rate_peer_count
    from efficiency

),

final as (

    select
        agent_id,
        agent_name,
        workspace_id,
        department,
        calls,
        total_cost_usd,
        case when total_cost_usd is not null then cost_rank_raw end as cost_percentile,
        cost_peer_count,
        cost_per_successful_call_usd,
        case when cost_per_successful_call_usd is not null then efficiency_rank_raw end as efficiency_percentile,
        efficiency_peer_count,
        error_rate,
        case when error_rate is not null then error_rate_rank_raw end as error_rate_percentile,
        error_rate_peer_count
    from ranked

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(calls as bigint) as calls,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(cost_percentile as double) as cost_percentile,
    cast(cost_peer_count as bigint) as cost_peer_count,
    cast(cost_per_successful_call_usd as double) as cost_per_successful_call_usd,
    cast(efficiency_percentile as double) as efficiency_percentile,
    cast(efficiency_peer_count as bigint) as efficiency_peer_count,
    cast(error_rate as double) as error_rate,
    cast(error_rate_percentile as double) as error_rate_percentile,
    cast(error_rate_peer_count as bigint) as error_rate_peer_count
from final
