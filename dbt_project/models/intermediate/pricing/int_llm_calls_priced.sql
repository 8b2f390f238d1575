-- one row per model-operation span, matched to its price and costed
-- (OTel token semantics: input includes cache reads and writes, output includes reasoning)
with model_spans as (

    select
        spans.span_id,
        spans.trace_id,
        spans.parent_span_id,
        spans.started_at,
        cast(spans.started_at as date) as call_date,
        {{ hour_of('spans.started_at') }} as call_hour,
        {{ seconds_of_day('spans.started_at') }} as call_second_of_day,
        spans.workspace_id,
        {{ attributed_field('department', 'spans') }} as department,
        {{ attributed_agent_id('spans') }} as agent_id,
        {{ attributed_agent_name('spans') }} as agent_name,
        {{ agent_attribution('spans') }} as agent_attribution,
        {{ attributed_field('user_id', 'spans') }} as user_id,
        {{ attributed_field('conversation_id', 'spans') }} as conversation_id,
        spans.environment,
        spans.operation,
        spans.provider,
        spans.request_model,
        spans.response_model,
        spans.service_tier,
        spans.status,
        spans.error_type,
        spans.duration_ms,
        spans.time_to_first_token_ms,
        spans.instrumentation_scope,
        -- what the source reported: a count it did not report is unknown
        -- (costed as 0, and the data-quality page says which sources lack it)
        spans.input_tokens is not null as usage_reported,
        spans.cache_read_tokens is not null or spans.cache_write_tokens is not null as cache_tokens_reported,
        spans.reasoning_tokens is not null as reasoning_tokens_reported,
        coalesce(spans.input_tokens, 0) as input_tokens,
        coalesce(spans.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(spans.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(spans.output_tokens, 0) as output_tokens,
        coalesce(spans.reasoning_tokens, 0) as reasoning_tokens,
        spans.reported_cost_usd
    from {{ ref('stg_raw__trace_spans') }} as spans
    left join {{ ref('int_span_attribution') }} as inherited
        on spans.span_id = inherited.span_id
    where {{ is_llm_call_operation('spans.operation') }}

),

matches as (

    select * from {{ ref('int_model_catalog_matches') }}

),

catalog_bands as (

    select * from {{ ref('int_model_prices_banded') }}
    where price_source = 'catalog'

),

custom_bands as (

    select * from {{ ref('int_model_prices_banded') }}
    where price_source = 'custom'

),

-- service tiers each model has prices for; other tiers fall back to default
priced_tiers as (

    select distinct
        price_source,
        provider_key,
        model_key,
        service_tier
    from {{ ref('int_model_prices_banded') }}

),

spans_matched as (

    select
        model_spans.*,
        matches.catalog_provider_id,
        matches.price_provider_id,
        matches.catalog_model_id,
        matches.custom_provider_key,
        matches.custom_model_key,
        coalesce(custom_tiers.service_tier, 'default') as custom_price_tier,
        -- the catalog applies tier variants only to a provider's own models, not to fallbacks
        case
            when matches.catalog_provider_id = matches.price_provider_id
                then coalesce(catalog_tiers.service_tier, 'default')
            else 'default'
        end as catalog_price_tier
    from model_spans
    left join matches
        on model_spans.provider is not distinct from matches.provider
        and model_spans.request_model is not distinct from matches.request_model
        and model_spans.response_model is not distinct from matches.response_model
    left join priced_tiers as custom_tiers
        on custom_tiers.price_source = 'custom'
        and matches.custom_provider_key = custom_tiers.provider_key
        and matches.custom_model_key = custom_tiers.model_key
        and model_spans.service_tier = custom_tiers.service_tier
    left join priced_tiers as catalog_tiers
        on catalog_tiers.price_source = 'catalog'
        and matches.price_provider_id = catalog_tiers.provider_key
        and matches.catalog_model_id = catalog_tiers.model_key
        and model_spans.service_tier = catalog_tiers.service_tier

),

-- the price band valid at the call's start and containing its input tokens
spans_with_bands as (

    select
        spans_matched.*,
        custom_bands.price_source as custom_price_source,
        custom_bands.is_long_context_tier as custom_is_long_context_tier,
        custom_bands.input_price_per_mtok as custom_input_price,
        custom_bands.cache_read_price_per_mtok as custom_cache_read_price,
        custom_bands.cache_write_price_per_mtok as custom_cache_write_price,
        custom_bands.output_price_per_mtok as custom_output_price,
        custom_bands.reasoning_price_per_mtok as custom_reasoning_price,
        catalog_bands.price_source as catalog_price_source,
        catalog_bands.is_long_context_tier as catalog_is_long_context_tier,
        catalog_bands.input_price_per_mtok as catalog_input_price,
        catalog_bands.cache_read_price_per_mtok as catalog_cache_read_price,
        catalog_bands.cache_write_price_per_mtok as catalog_cache_write_price,
        catalog_bands.output_price_per_mtok as catalog_output_price,
        catalog_bands.reasoning_price_per_mtok as catalog_reasoning_price
    from spans_matched
    left join custom_bands
        on spans_matched.custom_provider_key = custom_bands.provider_key
        and spans_matched.custom_model_key = custom_bands.model_key
        and spans_matched.custom_price_tier = custom_bands.service_tier
        and {{ price_band_holds(
            'custom_bands', 'spans_matched.call_date', 'spans_matched.call_second_of_day', 'spans_matched.input_tokens'
        ) }}
    left join catalog_bands
        on spans_matched.price_provider_id = catalog_bands.provider_key
        and spans_matched.catalog_model_id = catalog_bands.model_key
        and spans_matched.catalog_price_tier = catalog_bands.service_tier
        and {{ price_band_holds(
            'catalog_bands', 'spans_matched.call_date', 'spans_matched.call_second_of_day', 'spans_matched.input_tokens'
        ) }}

),

-- custom beats catalog; a price row set is taken whole from one source
prices_chosen as (

    select
        spans_with_bands.*,
        coalesce(spans_with_bands.custom_price_source, spans_with_bands.catalog_price_source) as price_source,
        case
            when spans_with_bands.custom_price_source is not null then spans_with_bands.custom_price_tier else
                spans_with_bands.catalog_price_tier
        end
            as price_service_tier,
        case
            when
                spans_with_bands.custom_price_source is not null
                then spans_with_bands.custom_is_long_context_tier
            else spans_with_bands.catalog_is_long_context_tier
        end as band_is_long_context,
        case
            when spans_with_bands.custom_price_source is not null then spans_with_bands.custom_input_price else
                spans_with_bands.catalog_input_price
        end
            as input_price_per_mtok,
        case
            when spans_with_bands.custom_price_source is not null then spans_with_bands.custom_cache_read_price else
                spans_with_bands.catalog_cache_read_price
        end
            as cache_read_price_per_mtok,
        case
            when spans_with_bands.custom_price_source is not null then spans_with_bands.custom_cache_write_price else
                spans_with_bands.catalog_cache_write_price
        end
            as cache_write_price_per_mtok,
        case
            when spans_with_bands.custom_price_source is not null then spans_with_bands.custom_output_price else
                spans_with_bands.catalog_output_price
        end
            as output_price_per_mtok,
        case
            when spans_with_bands.custom_price_source is not null then spans_with_bands.custom_reasoning_price else
                spans_with_bands.catalog_reasoning_price
        end
            as reasoning_price_per_mtok
    from spans_with_bands

),

-- a usage type without its own price is billed at its parent's rate, as the
-- catalog does: cache reads/writes at the input rate, reasoning at the output
-- rate (macro usage_cost, shared with the what-if re-pricing)
costed as (

    select
        prices_chosen.*,
        prices_chosen.input_tokens
        - prices_chosen.cache_read_tokens
        - prices_chosen.cache_write_tokens as uncached_input_tokens,
        prices_chosen.output_tokens - prices_chosen.reasoning_tokens as visible_output_tokens,
        {{ usage_cost('input', 'input_tokens - cache_read_tokens - cache_write_tokens') }} as uncached_input_cost,
        {{ usage_cost('cache_read', 'cache_read_tokens') }} as cache_read_cost,
        {{ usage_cost('cache_write', 'cache_write_tokens') }} as cache_write_cost,
        {{ usage_cost('output', 'output_tokens - reasoning_tokens') }} as visible_output_cost,
        {{ usage_cost('reasoning', 'reasoning_tokens') }} as reasoning_cost,
        {{ token_cost('cache_read_tokens', 'coalesce(input_price_per_mtok, cast(0 as ' ~ price_type() ~ '))') }}
            as cache_read_at_input_rate,
        {{ token_cost('cache_write_tokens', 'coalesce(input_price_per_mtok, cast(0 as ' ~ price_type() ~ '))') }}
            as cache_write_at_input_rate
    from prices_chosen

),

final as (

    select
        span_id,
        trace_id,
        parent_span_id,
        started_at,
        call_date,
        call_hour,
        workspace_id,
        department,
        agent_id,
        agent_name,
        agent_attribution,
        user_id,
        conversation_id,
        environment,
        operation,
        provider,
        request_model,
        response_model,
        instrumentation_scope,
        usage_reported,
        cache_tokens_reported,
        reasoning_tokens_reported,
        case when price_source is not null then catalog_model_id end as catalog_model_id,
        case when price_source is not null then catalog_provider_id end as catalog_provider_id,
        case when price_source = 'catalog' then price_provider_id end as price_provider_id,
        service_tier,
        price_service_tier,
        status,
        error_type,
        status = 'error' as is_error,
        duration_ms,
        time_to_first_token_ms,
        input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        uncached_input_tokens,
        output_tokens,
        reasoning_tokens,
        visible_output_tokens,
        input_tokens + output_tokens as total_tokens,
        price_source is not null as is_priced,
        price_source,
        coalesce(band_is_long_context, false) as is_long_context_tier,
        input_price_per_mtok,
        cache_read_price_per_mtok,
        cache_write_price_per_mtok,
        output_price_per_mtok,
        reasoning_price_per_mtok,
        case when price_source is not null then uncached_input_cost end as uncached_input_cost_usd,
        case when price_source is not null then cache_read_cost end as cache_read_cost_usd,
        case when price_source is not null then cache_write_cost end as cache_write_cost_usd,
        case when price_source is not null then visible_output_cost end as output_cost_usd,
        case when price_source is not null then reasoning_cost end as reasoning_cost_usd,
        case
            when price_source is not null
                then uncached_input_cost + cache_read_cost + cache_write_cost + visible_output_cost + reasoning_cost
        end as total_cost_usd,
        case when price_source is not null then cache_read_at_input_rate - cache_read_cost end as cache_savings_usd,
        case when price_source is not null then cache_write_cost - cache_write_at_input_rate end
            as cache_write_premium_usd,
        reported_cost_usd
    from costed

)

select * from final
