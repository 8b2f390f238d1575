{#- Fails on rows where `expression` is false (rows where it is null pass unless
    the expression itself handles nulls); `where` narrows the rows checked. -#}
{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not ({{ expression }})
{%- if where %} and ({{ where }}) {%- endif %}
{% endtest %}
