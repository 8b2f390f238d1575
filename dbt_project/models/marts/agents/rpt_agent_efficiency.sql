-- One row per agent with LLM calls: how much useful work its spend buys.
--   output_input_ratio            output tokens / input tokens
--   cost_per_successful_call_usd  all priced cost (errors included) / priced calls that succeeded,
--                                 so retries and failures raise it
--   cost_per_trace_usd            priced cost / distinct traces the agent made calls in
--   error_waste_usd               cost of the calls that ended in error (retry/error waste)
-- Sums of the incremental per-day aggregate; traces are counted in
-- int_trace_agents (a trace crossing midnight counts once).
with call_traces as (

    {{ traces_with_calls_per_agent() }}

),

daily_sums as (

    select
        agent_id,
        sum(calls) as calls,
        sum(calls) - sum(error_calls) as successful_calls,
        sum(error_calls) as error_calls,
        sum(successful_priced_calls) as successful_priced_calls,
        sum(calls) - sum(unpriced_calls) as priced_calls,
        sum(unpriced_calls) as unpriced_calls,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(output_tokens) as output_tokens,
        sum(total_tokens) as total_tokens,
        sum(priced_tokens) as priced_tokens,
        sum(total_cost_usd) as total_cost_usd,
        sum(error_cost_usd) as error_waste_usd
    from {{ ref('fct_agent_daily') }}
    group by agent_id

),

by_agent as (

    select
        daily_sums.*,
        coalesce(call_traces.traces, 0) as traces
    from daily_sums
    left join call_traces
        on daily_sums.agent_id = call_traces.agent_id

),

final as (

    select
        by_agent.agent_id,
        agents.agent_name,
        agents.workspace_id,
        agents.department,
        by_agent.calls,
        by_agent.successful_calls,
        by_agent.error_calls,
        cast(by_agent.error_calls as double) / by_agent.calls as error_rate,
        by_agent.unpriced_calls,
        by_agent.traces,
        by_agent.input_tokens,
        by_agent.output_tokens,
        by_agent.total_tokens,
        by_agent.total_cost_usd,
        cast(by_agent.output_tokens as double) / nullif(by_agent.input_tokens, 0) as output_input_ratio,
        cast(by_agent.cache_read_tokens as double) / nullif(by_agent.input_tokens, 0) as cache_hit_rate,
        cast(by_agent.total_cost_usd as double) / nullif(by_agent.priced_calls, 0) as cost_per_call_usd,
        cast(by_agent.total_cost_usd as double) / nullif(by_agent.successful_priced_calls, 0)
            as cost_per_successful_call_usd,
        cast(by_agent.total_cost_usd as double) / nullif(by_agent.traces, 0) as cost_per_trace_usd,
        cast(by_agent.total_cost_usd as double) * 1000 / nullif(by_agent.priced_tokens, 0)
            as cost_per_1k_tokens_usd,
        cast(by_agent.total_tokens as double) / nullif(by_agent.traces, 0) as tokens_per_trace,
        cast(by_agent.calls as double) / nullif(by_agent.traces, 0) as calls_per_trace,
        coalesce(by_agent.error_waste_usd, case when by_agent.total_cost_usd is not null then 0 end)
            as error_waste_usd,
        cast(coalesce(by_agent.error_waste_usd, 0) as double)
        / nullif(cast(by_agent.total_cost_usd as double), 0) as error_waste_share
    from by_agent
    left join {{ ref('dim_agents') }} as agents
        on by_agent.agent_id = agents.agent_id

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(calls as bigint) as calls,
    cast(successful_calls as bigint) as successful_calls,
    cast(error_calls as bigint) as error_calls,
    cast(error_rate as double) as error_rate,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(traces as bigint) as traces,
    cast(input_tokens as bigint) as input_tokens,
    cast(output_tokens as bigint) as output_tokens,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(output_input_ratio as double) as output_input_ratio,
    cast(cache_hit_rate as double) as cache_hit_rate,
    cast(cost_per_call_usd as double) as cost_per_call_usd,
    cast(cost_per_successful_call_usd as double) as cost_per_successful_call_usd,
    cast(cost_per_trace_usd as double) as cost_per_trace_usd,
    cast(cost_per_1k_tokens_usd as double) as cost_per_1k_tokens_usd,
    cast(tokens_per_trace as double) as tokens_per_trace,
    cast(calls_per_trace as double) as calls_per_trace,
    cast(error_waste_usd as {{ money_type() }}) as error_waste_usd,
    cast(error_waste_share as double) as error_waste_share
from final
