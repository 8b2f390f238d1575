-- One row per agent and day with at least one LLM call (days without calls are absent).
-- The measures come from the incremental fct_agent_daily; the agent's name,
-- workspace and department are joined on every run.
with daily as (

    select * from {{ ref('fct_agent_daily') }}

),

final as (

    select
        daily.call_date,
        daily.agent_id,
        agents.agent_name,
        agents.workspace_id,
        agents.department,
        daily.calls,
        daily.traces,
        daily.error_calls,
        cast(daily.error_calls as double) / daily.calls as error_rate,
        daily.unpriced_calls,
        daily.input_tokens,
        daily.cache_read_tokens,
        daily.output_tokens,
        daily.total_tokens,
        daily.total_cost_usd,
        daily.latency_p50_ms,
        daily.latency_p95_ms
    from daily
    left join {{ ref('dim_agents') }} as agents
        on daily.agent_id = agents.agent_id

)

select
    cast(call_date as date) as call_date,
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(calls as bigint) as calls,
    cast(traces as bigint) as traces,
    cast(error_calls as bigint) as error_calls,
    cast(error_rate as double) as error_rate,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(input_tokens as bigint) as input_tokens,
    cast(cache_read_tokens as bigint) as cache_read_tokens,
    cast(output_tokens as bigint) as output_tokens,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(latency_p50_ms as double) as latency_p50_ms,
    cast(latency_p95_ms as double) as latency_p95_ms
from final
