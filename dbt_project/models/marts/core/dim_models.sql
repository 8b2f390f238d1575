-- One row per (provider, requested model) seen in LLM calls, with its catalog match.
-- Built from the incremental per-day aggregate fct_model_daily, not from every call.
with model_days as (

    select * from {{ ref('fct_model_daily') }}

),

activity as (

    select
        provider,
        model,
        min(first_call_at) as first_seen_at,
        max(last_call_at) as last_seen_at,
        sum(calls) as call_count,
        sum(priced_calls) as priced_calls,
        sum(calls) - sum(priced_calls) as unpriced_calls,
        count(distinct response_model) as response_model_count
    from model_days
    group by provider, model

),

-- The catalog ids matched most often (a model can match several snapshots).
catalog_counts as (

    select
        provider,
        model,
        catalog_provider_id,
        catalog_model_id,
        sum(calls) as call_count
    from model_days
    where catalog_model_id is not null
    group by provider, model, catalog_provider_id, catalog_model_id

),

catalog_ranked as (

    select
        provider,
        model,
        catalog_provider_id,
        catalog_model_id,
        row_number() over (
            partition by provider, model
            order by call_count desc, catalog_provider_id asc, catalog_model_id asc
        ) as catalog_rank
    from catalog_counts

),

final as (

    select
        activity.provider,
        activity.model,
        {{ dbt.concat(['activity.provider', "'/'", 'activity.model']) }} as model_key,
        catalog_ranked.catalog_provider_id,
        catalog_ranked.catalog_model_id,
        activity.unpriced_calls = 0 as is_priced,
        activity.priced_calls,
        activity.unpriced_calls,
        activity.response_model_count,
        activity.call_count,
        activity.first_seen_at,
        activity.last_seen_at
    from activity
    left join catalog_ranked
        on activity.provider = catalog_ranked.provider
        and activity.model = catalog_ranked.model
        and catalog_ranked.catalog_rank = 1

)

select
    cast(provider as string) as provider,
    cast(model as string) as model,
    cast(model_key as string) as model_key,
    cast(catalog_provider_id as string) as catalog_provider_id,
    cast(catalog_model_id as string) as catalog_model_id,
    cast(is_priced as boolean) as is_priced,
    cast(priced_calls as bigint) as priced_calls,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(response_model_count as bigint) as response_model_count,
    cast(call_count as bigint) as call_count,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at
from final
