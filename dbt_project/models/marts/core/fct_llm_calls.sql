{{
    config(
        materialized=trace_keyed_materialization(),
        incremental_strategy='delete+insert',
        unique_key='span_id',
        on_schema_change='fail'
    )
}}

-- one row per model-operation span, priced; incremental by day over the
-- partition window (min_date/max_date, see macros/partition_window.sql; lookback_days re-processed),
-- plus the calls of the window's traces that inherit an attribution from an
-- ancestor span, up to trace_span_days beyond it: an ancestor that arrived in
-- this run re-attributes its descendants on the neighbouring days too.
with touched_traces as (

    {{ touched_traces('call_date') }}

),

reattributed_traces as (

    select distinct trace_id
    from {{ ref('int_span_attribution') }}
    where trace_id in (select trace_id from touched_traces)  -- noqa: RF02

),

priced_calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    {%- if is_incremental() %}
    -- the wider range first, as its own conjunct, so that it reaches the raw scan
    where {{ partition_window_predicate('started_at', margin_days=var('trace_span_days', 1) | int) }}
        and (
            {{ partition_window_predicate('started_at') }}
            or trace_id in (select trace_id from reattributed_traces)
        )
    {%- else %}
        where {{ partition_window_predicate('started_at') }}
    {%- endif %}

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
