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
--   discount / token = the model's observed cache discount, cache savings over
--                      cache-read tokens across all agents (= uncached input
--                      rate - cache-read rate); when no agent ever read the
--                      cache for the model, the uncached input rate times
--                      (1 - var assumed_cache_read_price_ratio, default 0.5).
--   potential        = candidate uncached input tokens x cacheable share x discount.
-- It is gross of the write premium needed to fill the cache, so an upper bound.
{%- set min_cacheable = var('min_cacheable_input_tokens', 1024) %}
{%- set assumed_share = var('assumed_cacheable_prefix_share', 0.5) %}
{%- set assumed_ratio = var('assumed_cache_read_price_ratio', 0.5) %}
with calls as (

    select * from {{ attributed_llm_calls() }} as calls

),

model_rates as (

    select
        provider,
        model,
        cast(sum(uncached_input_cost_usd) as double)
            / nullif(sum(case when is_priced then uncached_input_tokens end), 0) as uncached_input_rate_usd,
        cast(sum(cache_savings_usd) as double)
            / nullif(sum(case when is_priced then cache_read_tokens end), 0) as observed_read_discount_usd
    from calls
    group by provider, model

),

agent_models as (

    select
        agent_id,
        provider,
        model,
        count(*) as calls,
        sum(case when cache_read_tokens > 0 then 1 else 0 end) as cache_hit_calls,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(cache_savings_usd) as cache_savings_usd,
        sum(cache_write_premium_usd) as cache_write_premium_usd,
        cast(sum(case when cache_read_tokens > 0 then cache_read_tokens end) as double)
            / nullif(sum(case when cache_read_tokens > 0 then input_tokens end), 0) as observed_prefix_share,
        sum(
            case
                when is_priced
                    and cache_read_tokens = 0
                    and cache_write_tokens = 0
                    and input_tokens >= {{ min_cacheable }}
                then uncached_input_tokens
                else 0
            end
        ) as candidate_uncached_tokens
    from calls
    group by agent_id, provider, model

),

estimated as (

    select
        agent_models.*,
        coalesce(agent_models.observed_prefix_share, {{ assumed_share }}) as cacheable_prefix_share,
        case when agent_models.observed_prefix_share is null then 'assumed' else 'observed' end
            as prefix_share_source,
        coalesce(
            model_rates.observed_read_discount_usd,
            model_rates.uncached_input_rate_usd * (1 - {{ assumed_ratio }})
        ) as read_discount_per_token_usd,
        case when model_rates.observed_read_discount_usd is null then 'assumed' else 'observed' end
            as discount_source
    from agent_models
    left join model_rates
        on agent_models.provider = model_rates.provider
        and agent_models.model = model_rates.model

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
    cast(agent_id as varchar) as agent_id,
    cast(agent_name as varchar) as agent_name,
    cast(provider as varchar) as provider,
    cast(model as varchar) as model,
    cast(calls as bigint) as calls,
    cast(cache_hit_calls as bigint) as cache_hit_calls,
    cast(input_tokens as bigint) as input_tokens,
    cast(cache_read_tokens as bigint) as cache_read_tokens,
    cast(cache_write_tokens as bigint) as cache_write_tokens,
    cast(uncached_input_tokens as bigint) as uncached_input_tokens,
    cast(cache_hit_rate as double) as cache_hit_rate,
    cast(cache_read_cost_usd as decimal(38, 12)) as cache_read_cost_usd,
    cast(cache_write_cost_usd as decimal(38, 12)) as cache_write_cost_usd,
    cast(cache_savings_usd as decimal(38, 12)) as cache_savings_usd,
    cast(cache_write_premium_usd as decimal(38, 12)) as cache_write_premium_usd,
    cast(net_cache_savings_usd as decimal(38, 12)) as net_cache_savings_usd,
    cast(cache_roi as double) as cache_roi,
    cast(candidate_uncached_tokens as bigint) as candidate_uncached_tokens,
    cast(cacheable_prefix_share as double) as cacheable_prefix_share,
    cast(prefix_share_source as varchar) as prefix_share_source,
    cast(read_discount_per_token_usd as double) as read_discount_per_token_usd,
    cast(discount_source as varchar) as discount_source,
    cast(potential_savings_usd as decimal(38, 12)) as potential_savings_usd
from final
