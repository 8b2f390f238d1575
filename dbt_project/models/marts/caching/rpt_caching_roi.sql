-- Prompt-cache return per agent and model: what caching saved, what writing to
-- the cache cost extra, and an estimate of the savings still available.
--
-- Savings still available (potential_savings_usd), the assumption spelled out:
--   candidate calls  = priced calls that neither read nor wrote the cache and
--                      whose input is at least var min_cacheable_input_tokens
--                      (default 1024, the smallest prompt major providers cache);
--   cacheable share  = the share of input this agent served from cache on its
--                      calls of this model that did read the cache (its typical
--                      repeated prefix); var assumed_cacheable_prefix_share
--                      (default 0.5) when the agent never read the cache;
--   discount / token = uncached input rate - cache-read rate, from the first
--                      source that knows it:
--                      observed   the model's cache savings / cache-read tokens
--                                 over all agents;
--                      catalog    the model's observed uncached input rate x
--                                 (1 - catalog cache-read price / input price),
--                                 default tier, base band, price valid on
--                                 the as-of date (var as_of_date or last call day);
--                      no_cache_price  the catalog lists no cache-read price
--                                 for the model: nothing to save (0);
--                      assumed    models outside the catalog: the uncached rate
--                                 x (1 - var assumed_cache_read_price_ratio, 0.5).
--   potential        = candidate uncached input tokens x cacheable share x discount.
-- It is gross of the write premium needed to fill the cache, so an upper bound.
{%- set assumed_share = var('assumed_cacheable_prefix_share', 0.5) %}
{%- set assumed_ratio = var('assumed_cache_read_price_ratio', 0.5) %}
-- Sums of the incremental per-day aggregate fct_caching_daily, which applies
-- the per-call conditions above (cache hit, candidate call) call by call.
with caching_days as (

    select * from {{ ref('fct_caching_daily') }}

),

-- Catalog price ratio of cache reads to input, per catalog model: default
-- tier, base band (no long-context tier), prices valid on the as-of date.
catalog_cache_prices as (

    select
        provider_id,
        model_id,
        cast(avg(case when usage_type = 'cache_read' then price_per_mtok end) as double)
        / nullif(cast(avg(case when usage_type = 'input' then price_per_mtok end) as double), 0)
            as cache_read_price_ratio,
        sum(case when usage_type = 'cache_read' then 1 else 0 end) > 0 as has_cache_read_price
    from {{ ref('stg_reference__model_prices') }}
    where service_tier = 'default'
        and tier_start_tokens = 0
        and valid_from <= {{ as_of_date_sql(ref('fct_llm_calls')) }}
        and valid_to > {{ as_of_date_sql(ref('fct_llm_calls')) }}
    group by provider_id, model_id

),

-- The catalog model each (provider, model) was priced as most often.
catalog_matches_ranked as (

    select
        provider,
        model,
        catalog_provider_id,
        catalog_model_id,
        row_number() over (
            partition by provider, model
            order by sum(calls) desc, catalog_provider_id, catalog_model_id asc
        ) as match_rank
    from {{ ref('fct_model_daily') }}
    where catalog_model_id is not null
    group by provider, model, catalog_provider_id, catalog_model_id

),

model_rates as (

    select
        provider,
        model,
        cast(sum(uncached_input_cost_usd) as double)
        / nullif(sum(priced_uncached_input_tokens), 0) as uncached_input_rate_usd,
        cast(sum(cache_savings_usd) as double)
        / nullif(sum(priced_cache_read_tokens), 0) as observed_read_discount_usd
    from caching_days
    group by provider, model

),

model_discounts as (

    select
        model_rates.provider,
        model_rates.model,
        case
            when model_rates.observed_read_discount_usd is not null
                then model_rates.observed_read_discount_usd
            when catalog_cache_prices.has_cache_read_price
                then model_rates.uncached_input_rate_usd * (1 - catalog_cache_prices.cache_read_price_ratio)
            when catalog_cache_prices.model_id is not null
                then 0
            else model_rates.uncached_input_rate_usd * (1 - {{ assumed_ratio }})
        end as read_discount_per_token_usd,
        case
            when model_rates.observed_read_discount_usd is not null then 'observed'
            when catalog_cache_prices.has_cache_read_price then 'catalog'
            when catalog_cache_prices.model_id is not null then 'no_cache_price'
            else 'assumed'
        end as discount_source
    from model_rates
    left join catalog_matches_ranked
        on model_rates.provider = catalog_matches_ranked.provider
        and model_rates.model = catalog_matches_ranked.model
        and catalog_matches_ranked.match_rank = 1
    left join catalog_cache_prices
        on catalog_matches_ranked.catalog_provider_id = catalog_cache_prices.provider_id
        and catalog_matches_ranked.catalog_model_id = catalog_cache_prices.model_id

),

