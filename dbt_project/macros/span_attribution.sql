{#- A span's attribution: its own fields first, then what it inherits from its
    nearest ancestor naming them (int_span_attribution, joined as `inherited`
    on span_id; null when the span inherits nothing). An agent named only by
    its name has the name as id. One definition for every model that reads
    spans or calls by agent. -#}
{% macro own_agent_id(span) -%}
    coalesce(nullif(trim({{ span }}.agent_id), ''), nullif(trim({{ span }}.agent_name), ''))
{%- endmacro %}

{% macro attributed_agent_id(span, inherited='inherited') -%}
    coalesce({{ own_agent_id(span) }}, {{ inherited }}.inherited_agent_id)
{%- endmacro %}

{% macro attributed_agent_name(span, inherited='inherited') -%}
    case
            when {{ own_agent_id(span) }} is not null then nullif(trim({{ span }}.agent_name), '')
            else {{ inherited }}.inherited_agent_name
        end
{%- endmacro %}

{#- 'span' when the span names its agent, 'ancestor' when it inherits one, 'none' otherwise. -#}
{% macro agent_attribution(span, inherited='inherited') -%}
    case
            when {{ own_agent_id(span) }} is not null then 'span'
            when {{ inherited }}.inherited_agent_id is not null then 'ancestor'
            else 'none'
        end
{%- endmacro %}

{#- conversation_id, department or user_id: the span's own, else inherited
    (only the fields in var inherit_from_ancestors are ever inherited). -#}
{% macro attributed_field(field, span, inherited='inherited') -%}
    coalesce(nullif(trim({{ span }}.{{ field }}), ''), {{ inherited }}.inherited_{{ field }})
{%- endmacro %}
