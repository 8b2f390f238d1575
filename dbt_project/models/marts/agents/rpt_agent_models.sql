-- One row per agent and (provider, model) it called: its model mix.
with calls as (

    select * from {{ ref('fct_llm_calls_attributed') }}

),

by_model as (

    select
        agent_id,
        provider,
        model,
        min(call_date) as first_call_date,
        max(call_date) as last_call_date,
        count(*) as calls,
        sum(case when is_error then 1 else 0 end) as error_calls,
        sum(case when is_priced then 0 else 1 end) as unpriced_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        {{ percentile_cont('duration_ms', 0.5, together_with=[0.95]) }} as latency_p50_ms,
        {{ percentile_cont('duration_ms', 0.95, together_with=[0.5]) }} as latency_p95_ms
    from calls
    group by agent_id, provider, model

),

final as (

    select
        by_model.agent_id,
        agents.agent_name,
        by_model.provider,
        by_model.model,
        by_model.first_call_date,
        by_model.last_call_date,
        by_model.calls,
        cast(by_model.calls as double) / sum(by_model.calls) over (partition by by_model.agent_id)
            as share_of_agent_calls,
        by_model.error_calls,
        cast(by_model.error_calls as double) / by_model.calls as error_rate,
        by_model.unpriced_calls,
        by_model.input_tokens,
        by_model.output_tokens,
        by_model.total_tokens,
        by_model.total_cost_usd,
        cast(by_model.total_cost_usd as double)
        / nullif(cast(sum(by_model.total_cost_usd) over (partition by by_model.agent_id) as double), 0)
            as share_of_agent_cost,
        by_model.latency_p50_ms,
        by_model.latency_p95_ms
    from by_model
    left join {{ ref('dim_agents') }} as agents
        on by_model.agent_id = agents.agent_id

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(provider as string) as provider,
    cast(model as string) as model,
    cast(first_call_date as date) as first_call_date,
    cast(last_call_date as date) as last_call_date,
    cast(calls as bigint) as calls,
    cast(share_of_agent_calls as double) as share_of_agent_calls,
    cast(error_calls as bigint) as error_calls,
    cast(error_rate as double) as error_rate,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(input_tokens as bigint) as input_tokens,
    cast(output_tokens as bigint) as output_tokens,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(share_of_agent_cost as double) as share_of_agent_cost,
    cast(latency_p50_ms as double) as latency_p50_ms,
    cast(latency_p95_ms as double) as latency_p95_ms
from final
