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
