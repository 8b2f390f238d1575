-- one row per price source, provider, model, service tier, validity window and
-- input-token band, with the five unit prices of that band side by side
with catalog_prices as (

    select
        'catalog' as price_source,
        provider_id as provider_key,
        model_id as model_key,
        service_tier,
        valid_from,
        valid_to,
        daily_from_second,
        daily_to_second,
        usage_type,
        tier_start_tokens,
        price_per_mtok
    from {{ ref('stg_reference__model_prices') }}

),

custom_prices as (

    select
        'custom' as price_source,
        lower(trim(provider_id)) as provider_key,
        lower(trim(model_id)) as model_key,
        service_tier,
        valid_from,
        valid_to,
        daily_from_second,
        daily_to_second,
        usage_type,
        tier_start_tokens,
        price_per_mtok
    from {{ ref('stg_reference__custom_model_prices') }}

),

all_prices as (

    select * from catalog_prices
    union all
    select * from custom_prices

),

-- every threshold at which some usage type changes price starts a band
thresholds as (

    select distinct
        price_source,
        provider_key,
        model_key,
        service_tier,
        valid_from,
        valid_to,
        daily_from_second,
        daily_to_second,
        tier_start_tokens
    from all_prices

),

bands as (

    select
        price_source,
        provider_key,
        model_key,
        service_tier,
        valid_from,
        valid_to,
        daily_from_second,
        daily_to_second,
        tier_start_tokens as band_start_tokens,
        -- a band holds calls with floor < input_tokens <= ceiling; the base band takes 0 too
        case when tier_start_tokens = 0 then -1 else tier_start_tokens end as band_floor_tokens,
        coalesce(
            lead(tier_start_tokens) over (
                partition by price_source, provider_key, model_key, service_tier, valid_from, daily_from_second
                order by tier_start_tokens
            ),
            {{ max_bigint() }}
        ) as band_ceiling_tokens
    from thresholds

),

-- for each band and usage type, the price of the highest tier at or below the band start
band_prices as (

    select
        bands.price_source,
        bands.provider_key,
        bands.model_key,
        bands.service_tier,
        bands.valid_from,
        bands.valid_to,
        bands.daily_from_second,
        bands.daily_to_second,
        bands.band_start_tokens,
        bands.band_floor_tokens,
        bands.band_ceiling_tokens,
        all_prices.usage_type,
        {{ value_at_max('all_prices.price_per_mtok', 'all_prices.tier_start_tokens') }} as price_per_mtok
    from bands
    inner join all_prices
        on bands.price_source = all_prices.price_source
        and bands.provider_key = all_prices.provider_key
        and bands.model_key = all_prices.model_key
        and bands.service_tier = all_prices.service_tier
        and bands.valid_from = all_prices.valid_from
        and bands.daily_from_second = all_prices.daily_from_second
        and bands.band_start_tokens >= all_prices.tier_start_tokens
    group by
        bands.price_source,
        bands.provider_key,
        bands.model_key,
        bands.service_tier,
        bands.valid_from,
        bands.valid_to,
        bands.daily_from_second,
        bands.daily_to_second,
        bands.band_start_tokens,
        bands.band_floor_tokens,
        bands.band_ceiling_tokens,
        all_prices.usage_type

),

final as (

    select
        price_source,
        provider_key,
        model_key,
        service_tier,
        valid_from,
        valid_to,
        daily_from_second,
        daily_to_second,
        band_floor_tokens,
        band_ceiling_tokens,
        band_start_tokens > 0 as is_long_context_tier,
        cast(max(case when usage_type = 'input' then price_per_mtok end) as {{ price_type() }}) as input_price_per_mtok,
        cast(max(case when usage_type = 'cache_read' then price_per_mtok end) as {{ price_type() }})
            as cache_read_price_per_mtok,
        cast(max(case when usage_type = 'cache_write' then price_per_mtok end) as {{ price_type() }})
            as cache_write_price_per_mtok,
        cast(max(case when usage_type = 'output' then price_per_mtok end) as {{ price_type() }})
            as output_price_per_mtok,
        cast(max(case when usage_type = 'reasoning' then price_per_mtok end) as {{ price_type() }})
            as reasoning_price_per_mtok
    from band_prices
    group by
        price_source,
        provider_key,
        model_key,
        service_tier,
        valid_from,
        valid_to,
        daily_from_second,
        daily_to_second,
        band_start_tokens,
        band_floor_tokens,
        band_ceiling_tokens

)

select * from final
