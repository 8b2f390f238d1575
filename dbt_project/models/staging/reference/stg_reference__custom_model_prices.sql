-- custom prices (negotiated, self-hosted, new models); empty cells take the documented defaults
with source as (

    select * from {{ ref('custom_model_prices') }}

),

renamed as (

    select
        cast(provider_id as string) as provider_id,
        cast(model_id as string) as model_id,
        cast(coalesce(model_name, model_id) as string) as model_name,
        cast(coalesce(service_tier, 'default') as string) as service_tier,
        cast(coalesce(valid_from, cast('1970-01-01' as date)) as date) as valid_from,
        cast(coalesce(valid_to, cast('9999-12-31' as date)) as date) as valid_to,
        {{ hms_to_seconds("coalesce(daily_from, '00:00:00')") }} as daily_from_second,
        {{ hms_to_seconds("coalesce(daily_to, '24:00:00')") }} as daily_to_second,
        cast(usage_type as string) as usage_type,
        cast(coalesce(tier_start_tokens, 0) as bigint) as tier_start_tokens,
        cast(price_per_mtok as decimal(38, 18)) as price_per_mtok
    from source

)

select * from renamed
