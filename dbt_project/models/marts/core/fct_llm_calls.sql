{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='span_id',
        on_schema_change='fail'
    )
}}

-- one row per model-operation span, priced; incremental by day over the
-- partition window (min_date/max_date, see macros/partition_window.sql; lookback_days re-processed)
with priced_calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    where {{ partition_window_predicate('started_at') }}

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
        user_id,
        conversation_id,
        environment,
        operation,
        provider,
        request_model,
        response_model,
        catalog_model_id,
        catalog_provider_id,
        service_tier,
        status,
        error_type,
        is_error,
        duration_ms,
        time_to_first_token_ms,
        input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        uncached_input_tokens,
        output_tokens,
        reasoning_tokens,
        visible_output_tokens,
        total_tokens,
        is_priced,
        price_source,
        is_long_context_tier,
        uncached_input_cost_usd,
        cache_read_cost_usd,
        cache_write_cost_usd,
        output_cost_usd,
        reasoning_cost_usd,
        total_cost_usd,
        cache_savings_usd,
        cache_write_premium_usd,
        reported_cost_usd
    from priced_calls

)

select * from final
