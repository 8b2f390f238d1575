{#- Cost aggregates shared by the cost marts. Costs are sums of the DECIMAL
    columns of priced calls only: unpriced calls have null costs, are counted in
    unpriced_calls, and a group with no priced call has a null cost (never 0).
    One list, rendered three ways: over calls (cost_measures), over rows that
    already hold the measures (cost_measures_rollup: every measure is a count
    or a sum, so re-grouping gives the same result), and as column names. -#}
{% macro cost_measure_definitions() -%}
    {{ return([
        ('calls', 'count(*)', 'bigint'),
        ('priced_calls', 'sum(case when is_priced then 1 else 0 end)', 'bigint'),
        ('unpriced_calls', 'sum(case when is_priced then 0 else 1 end)', 'bigint'),
        ('input_tokens', 'sum(input_tokens)', 'bigint'),
        ('output_tokens', 'sum(output_tokens)', 'bigint'),
        ('total_tokens', 'sum(total_tokens)', 'bigint'),
        ('uncached_input_cost_usd', 'sum(uncached_input_cost_usd)', money_type()),
        ('cache_read_cost_usd', 'sum(cache_read_cost_usd)', money_type()),
        ('cache_write_cost_usd', 'sum(cache_write_cost_usd)', money_type()),
        ('output_cost_usd', 'sum(output_cost_usd)', money_type()),
        ('reasoning_cost_usd', 'sum(reasoning_cost_usd)', money_type()),
        ('total_cost_usd', 'sum(total_cost_usd)', money_type()),
        ('cache_savings_usd', 'sum(cache_savings_usd)', money_type()),
        ('cache_write_premium_usd', 'sum(cache_write_premium_usd)', money_type()),
    ]) }}
{%- endmacro %}

{% macro cost_measures() -%}
    {%- for name, expression, type in cost_measure_definitions() %}
        cast({{ expression }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro cost_measures_rollup() -%}
    {%- for name, expression, type in cost_measure_definitions() %}
        cast(sum({{ name }}) as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro cost_measure_columns(prefix='') -%}
    {%- for name, expression, type in cost_measure_definitions() %}
        {{ prefix }}{{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The rows of `relation` (an incremental daily aggregate keeping the
    department as recorded, trace_department, and the calls' agent_id) with the
    org-mapping fallback applied: every column plus department and
    department_source, as in the model fct_llm_calls_attributed. A parenthesised subquery. -#}
{% macro with_attributed_department(relation) -%}
(
    select
        costs.*,
        {{ attributed_department('costs.trace_department', 'org.department') }} as department,
        {{ department_source('costs.trace_department', 'org.department') }} as department_source
    from {{ relation }} as costs
    left join {{ ref('org_mapping') }} as org
        on costs.agent_id = org.agent_id
)
{%- endmacro %}

{#- The cost aggregates of `relation` (see with_attributed_department)
    re-grouped by the attributed department: the body of a CTE, grouped by
    `time_columns` (none: over all days) and the attribution keys. -#}
{% macro cost_rollup_by_attributed_department(relation, time_columns) -%}
    select
        {%- for column in time_columns %}
        {{ column }},
        {%- endfor %}
        workspace_id,
        department,
        agent_id,
        provider,
        model,
        {{ cost_measures_rollup() }}
    from {{ with_attributed_department(relation) }} as costs
    group by
        {%- for column in time_columns %}
        {{ column }},
        {%- endfor %}
        workspace_id, department, agent_id, provider, model
{%- endmacro %}
