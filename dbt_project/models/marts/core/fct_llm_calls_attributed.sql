{{ config(materialized='ephemeral') }}

-- The call-level rows every analytic mart starts from: fct_llm_calls with the
-- attribution keys resolved once, the same way everywhere.
--
-- - department: the span's own department; when the trace lacks one, the
--   agent's department from the org mapping; otherwise 'unassigned'.
--   department_source says which of the three applied.
-- - team, cost_centre: the agent owner's, from the org mapping (null if unmapped).
-- - agent_id, provider, model: 'unassigned' when missing; model is the
--   requested model (what the caller chose), falling back to the response
--   model. Costs stay null for unpriced calls (never 0).
--
-- Ephemeral (inlined where it is read) so that the marts keep one physical
-- call-level table, fct_llm_calls, and a change to the mapping needs no
-- rebuild of that incremental table.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

org_mapping as (

    select * from {{ ref('org_mapping') }}

),

final as (

    select
        calls.span_id,
        calls.trace_id,
        calls.started_at,
        calls.call_date,
        calls.call_hour,
        calls.workspace_id,
        {{ attributed_department("nullif(trim(calls.department), '')", 'org_mapping.department') }} as department,
        nullif(trim(calls.department), '') as trace_department,
        {{ department_source("nullif(trim(calls.department), '')", 'org_mapping.department') }} as department_source,
        org_mapping.team,
        org_mapping.cost_centre,
        coalesce(calls.agent_id, 'unassigned') as agent_id,
        calls.agent_name,
        calls.agent_attribution,
        calls.environment,
        calls.operation,
        coalesce(calls.provider, 'unassigned') as provider,
        coalesce(calls.request_model, calls.response_model, 'unassigned') as model,
        calls.request_model,
        calls.response_model,
        calls.catalog_model_id,
        calls.catalog_provider_id,
        calls.service_tier,
        calls.status,
        calls.error_type,
        calls.is_error,
        calls.duration_ms,
        calls.time_to_first_token_ms,
        calls.input_tokens,
        calls.cache_read_tokens,
        calls.cache_write_tokens,
        calls.uncached_input_tokens,
        calls.output_tokens,
        calls.reasoning_tokens,
        calls.visible_output_tokens,
        calls.total_tokens,
        calls.is_priced,
        calls.is_long_context_tier,
        calls.uncached_input_cost_usd,
        calls.cache_read_cost_usd,
        calls.cache_write_cost_usd,
        calls.output_cost_usd,
        calls.reasoning_cost_usd,
        calls.total_cost_usd,
        calls.cache_savings_usd,
        calls.cache_write_premium_usd,
        calls.instrumentation_scope,
        calls.usage_reported,
        calls.cache_tokens_reported,
        calls.reasoning_tokens_reported
    from calls
    left join org_mapping
        on calls.agent_id = org_mapping.agent_id

)

select * from final
