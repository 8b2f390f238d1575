{#- The sum of `column_name` over the model (rows matching `row_filter`)
    equals the sum of `compare_expression` over `compare_model` (rows matching
    `compare_filter`), within `tolerance`: a mart neither loses nor double counts
    what the fact holds. A sum over no rows, or over nulls only (nothing
    priced), counts as 0 on either side: the test reconciles money, and a
    mart that holds 0 where the fact has no matching row (no failed call, so
    no error waste) agrees with it. -#}
{% test column_sum_matches(model, column_name, compare_model, compare_expression, row_filter=none, compare_filter=none, tolerance=0) %}
{#- a reconciliation of whole tables: never narrowed to a run's window (macros/test_window.sql) -#}
{{ config(meta={'test_window': 'whole_table'}) }}
with model_total as (

    select sum({{ column_name }}) as total
    from {{ model }}
    {%- if row_filter %} where {{ row_filter }} {%- endif %}

),

compare_total as (

    select sum({{ compare_expression }}) as total
    from {{ compare_model }}
    {%- if compare_filter %} where {{ compare_filter }} {%- endif %}

)

select
    model_total.total as model_total,
    compare_total.total as compare_total
from model_total
cross join compare_total
where abs(coalesce(model_total.total, 0) - coalesce(compare_total.total, 0)) > {{ tolerance }}
{% endtest %}
