-- models seen on spans that no custom or catalog price covers, with their volume:
-- the to-do list for catalog_provider_map and seeds/custom_model_prices.csv
with unpriced_calls as (

    select
        provider,
        coalesce(response_model, request_model) as model,
        request_model,
        started_at,
        input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        total_tokens
    from {{ ref('fct_llm_calls') }}
    where not is_priced

),

final as (

    select
        provider,
        model,
        {{ distinct_list('request_model') }} as request_models,
        count(*) as calls,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        min(started_at) as first_seen_at,
        max(started_at) as last_seen_at
    from unpriced_calls
    group by provider, model

)

select * from final
