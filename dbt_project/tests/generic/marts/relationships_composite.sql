{#- Every combination of `columns` in the model exists in `to` (same column
    names there): a foreign key over several columns, e.g. (provider, model).
    As with SQL foreign keys and dbt's `relationships`, a row with a null in
    any of the columns is not checked (a call without an agent has no agent
    to point to). -#}
{% test relationships_composite(model, columns, to, row_filter=none) %}
select {{ columns | join(', ') }}
from {{ model }} as child
where not exists (
    select 1
    from {{ to }} as parent
    where {% for column in columns %}parent.{{ column }} = child.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
)
{%- for column in columns %}
    and child.{{ column }} is not null
{%- endfor %}
{%- if row_filter %} and ({{ row_filter }}) {%- endif %}
{% endtest %}
