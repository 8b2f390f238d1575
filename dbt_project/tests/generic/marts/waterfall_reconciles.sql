{#- In a long-format waterfall (one row per step), the steps that name a parent
    step add up to that parent, within each group, for every column in
    `value_columns`. Null values count as 0 on both sides (unpriced cost). A
    parent without children or children without a parent also fail. Groups
    match null-safely (a null group value, e.g. no agent, is a group too). -#}
{% test waterfall_reconciles(model, group_by, step_column, parent_column, value_columns, tolerance=0) %}
with parents as (

    select
        {{ group_by | join(', ') }},
        {{ step_column }} as parent_step,
        {%- for value in value_columns %}
        coalesce({{ value }}, 0) as parent_{{ value }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where {{ step_column }} in (select distinct {{ parent_column }} from {{ model }} where {{ parent_column }} is not null)

),

children as (

    select
        {{ group_by | join(', ') }},
        {{ parent_column }} as parent_step,
        {%- for value in value_columns %}
        sum(coalesce({{ value }}, 0)) as children_{{ value }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where {{ parent_column }} is not null
    group by {{ group_by | join(', ') }}, {{ parent_column }}

)

select
    {%- for column in group_by %}
    coalesce(parents.{{ column }}, children.{{ column }}) as {{ column }},
    {%- endfor %}
    coalesce(parents.parent_step, children.parent_step) as parent_step
from parents
full outer join children
    on {% for column in group_by %}parents.{{ column }} is not distinct from children.{{ column }} and {% endfor %}parents.parent_step = children.parent_step
where parents.parent_step is null
    or children.parent_step is null
    {%- for value in value_columns %}
    or abs(parents.parent_{{ value }} - children.children_{{ value }}) > {{ tolerance }}
    {%- endfor %}
{% endtest %}
