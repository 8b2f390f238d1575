-- OTel provider name -> genai-prices provider id
with source as (

    select * from {{ ref('catalog_provider_map') }}

),

renamed as (

    select
        cast(otel_provider as string) as otel_provider,
        cast(catalog_provider_id as string) as catalog_provider_id
    from source

)

select * from renamed
