-- Provider x model comparison over the whole data range: price, speed, reliability, volume.
-- Volume, tokens and cost are sums of the incremental per-day aggregates;
-- only the latency percentiles, which do not add up across days, read the calls.
with calls as (

    select * from {{ ref('fct_llm_calls_attributed') }}

),

costs as (

    select
        provider,
        model,
        sum(calls) as calls,
        sum(unpriced_calls) as unpriced_calls,
        count(distinct agent_id) as agent_count,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(total_tokens) as total_tokens,
        sum(priced_tokens) as priced_tokens,
        sum(priced_input_tokens) as priced_input_tokens,
        sum(priced_output_tokens) as priced_output_tokens,
        sum(priced_calls) as priced_calls,
        sum(total_cost_usd) as total_cost_usd,
        sum(uncached_input_cost_usd) + sum(cache_read_cost_usd) + sum(cache_write_cost_usd) as input_cost_usd,
        sum(output_cost_usd) + sum(reasoning_cost_usd) as output_cost_usd
    from {{ ref('fct_cost_daily') }}
    group by provider, model

),

errors as (

    select
        provider,
        model,
        sum(error_calls) as error_calls
    from {{ ref('fct_usage_daily') }}
    group by provider, model

),

latency as (

    select
        provider,
        model,
        {{ percentile_cont('duration_ms', 0.5, together_with=[0.95]) }} as latency_p50_ms,
        {{ percentile_cont('duration_ms', 0.95, together_with=[0.5]) }} as latency_p95_ms,
        {{ percentile_cont('time_to_first_token_ms', 0.5) }} as ttft_p50_ms
    from calls
    group by provider, model

),

by_model as (

    select
        costs.*,
        cast(errors.error_calls as double) / costs.calls as error_rate,
        latency.latency_p50_ms,
        latency.latency_p95_ms,
        latency.ttft_p50_ms
    from costs
    left join errors
        on costs.provider = errors.provider
        and costs.model = errors.model
    left join latency
        on costs.provider = latency.provider
        and costs.model = latency.model

),

final as (

    select
        provider,
        model,
        calls,
        cast(calls as double) / sum(calls) over () as share_of_calls,
        unpriced_calls,
        agent_count,
        input_tokens,
        output_tokens,
        total_tokens,
        total_cost_usd,
        cast(total_cost_usd as double) * 1000 / nullif(priced_tokens, 0) as cost_per_1k_tokens_usd,
        cast(input_cost_usd as double) * 1000 / nullif(priced_input_tokens, 0) as cost_per_1k_input_tokens_usd,
        cast(output_cost_usd as double) * 1000 / nullif(priced_output_tokens, 0) as cost_per_1k_output_tokens_usd,
        cast(total_cost_usd as double) / nullif(priced_calls, 0) as cost_per_call_usd,
        latency_p50_ms,
        latency_p95_ms,
        ttft_p50_ms,
        error_rate
    from by_model

)

select
    cast(provider as string) as provider,
    cast(model as string) as model,
    cast(calls as bigint) as calls,
    cast(share_of_calls as double) as share_of_calls,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(agent_count as bigint) as agent_count,
    cast(input_tokens as bigint) as input_tokens,
    cast(output_tokens as bigint) as output_tokens,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(cost_per_1k_tokens_usd as double) as cost_per_1k_tokens_usd,
    cast(cost_per_1k_input_tokens_usd as double) as cost_per_1k_input_tokens_usd,
    cast(cost_per_1k_output_tokens_usd as double) as cost_per_1k_output_tokens_usd,
    cast(cost_per_call_usd as double) as cost_per_call_usd,
    cast(latency_p50_ms as double) as latency_p50_ms,
    cast(latency_p95_ms as double) as latency_p95_ms,
    cast(ttft_p50_ms as double) as ttft_p50_ms,
    cast(error_rate as double) as error_rate
from final
