-- One row per model provider seen in LLM calls.
-- Built from the incremental per-day aggregate fct_model_daily, not from every call.
with model_days as (

    select * from {{ ref('fct_model_daily') }}

),

activity as (

    select
        provider,
        min(first_call_at) as first_seen_at,
        max(last_call_at) as last_seen_at,
        count(distinct model) as model_count,
        count(distinct agent_id) as agent_count,
        sum(calls) as call_count,
        sum(calls) - sum(priced_calls) as unpriced_calls
    from model_days
    group by provider

),

catalog_counts as (

    select
        provider,
        catalog_provider_id,
        sum(calls) as call_count
    from model_days
    where catalog_provider_id is not null
    group by provider, catalog_provider_id

),

catalog_ranked as (

    select
        provider,
        catalog_provider_id,
        row_number() over (partition by provider order by call_count desc, catalog_provider_id asc) as catalog_rank
    from catalog_counts

),

final as (

    select
        activity.provider,
        catalog_ranked.catalog_provider_id,
        activity.model_count,
        activity.agent_count,
        activity.call_count,
        activity.unpriced_calls,
        activity.unpriced_calls = 0 as is_fully_priced,
        activity.first_seen_at,
        activity.last_seen_at
    from activity
    left join catalog_ranked
        on activity.provider = catalog_ranked.provider
        and catalog_ranked.catalog_rank = 1

)

select
    cast(provider as string) as provider,
    cast(catalog_provider_id as string) as catalog_provider_id,
    cast(model_count as bigint) as model_count,
    cast(agent_count as bigint) as agent_count,
    cast(call_count as bigint) as call_count,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(is_fully_priced as boolean) as is_fully_priced,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at
from final
