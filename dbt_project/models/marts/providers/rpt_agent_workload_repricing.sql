-- What each agent's real workload of the last `recommendation_window_days` days
-- (counted back from the newest call day, as the other recent marts) would
-- have cost on each comparable catalog model and service tier, priced like the
-- call fact: the band of int_model_prices_banded valid on the call's day and
-- time of day and holding its input tokens, with the fact's own cost rule
-- (macro usage_cost).
--
-- Long-context tiers re-price a whole request by its input size, and prices
-- change by date and time of day, so an aggregate token mix is not enough.
-- The calls are summed per bucket instead: date period x time-of-day slice x
-- input-size interval, where the boundaries are the catalog's distinct
-- validity dates, daily window edges and band thresholds. No price of any
-- model changes inside a bucket, so pricing each bucket's token sums at its
-- band is exactly the sum of pricing its calls one by one.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

catalog_bands as (

    select * from {{ ref('int_model_prices_banded') }}
    where price_source = 'catalog'

),

matches as (

    select * from {{ ref('int_model_catalog_matches') }}

),

-- service tiers each catalog model has prices for
catalog_tiers as (

    select distinct
        provider_key,
        model_key,
        service_tier
    from catalog_bands

),

window_bounds as (

    {{ recommendation_window_bounds() }}

),

-- the agent's priced generation calls of the window (embeddings are not a
-- workload a chat model could take over), with the catalog price they used
workload_calls as (

    select
        calls.agent_id,
        calls.call_date,
        {{ seconds_of_day('calls.started_at') }} as second_of_day,
        calls.input_tokens,
        calls.uncached_input_tokens,
        calls.cache_read_tokens,
        calls.cache_write_tokens,
        calls.output_tokens,
        calls.visible_output_tokens,
        calls.reasoning_tokens,
        calls.total_cost_usd,
        -- the catalog price the call used, found as int_llm_calls_priced finds
        -- it: the matched model's price list, the call's tier when that list
        -- has it and the provider is the model's own (else default)
        case when calls.price_source = 'catalog' then matches.price_provider_id end as used_provider,
        case when calls.price_source = 'catalog' then calls.catalog_model_id end as used_model,
        case
            when calls.price_source != 'catalog' then null
            when matches.catalog_provider_id = matches.price_provider_id
                then coalesce(catalog_tiers.service_tier, 'default')
            else 'default'
        end as used_service_tier
    from calls
    cross join window_bounds
    left join matches
        on calls.provider is not distinct from matches.provider
        and calls.request_model is not distinct from matches.request_model
        and calls.response_model is not distinct from matches.response_model
    left join catalog_tiers
        on matches.price_provider_id = catalog_tiers.provider_key
        and matches.catalog_model_id = catalog_tiers.model_key
        and calls.service_tier = catalog_tiers.service_tier
    where
        calls.call_date > window_bounds.after_date
        and calls.is_priced
        and calls.agent_id is not null
        and calls.operation != 'embeddings'

),

-- the catalog's distinct price boundaries (band floors, daily window edges,
-- validity dates), each as an interval up to the next boundary, so that a
-- call's bucket is one range join instead of a per-call max over boundaries
token_floors as (

    select distinct band_floor_tokens as floor_tokens
    from catalog_bands

),

token_buckets as (

    select
        floor_tokens,
        coalesce(lead(floor_tokens) over (order by floor_tokens), 9223372036854775807) as ceiling_tokens
    from token_floors

),

slice_starts as (

    select daily_from_second as from_second from catalog_bands
    union
    select daily_to_second as from_second from catalog_bands

),

slices as (

    select
        from_second,
        coalesce(lead(from_second) over (order by from_second), 2147483647) as to_second
    from slice_starts

),

period_starts as (

    select valid_from as from_date from catalog_bands
    union
    select valid_to as from_date from catalog_bands

),

days_in_periods as (

    select
        call_days.call_date,
        max(period_starts.from_date) as period_from_date
    from (select distinct call_date from workload_calls) as call_days
    inner join period_starts
        on call_days.call_date >= period_starts.from_date
    group by call_days.call_date

),

