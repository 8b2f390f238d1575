{#- Label used wherever an attribution key is missing, so that every grain key
    of the marts is non-null and joins to a dimension member. -#}
{% macro unassigned_label() -%}
    'unassigned'
{%- endmacro %}

{#- The department a call's cost goes to: the trace's own, else the agent's
    in org_mapping, else 'unassigned'; department_source names which applied. -#}
{% macro attributed_department(trace_department, mapped_department) -%}
    coalesce({{ trace_department }}, {{ mapped_department }}, {{ unassigned_label() }})
{%- endmacro %}

{% macro department_source(trace_department, mapped_department) -%}
    case
            when {{ trace_department }} is not null then 'trace'
            when {{ mapped_department }} is not null then 'org_mapping'
            else 'unassigned'
        end
{%- endmacro %}

{#- The calls of the run's partition window (all of them on a full build), for
    the incremental daily aggregates in models/intermediate/daily. The window
    reaches trace_span_days beyond the partition window on both sides: that is
    where fct_llm_calls may have re-attributed calls to an agent whose span
    arrived in this run (int_span_attribution), and those days are
    re-aggregated whole. -#}
{% macro attributed_llm_calls_in_window() -%}
(
    select * from {{ attributed_llm_calls() }} as calls_in_window
    where {{ partition_window_predicate('started_at', 'call_date', margin_days=var('trace_span_days', 1) | int) }}
)
{%- endmacro %}

{#- The call-level rows every analytic mart starts from: fct_llm_calls with the
    attribution keys resolved once, the same way everywhere.

    - department: the span's own department; when the trace lacks one, the
      agent's department from the org_mapping seed; otherwise 'unassigned'.
      department_source says which of the three applied.
    - team, cost_centre: the agent owner's, from org_mapping (null if unmapped).
    - agent_id, provider, model: 'unassigned' when missing; model is the
      requested model (what the caller chose), falling back to the response
      model. Costs stay null for unpriced calls (never 0).

    Rendered as a parenthesised subquery: `from {{ attributed_llm_calls() }} as calls`.
    A macro rather than a model so that the marts' layer keeps one physical
    call-level table (fct_llm_calls) and the mapping can change without a
    rebuild of that incremental table. -#}
{% macro attributed_llm_calls() -%}
(
    select
        calls.span_id,
        calls.trace_id,
        calls.started_at,
        calls.call_date,
        calls.call_hour,
        calls.workspace_id,
        {{ attributed_department("nullif(trim(calls.department), '')", 'org.department') }} as department,
        nullif(trim(calls.department), '') as trace_department,
        {{ department_source("nullif(trim(calls.department), '')", 'org.department') }} as department_source,
        org.team,
        org.cost_centre,
        coalesce(calls.agent_id, {{ unassigned_label() }}) as agent_id,
        calls.agent_name,
        calls.agent_attribution,
        calls.environment,
        calls.operation,
        coalesce(calls.provider, {{ unassigned_label() }}) as provider,
        coalesce(calls.request_model, calls.response_model, {{ unassigned_label() }}) as model,
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
    from {{ ref('fct_llm_calls') }} as calls
    left join {{ ref('org_mapping') }} as org
        on calls.agent_id = org.agent_id
)
{%- endmacro %}

{#- The date the relative periods (last 7 / 30 days, month to date) end on:
    the `as_of_date` var when set (YYYY-MM-DD), otherwise the last day with
    calls, so the same data always gives the same report. -#}
{% macro as_of_date_sql(calls_relation) -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(call_date) from {{ calls_relation }})
    {%- endif -%}
{%- endmacro %}

{#- Traces each agent made LLM calls in, under the calls' agent id
    ('unassigned' when none): the body of a CTE with agent_id, traces. Counted
    from int_trace_agents (one row per trace and agent), so a trace crossing
    midnight counts once. -#}
{% macro traces_with_calls_per_agent() -%}
    select coalesce(agent_id, {{ unassigned_label() }}) as agent_id, count(*) as traces
    from {{ ref('int_trace_agents') }}
    where llm_call_count > 0
    group by coalesce(agent_id, {{ unassigned_label() }})
{%- endmacro %}
