{#- Fails on rows where the column is negative (nulls pass: unpriced costs are null). -#}
{% test non_negative(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
