{#- The column (a total) equals the sum of `parts` exactly, on every row where
    the total is not null; a null part where the total is set also fails. -#}
{% test parts_sum_to_total(model, column_name, parts) %}
select {{ column_name }}, {{ parts | join(', ') }}
from {{ model }}
where {{ column_name }} is not null
  and (
      {%- for part in parts %}
      {{ part }} is null {%- if not loop.last %} or {% endif %}
      {%- endfor %}
      or {{ column_name }} <> {{ parts | join(' + ') }}
  )
{% endtest %}
