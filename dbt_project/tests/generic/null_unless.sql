{#- The column is null exactly when `condition` is false: e.g. costs are set
    for priced calls and null (never 0) for unpriced ones. -#}
{% test null_unless(model, column_name, condition) %}
select {{ column_name }}
from {{ model }}
where ({{ condition }}) and {{ column_name }} is null
   or not ({{ condition }}) and {{ column_name }} is not null
{% endtest %}