agent_models as (

    select
        agent_id,
        provider,
        model,
        sum(calls) as calls,
        sum(cache_hit_calls) as cache_hit_calls,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(cache_savings_usd) as cache_savings_usd,
        sum(cache_write_premium_usd) as cache_write_premium_usd,
        cast(sum(cache_hit_read_tokens) as double)
        / nullif(sum(cache_hit_input_tokens), 0) as observed_prefix_share,
        sum(candidate_uncached_tokens) as candidate_uncached_tokens
    from caching_days
    group by agent_id, provider, model

),

estimated as (

    select
        agent_models.*,
        coalesce(agent_models.observed_prefix_share, {{ assumed_share }}) as cacheable_prefix_share,
        case when agent_models.observed_prefix_share is null then 'assumed' else 'observed' end
            as prefix_share_source,
        model_discounts.read_discount_per_token_usd,
        model_discounts.discount_source
    from agent_models
    left join model_discounts
        on agent_models.provider = model_discounts.provider
        and agent_models.model = model_discounts.model

),

final as (

    select
        estimated.agent_id,
        agents.agent_name,
        estimated.provider,
        estimated.model,
        estimated.calls,
        estimated.cache_hit_calls,
        estimated.input_tokens,
        estimated.cache_read_tokens,
        estimated.cache_write_tokens,
        estimated.uncached_input_tokens,
        cast(estimated.cache_read_tokens as double) / nullif(estimated.input_tokens, 0) as cache_hit_rate,
        estimated.cache_read_cost_usd,
        estimated.cache_write_cost_usd,
        estimated.cache_savings_usd,
        estimated.cache_write_premium_usd,
        estimated.cache_savings_usd - coalesce(estimated.cache_write_premium_usd, 0) as net_cache_savings_usd,
        cast(estimated.cache_savings_usd - coalesce(estimated.cache_write_premium_usd, 0) as double)
        / nullif(cast(estimated.cache_write_premium_usd as double), 0) as cache_roi,
        estimated.candidate_uncached_tokens,
        estimated.cacheable_prefix_share,
        estimated.prefix_share_source,
        estimated.read_discount_per_token_usd,
        estimated.discount_source,
        estimated.candidate_uncached_tokens
        * estimated.cacheable_prefix_share
        * estimated.read_discount_per_token_usd as potential_savings_usd
    from estimated
    left join {{ ref('dim_agents') }} as agents
        on estimated.agent_id = agents.agent_id

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(provider as string) as provider,
    cast(model as string) as model,
    cast(calls as bigint) as calls,
    cast(cache_hit_calls as bigint) as cache_hit_calls,
    cast(input_tokens as bigint) as input_tokens,
    cast(cache_read_tokens as bigint) as cache_read_tokens,
    cast(cache_write_tokens as bigint) as cache_write_tokens,
    cast(uncached_input_tokens as bigint) as uncached_input_tokens,
    cast(cache_hit_rate as double) as cache_hit_rate,
    cast(cache_read_cost_usd as {{ money_type() }}) as cache_read_cost_usd,
    cast(cache_write_cost_usd as {{ money_type() }}) as cache_write_cost_usd,
    cast(cache_savings_usd as {{ money_type() }}) as cache_savings_usd,
    cast(cache_write_premium_usd as {{ money_type() }}) as cache_write_premium_usd,
    cast(net_cache_savings_usd as {{ money_type() }}) as net_cache_savings_usd,
    cast(cache_roi as double) as cache_roi,
    cast(candidate_uncached_tokens as bigint) as candidate_uncached_tokens,
    cast(cacheable_prefix_share as double) as cacheable_prefix_share,
    cast(prefix_share_source as string) as prefix_share_source,
    cast(read_discount_per_token_usd as double) as read_discount_per_token_usd,
    cast(discount_source as string) as discount_source,
    cast(potential_savings_usd as {{ money_type() }}) as potential_savings_usd
from final
