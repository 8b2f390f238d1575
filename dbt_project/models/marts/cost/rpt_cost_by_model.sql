-- Cost per provider and model over the whole data range.
-- Sums of the incremental per-day cost aggregate.
with by_model as (

    select
        provider,
        model,
        min(call_date) as first_call_date,
        max(call_date) as last_call_date,
        cast(count(distinct agent_id) as bigint) as agent_count,
        cast(sum(priced_tokens) as bigint) as priced_tokens,
        {{ cost_measures_rollup() }}
    from {{ ref('fct_cost_daily') }}
    group by provider, model

),

grand_total as (

    select sum(total_cost_usd) as total_cost_usd from by_model

),

final as (

    select
        by_model.provider,
        by_model.model,
        models.catalog_model_id,
        by_model.first_call_date,
        by_model.last_call_date,
        by_model.agent_count,
        {{ cost_measure_columns('by_model.') }},
        cast(by_model.total_cost_usd as double)
        / nullif(cast(grand_total.total_cost_usd as double), 0) as share_of_total_cost,
        cast(by_model.total_cost_usd as double) / nullif(by_model.priced_calls, 0) as cost_per_priced_call_usd,
        cast(by_model.total_cost_usd as double) * 1000 / nullif(by_model.priced_tokens, 0) as cost_per_1k_tokens_usd
    from by_model
    cross join grand_total
    left join {{ ref('dim_models') }} as models
        on by_model.provider = models.provider
        and by_model.model = models.model

)

select
    cast(provider as string) as provider,
    cast(model as string) as model,
    cast(catalog_model_id as string) as catalog_model_id,
    cast(first_call_date as date) as first_call_date,
    cast(last_call_date as date) as last_call_date,
    agent_count,
    {{ cost_measure_columns() }},
    cast(share_of_total_cost as double) as share_of_total_cost,
    cast(cost_per_priced_call_usd as double) as cost_per_priced_call_usd,
    cast(cost_per_1k_tokens_usd as double) as cost_per_1k_tokens_usd
from final
