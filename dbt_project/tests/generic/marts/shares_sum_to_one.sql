{#- Within each group (e.g. the children of one parent), the non-null shares in
    `column_name` add up to 1 within `tolerance`. Groups whose shares are all
    null (a parent with no priced cost) are skipped: there is nothing to share.
    Shares are doubles, hence the tolerance. -#}
{% test shares_sum_to_one(model, column_name, group_by, tolerance=0.000000001, row_filter=none) %}
select
    {{ group_by | join(', ') }},
    sum({{ column_name }}) as share_sum
from {{ model }}
where {{ column_name }} is not null
{%- if row_filter %} and ({{ row_filter }}) {%- endif %}
group by {{ group_by | join(', ') }}
having abs(sum({{ column_name }}) - 1) > {{ tolerance }}
{% endtest %}