-- each input size and second of the day the workload has, with its token
-- bucket and time-of-day slice: the range joins run on the distinct values
-- (at most 86,400 seconds, and far fewer sizes than calls), and each call then
-- finds its bucket and slice by equality (on 10M calls 3 s instead of 8 s)
input_size_buckets as (

    select
        input_sizes.input_tokens,
        token_buckets.floor_tokens
    from (select distinct input_tokens from workload_calls) as input_sizes
    inner join token_buckets
        on input_sizes.input_tokens > token_buckets.floor_tokens
        and input_sizes.input_tokens <= token_buckets.ceiling_tokens

),

second_slices as (

    select
        call_seconds.second_of_day,
        slices.from_second
    from (select distinct second_of_day from workload_calls) as call_seconds
    inner join slices
        on call_seconds.second_of_day >= slices.from_second
        and call_seconds.second_of_day < slices.to_second

),

-- one row per agent, model and tier used, and bucket; price_date and
-- slice_from_second / bucket_floor_tokens + 1 stand for every call of the bucket
workload_buckets as (

    select
        workload_calls.agent_id,
        workload_calls.used_provider,
        workload_calls.used_model,
        workload_calls.used_service_tier,
        days_in_periods.period_from_date,
        second_slices.from_second as slice_from_second,
        input_size_buckets.floor_tokens as bucket_floor_tokens,
        min(workload_calls.call_date) as price_date,
        count(*) as calls,
        sum(workload_calls.input_tokens) as input_tokens,
        sum(workload_calls.uncached_input_tokens) as uncached_input_tokens,
        sum(workload_calls.cache_read_tokens) as cache_read_tokens,
        sum(workload_calls.cache_write_tokens) as cache_write_tokens,
        sum(workload_calls.output_tokens) as output_tokens,
        sum(workload_calls.visible_output_tokens) as visible_output_tokens,
        sum(workload_calls.reasoning_tokens) as reasoning_tokens,
        sum(workload_calls.total_cost_usd) as actual_cost_usd
    from workload_calls
    inner join input_size_buckets
        on workload_calls.input_tokens = input_size_buckets.input_tokens
    inner join second_slices
        on workload_calls.second_of_day = second_slices.second_of_day
    inner join days_in_periods
        on workload_calls.call_date = days_in_periods.call_date
    group by
        workload_calls.agent_id,
        workload_calls.used_provider,
        workload_calls.used_model,
        workload_calls.used_service_tier,
        days_in_periods.period_from_date,
        second_slices.from_second,
        input_size_buckets.floor_tokens

),

agent_buckets as (

    select
        agent_id,
        period_from_date,
        slice_from_second,
        bucket_floor_tokens,
        min(price_date) as price_date,
        sum(calls) as calls,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(visible_output_tokens) as visible_output_tokens,
        sum(reasoning_tokens) as reasoning_tokens
    from workload_buckets
    group by agent_id, period_from_date, slice_from_second, bucket_floor_tokens

),

agent_workloads as (

    select
        agent_id,
        sum(calls) as workload_calls,
        sum(input_tokens) as input_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(visible_output_tokens) as visible_output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(actual_cost_usd) as actual_cost_usd
    from workload_buckets
    group by agent_id

),

-- comparable: a catalog model and tier with a positive input and output price
-- in its base band on the window's last day (a zero price is a free or
-- promotional listing, not an offer to compare against)
comparable_models as (

    select
        catalog_bands.provider_key,
        catalog_bands.model_key,
        catalog_bands.service_tier,
        max(case when catalog_bands.cache_read_price_per_mtok is not null then 1 else 0 end) = 1
            as has_cache_read_price
    from catalog_bands
    cross join window_bounds
    where
        catalog_bands.valid_from <= window_bounds.window_end_date
        and window_bounds.window_end_date < catalog_bands.valid_to
        and catalog_bands.band_floor_tokens = -1
        and catalog_bands.input_price_per_mtok > 0
        and catalog_bands.output_price_per_mtok > 0
    group by catalog_bands.provider_key, catalog_bands.model_key, catalog_bands.service_tier

),

