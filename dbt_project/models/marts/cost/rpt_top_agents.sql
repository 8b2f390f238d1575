-- Agents ranked by cost over two windows: the full data range and the last 30
-- days ending on the as-of date (var as_of_date, default the last day with calls).
-- Summed from the incremental fct_cost_daily (one row per day, workspace,
-- department, agent, provider and model), not from every call of the history.
with daily as (

    select * from {{ ref('fct_cost_daily') }}

),

as_of as (

    select cast({{ as_of_date_sql(ref('fct_llm_calls')) }} as date) as as_of_date

),

windowed as (

    select
        'full_range' as ranking_window,
        daily.*
    from daily
    union all
    select
        'last_30_days' as ranking_window,
        daily.*
    from daily
    cross join as_of
    where daily.call_date between cast({{ dbt.dateadd('day', -29, 'as_of.as_of_date') }} as date)
        and as_of.as_of_date

),

by_agent as (

    select
        ranking_window,
        agent_id,
        sum(calls) as calls,
        sum(unpriced_calls) as unpriced_calls,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd
    from windowed
    group by ranking_window, agent_id

),

ranked as (

    select
        by_agent.*,
        -- Agents without any priced call rank last; ties broken by id for a stable order.
        row_number() over (
            partition by by_agent.ranking_window
            order by
                case when by_agent.total_cost_usd is null then 1 else 0 end,
                by_agent.total_cost_usd desc,
                by_agent.agent_id asc
        ) as cost_rank,
        sum(by_agent.total_cost_usd) over (partition by by_agent.ranking_window) as window_total_cost_usd
    from by_agent

),

final as (

    select
        ranked.ranking_window,
        ranked.cost_rank,
        ranked.agent_id,
        agents.agent_name,
        agents.workspace_id,
        agents.department,
        ranked.calls,
        ranked.unpriced_calls,
        ranked.total_tokens,
        ranked.total_cost_usd,
        cast(ranked.total_cost_usd as double)
        / nullif(cast(ranked.window_total_cost_usd as double), 0) as share_of_window_cost,
        cast(sum(ranked.total_cost_usd) over (
            partition by ranked.ranking_window
            order by ranked.cost_rank
            rows between unbounded preceding and current row
        ) as double) / nullif(cast(ranked.window_total_cost_usd as double), 0) as cumulative_share_of_window_cost
    from ranked
    left join {{ ref('dim_agents') }} as agents
        on ranked.agent_id = agents.agent_id

)

select
    cast(ranking_window as string) as ranking_window,
    cast(cost_rank as bigint) as cost_rank,
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(calls as bigint) as calls,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(share_of_window_cost as double) as share_of_window_cost,
    cast(cumulative_share_of_window_cost as double) as cumulative_share_of_window_cost
from final
