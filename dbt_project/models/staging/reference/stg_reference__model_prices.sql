-- catalog prices (seed exported from genai-prices), typed, time-of-day as seconds
with source as (

    select * from {{ ref('model_prices') }}

),

renamed as (

    select
        cast(provider_id as string) as provider_id,
        cast(model_id as string) as model_id,
        cast(model_name as string) as model_name,
        cast(service_tier as string) as service_tier,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        {{ hms_to_seconds('daily_from') }} as daily_from_second,
        {{ hms_to_seconds('daily_to') }} as daily_to_second,
        cast(usage_type as string) as usage_type,
        cast(tier_start_tokens as bigint) as tier_start_tokens,
        cast(price_per_mtok as decimal(38, 18)) as price_per_mtok
    from source

)

select * from renamed