used_models as (

    select
        agent_id,
        used_provider,
        used_model,
        used_service_tier,
        sum(calls) as current_calls,
        sum(actual_cost_usd) as current_actual_cost_usd
    from workload_buckets
    where used_provider is not null
    group by agent_id, used_provider, used_model, used_service_tier

),

used_providers as (

    select distinct
        agent_id,
        used_provider
    from used_models

),

-- every comparable model for every agent, and each model an agent used even
-- when it is not comparable (so the agent's own choice is always listed)
agent_candidates as (

    select
        agent_workloads.agent_id,
        comparable_models.provider_key,
        comparable_models.model_key,
        comparable_models.service_tier
    from agent_workloads
    cross join comparable_models
    union
    select
        agent_id,
        used_provider as provider_key,
        used_model as model_key,
        used_service_tier as service_tier
    from used_models

),

-- every bucket some agent's calls fall in, dated by its first call (every day
-- of a bucket's period has the same prices)
bucket_keys as (

    select
        period_from_date,
        slice_from_second,
        bucket_floor_tokens,
        min(price_date) as price_date
    from agent_buckets
    group by period_from_date, slice_from_second, bucket_floor_tokens

),

candidate_models as (

    select distinct
        provider_key,
        model_key,
        service_tier
    from agent_candidates

),

-- each candidate's prices in each bucket (null prices where it has no band)
candidate_bucket_prices as (

    select
        candidate_models.provider_key,
        candidate_models.model_key,
        candidate_models.service_tier,
        bucket_keys.period_from_date,
        bucket_keys.slice_from_second,
        bucket_keys.bucket_floor_tokens,
        bands.provider_key is not null as is_priced,
        coalesce(bands.is_long_context_tier, false) as is_long_context_tier,
        bands.input_price_per_mtok,
        bands.cache_read_price_per_mtok,
        bands.cache_write_price_per_mtok,
        bands.output_price_per_mtok,
        bands.reasoning_price_per_mtok
    from candidate_models
    cross join bucket_keys
    left join catalog_bands as bands
        on candidate_models.provider_key = bands.provider_key
        and candidate_models.model_key = bands.model_key
        and candidate_models.service_tier = bands.service_tier
        and {{ price_band_holds(
            'bands', 'bucket_keys.price_date', 'bucket_keys.slice_from_second', 'bucket_keys.bucket_floor_tokens + 1'
        ) }}

),

candidate_price_lists as (

    select distinct
        provider_key,
        model_key,
        service_tier,
        is_priced,
        is_long_context_tier,
        input_price_per_mtok,
        cache_read_price_per_mtok,
        cache_write_price_per_mtok,
        output_price_per_mtok,
        reasoning_price_per_mtok
    from candidate_bucket_prices

),

-- candidates with the same prices in every bucket (most catalog models: no
-- time-of-day window, long-context tier or price change inside the window)
single_price_candidates as (

    select
        provider_key,
        model_key,
        service_tier
    from candidate_price_lists
    group by provider_key, model_key, service_tier
    having count(*) = 1

),

-- each agent's workload on each candidate, summed per price the candidate
-- charges for it: a token sum times a price is exactly the sum of the parts'
-- products, so the 38-digit multiplications run once per price. A
-- single-price candidate takes the agent's whole workload at once; the others
-- go bucket by bucket.
buckets_at_prices as (

    select
        agent_candidates.agent_id,
        agent_candidates.provider_key,
        agent_candidates.model_key,
        agent_candidates.service_tier,
        candidate_price_lists.is_priced,
        candidate_price_lists.is_long_context_tier,
        candidate_price_lists.input_price_per_mtok,
        candidate_price_lists.cache_read_price_per_mtok,
        candidate_price_lists.cache_write_price_per_mtok,
        candidate_price_lists.output_price_per_mtok,
        candidate_price_lists.reasoning_price_per_mtok,
        agent_workloads.workload_calls as calls,
        agent_workloads.uncached_input_tokens,
        agent_workloads.cache_read_tokens,
        agent_workloads.cache_write_tokens,
        agent_workloads.visible_output_tokens,
        agent_workloads.reasoning_tokens
    from agent_candidates
    inner join single_price_candidates
        on agent_candidates.provider_key = single_price_candidates.provider_key
        and agent_candidates.model_key = single_price_candidates.model_key
        and agent_candidates.service_tier = single_price_candidates.service_tier
    inner join candidate_price_lists
        on agent_candidates.provider_key = candidate_price_lists.provider_key
        and agent_candidates.model_key = candidate_price_lists.model_key
        and agent_candidates.service_tier = candidate_price_lists.service_tier
    inner join agent_workloads
        on agent_candidates.agent_id = agent_workloads.agent_id

    union all

    select
        agent_candidates.agent_id,
        agent_candidates.provider_key,
        agent_candidates.model_key,
        agent_candidates.service_tier,
        candidate_bucket_prices.is_priced,
        candidate_bucket_prices.is_long_context_tier,
        candidate_bucket_prices.input_price_per_mtok,
        candidate_bucket_prices.cache_read_price_per_mtok,
        candidate_bucket_prices.cache_write_price_per_mtok,
        candidate_bucket_prices.output_price_per_mtok,
        candidate_bucket_prices.reasoning_price_per_mtok,
        sum(agent_buckets.calls) as calls,
        sum(agent_buckets.uncached_input_tokens) as uncached_input_tokens,
        sum(agent_buckets.cache_read_tokens) as cache_read_tokens,
        sum(agent_buckets.cache_write_tokens) as cache_write_tokens,
        sum(agent_buckets.visible_output_tokens) as visible_output_tokens,
        sum(agent_buckets.reasoning_tokens) as reasoning_tokens
    from agent_candidates
    left join single_price_candidates
        on agent_candidates.provider_key = single_price_candidates.provider_key
        and agent_candidates.model_key = single_price_candidates.model_key
        and agent_candidates.service_tier = single_price_candidates.service_tier
    inner join agent_buckets
        on agent_candidates.agent_id = agent_buckets.agent_id
    inner join candidate_bucket_prices
        on agent_candidates.provider_key = candidate_bucket_prices.provider_key
        and agent_candidates.model_key = candidate_bucket_prices.model_key
        and agent_candidates.service_tier = candidate_bucket_prices.service_tier
        and agent_buckets.period_from_date = candidate_bucket_prices.period_from_date
        and agent_buckets.slice_from_second = candidate_bucket_prices.slice_from_second
        and agent_buckets.bucket_floor_tokens = candidate_bucket_prices.bucket_floor_tokens
    where single_price_candidates.provider_key is null
    group by
        agent_candidates.agent_id,
        agent_candidates.provider_key,
        agent_candidates.model_key,
        agent_candidates.service_tier,
        candidate_bucket_prices.is_priced,
        candidate_bucket_prices.is_long_context_tier,
        candidate_bucket_prices.input_price_per_mtok,
        candidate_bucket_prices.cache_read_price_per_mtok,
        candidate_bucket_prices.cache_write_price_per_mtok,
        candidate_bucket_prices.output_price_per_mtok,
        candidate_bucket_prices.reasoning_price_per_mtok

),

buckets_priced as (

    select
        agent_id,
        provider_key,
        model_key,
        service_tier,
        calls,
        is_priced,
        is_long_context_tier,
        {{ usage_cost('input', 'uncached_input_tokens', summed=true) }} as uncached_input_cost,
        {{ usage_cost('cache_read', 'cache_read_tokens', summed=true) }} as cache_read_cost,
        {{ usage_cost('cache_write', 'cache_write_tokens', summed=true) }} as cache_write_cost,
        {{ usage_cost('output', 'visible_output_tokens', summed=true) }} as output_cost,
        {{ usage_cost('reasoning', 'reasoning_tokens', summed=true) }} as reasoning_cost
    from buckets_at_prices

),

candidate_costs as (

    select
        agent_id,
        provider_key,
        model_key,
        service_tier,
        sum(case when is_priced then 0 else calls end) as uncovered_calls,
        sum(case when is_long_context_tier then calls else 0 end) as long_context_calls,
        sum(uncached_input_cost) as uncached_input_cost_usd,
        sum(cache_read_cost) as cache_read_cost_usd,
        sum(cache_write_cost) as cache_write_cost_usd,
        sum(output_cost) as output_cost_usd,
        sum(reasoning_cost) as reasoning_cost_usd,
        sum(uncached_input_cost + cache_read_cost + cache_write_cost + output_cost + reasoning_cost)
            as candidate_cost_usd
    from buckets_priced
    group by agent_id, provider_key, model_key, service_tier

),

-- the agent's calls on a model and tier it used, priced again here: equal to
-- what the call fact charged them (the mart's invariant, tested)
used_models_repriced as (

    select
        workload_buckets.agent_id,
        workload_buckets.used_provider,
        workload_buckets.used_model,
        workload_buckets.used_service_tier,
        sum(
            {{ usage_cost('input', 'workload_buckets.uncached_input_tokens', 'bands.', summed=true) }}
            + {{ usage_cost('cache_read', 'workload_buckets.cache_read_tokens', 'bands.', summed=true) }}
            + {{ usage_cost('cache_write', 'workload_buckets.cache_write_tokens', 'bands.', summed=true) }}
            + {{ usage_cost('output', 'workload_buckets.visible_output_tokens', 'bands.', summed=true) }}
            + {{ usage_cost('reasoning', 'workload_buckets.reasoning_tokens', 'bands.', summed=true) }}
        ) as current_repriced_cost_usd
    from workload_buckets
    left join catalog_bands as bands
        on workload_buckets.used_provider = bands.provider_key
        and workload_buckets.used_model = bands.model_key
        and workload_buckets.used_service_tier = bands.service_tier
        and {{ price_band_holds(
            'bands', 'workload_buckets.price_date', 'workload_buckets.slice_from_second', 'workload_buckets.bucket_floor_tokens + 1'
        ) }}
    where workload_buckets.used_provider is not null
    group by
        workload_buckets.agent_id,
        workload_buckets.used_provider,
        workload_buckets.used_model,
        workload_buckets.used_service_tier

),

joined as (

    select
        candidate_costs.agent_id,
        candidate_costs.provider_key as candidate_provider,
        candidate_costs.model_key as candidate_model,
        candidate_costs.service_tier as candidate_service_tier,
        used_models.agent_id is not null as is_current,
        used_providers.agent_id is not null as is_current_provider,
        comparable_models.provider_key is not null as is_comparable,
        coalesce(comparable_models.has_cache_read_price, false) as has_cache_read_price,
        candidate_costs.uncovered_calls = 0 as covers_workload,
        agent_workloads.workload_calls,
        agent_workloads.input_tokens,
        agent_workloads.cache_read_tokens,
        agent_workloads.cache_write_tokens,
        agent_workloads.output_tokens,
        agent_workloads.reasoning_tokens,
        agent_workloads.actual_cost_usd,
        candidate_costs.uncovered_calls,
        candidate_costs.long_context_calls,
        case when candidate_costs.uncovered_calls = 0 then candidate_costs.uncached_input_cost_usd end
            as uncached_input_cost_usd,
        case when candidate_costs.uncovered_calls = 0 then candidate_costs.cache_read_cost_usd end
            as cache_read_cost_usd,
        case when candidate_costs.uncovered_calls = 0 then candidate_costs.cache_write_cost_usd end
            as cache_write_cost_usd,
        case when candidate_costs.uncovered_calls = 0 then candidate_costs.output_cost_usd end as output_cost_usd,
        case when candidate_costs.uncovered_calls = 0 then candidate_costs.reasoning_cost_usd end
            as reasoning_cost_usd,
        case when candidate_costs.uncovered_calls = 0 then candidate_costs.candidate_cost_usd end
            as candidate_cost_usd,
        coalesce(used_models.current_calls, 0) as current_calls,
        used_models.current_actual_cost_usd,
        used_models_repriced.current_repriced_cost_usd
    from candidate_costs
    inner join agent_workloads
        on candidate_costs.agent_id = agent_workloads.agent_id
    left join comparable_models
        on candidate_costs.provider_key = comparable_models.provider_key
        and candidate_costs.model_key = comparable_models.model_key
        and candidate_costs.service_tier = comparable_models.service_tier
    left join used_models
        on candidate_costs.agent_id = used_models.agent_id
        and candidate_costs.provider_key = used_models.used_provider
        and candidate_costs.model_key = used_models.used_model
        and candidate_costs.service_tier = used_models.used_service_tier
    left join used_providers
        on candidate_costs.agent_id = used_providers.agent_id
        and candidate_costs.provider_key = used_providers.used_provider
    left join used_models_repriced
        on candidate_costs.agent_id = used_models_repriced.agent_id
        and candidate_costs.provider_key = used_models_repriced.used_provider
        and candidate_costs.model_key = used_models_repriced.used_model
        and candidate_costs.service_tier = used_models_repriced.used_service_tier

),

final as (

    select
        joined.*,
        {{ add_days('window_bounds.after_date', 1) }} as window_start_date,
        window_bounds.window_end_date,
        joined.actual_cost_usd - joined.candidate_cost_usd as saving_usd,
        cast(joined.actual_cost_usd - joined.candidate_cost_usd as double)
        / nullif(cast(joined.actual_cost_usd as double), 0) as saving_share,
        case
            when joined.candidate_cost_usd is not null
                then row_number() over (
                        partition by joined.agent_id, joined.candidate_cost_usd is null
                        order by
                            joined.candidate_cost_usd,
                            joined.candidate_provider,
                            joined.candidate_model,
                            joined.candidate_service_tier
                    )
        end as cost_rank
    from joined
    cross join window_bounds

)

select
    cast(agent_id as string) as agent_id,
    cast(candidate_provider as string) as candidate_provider,
    cast(candidate_model as string) as candidate_model,
    cast(candidate_service_tier as string) as candidate_service_tier,
    cast(window_start_date as date) as window_start_date,
    cast(window_end_date as date) as window_end_date,
    cast(is_current as boolean) as is_current,
    cast(is_current_provider as boolean) as is_current_provider,
    cast(is_comparable as boolean) as is_comparable,
    cast(covers_workload as boolean) as covers_workload,
    cast(has_cache_read_price as boolean) as has_cache_read_price,
    cast(cost_rank as bigint) as cost_rank,
    cast(workload_calls as bigint) as workload_calls,
    cast(input_tokens as bigint) as input_tokens,
    cast(cache_read_tokens as bigint) as cache_read_tokens,
    cast(cache_write_tokens as bigint) as cache_write_tokens,
    cast(output_tokens as bigint) as output_tokens,
    cast(reasoning_tokens as bigint) as reasoning_tokens,
    cast(long_context_calls as bigint) as long_context_calls,
    cast(uncovered_calls as bigint) as uncovered_calls,
    cast(actual_cost_usd as {{ money_type() }}) as actual_cost_usd,
    cast(candidate_cost_usd as {{ money_type() }}) as candidate_cost_usd,
    cast(uncached_input_cost_usd as {{ money_type() }}) as uncached_input_cost_usd,
    cast(cache_read_cost_usd as {{ money_type() }}) as cache_read_cost_usd,
    cast(cache_write_cost_usd as {{ money_type() }}) as cache_write_cost_usd,
    cast(output_cost_usd as {{ money_type() }}) as output_cost_usd,
    cast(reasoning_cost_usd as {{ money_type() }}) as reasoning_cost_usd,
    cast(saving_usd as {{ money_type() }}) as saving_usd,
    cast(saving_share as double) as saving_share,
    cast(current_calls as bigint) as current_calls,
    cast(current_actual_cost_usd as {{ money_type() }}) as current_actual_cost_usd,
    cast(current_repriced_cost_usd as {{ money_type() }}) as current_repriced_cost_usd
from final
