-- noqa: disable=LT02
{{
    config(
        materialized=trace_keyed_materialization(),
        incremental_strategy='delete+insert',
        unique_key='trace_id',
        on_schema_change='fail'
    )
}}

{#- What a span inherits from its ancestors: one row per span that lacks an
    attribution field which its nearest ancestor naming one carries.

    Real instrumentations put gen_ai.agent.id / gen_ai.agent.name on the
    invoke_agent span, and the chat, embeddings and execute_tool spans are its
    children, grandchildren or deeper (a framework's step spans in between).
    A span without its own agent takes the agent (id and name together) of
    its nearest ancestor that names one, through any depth; the span's own
    attributes always win. The same holds, field by field, for the fields in
    the var `inherit_from_ancestors` (default: conversation_id; department and
    user_id may be added). An agent named only by gen_ai.agent.name has its
    name as id.

    Incremental by trace, like int_trace_agents: a run recomputes every trace
    with a span in the partition window, from all of its spans, so an
    ancestor that arrives later, in another file or on another day,
    re-attributes its descendants (fct_llm_calls re-reads the calls of the
    traces listed here). The walk stops at `max_ancestor_depth` levels, which
    also ends a cycle in broken parent links. -#}
{%- set fields = var('inherit_from_ancestors', ['conversation_id']) -%}
{%- set allowed = ['conversation_id', 'department', 'user_id'] -%}
{%- for f in fields if f not in allowed -%}
    {{ exceptions.raise_compiler_error("var inherit_from_ancestors lists '" ~ f ~ "'; expected some of " ~ allowed | join(', ') ~ " (the agent is always inherited)") }}
{%- endfor -%}
{%- set max_depth = var('max_ancestor_depth', 64) | int -%}

with recursive touched_traces as (

    {{ touched_traces('first_span_date') }}

),

spans as (

    select
        span_id,
        trace_id,
        parent_span_id,
        started_at,
        coalesce(nullif(trim(agent_id), ''), nullif(trim(agent_name), '')) as agent_id,
        agent_name
        {%- for f in fields %}
            ,
            nullif(trim({{ f }}), '') as {{ f }}
    {%- endfor %}
    from {{ ref('stg_raw__trace_spans') }}
    where {{ touched_trace_rows_predicate('first_span_date') }}

),

-- spans missing a field an ancestor may carry
seekers as (

    select span_id, trace_id, parent_span_id, started_at, agent_id {%- for f in fields %}, {{ f }}{% endfor %}
    from spans
    where parent_span_id is not null
        and (agent_id is null {%- for f in fields %} or {{ f }} is null{% endfor %})

),

ancestry (span_id, trace_id, ancestor_span_id, depth) as (

    select
        span_id,
        trace_id,
        parent_span_id,
        1
    from seekers

    union all

    select
        ancestry.span_id,
        ancestry.trace_id,
        parent.parent_span_id,
        ancestry.depth + 1
    from ancestry
    inner join spans as parent
        on ancestry.trace_id = parent.trace_id
        and ancestry.ancestor_span_id = parent.span_id
    where parent.parent_span_id is not null
        and ancestry.depth < {{ max_depth }}

),

nearest as (

    select
        ancestry.span_id,
        min(case when ancestor.agent_id is not null then ancestry.depth end) as agent_depth,
        {{ value_at_min('ancestor.agent_id', 'ancestry.depth') }} filter (where ancestor.agent_id is not null)
            as agent_id,
        {{ value_at_min('ancestor.agent_name', 'ancestry.depth') }} filter (where ancestor.agent_id is not null)
            as agent_name
        {%- for f in fields %}
            ,
            {{ value_at_min('ancestor.' ~ f, 'ancestry.depth') }} filter (where ancestor.{{ f }} is not null) as {{ f }}
    {%- endfor %}
    from ancestry
    inner join spans as ancestor
        on ancestry.trace_id = ancestor.trace_id
        and ancestry.ancestor_span_id = ancestor.span_id
    group by ancestry.span_id

),

inherited as (

    select
        seekers.span_id,
        seekers.trace_id,
        cast(seekers.started_at as date) as span_date,
        case when seekers.agent_id is null then nearest.agent_id end as inherited_agent_id,
        case when seekers.agent_id is null then nearest.agent_name end as inherited_agent_name,
        case when seekers.agent_id is null then nearest.agent_depth end as agent_ancestor_depth,
        {%- for f in allowed %}
            {%- if f in fields %}
                case when seekers.{{ f }} is null then nearest.{{ f }} end as inherited_{{ f }},
            {%- else %}
                cast(null as string) as inherited_{{ f }},
            {%- endif %}
        {%- endfor %}
        min(cast(seekers.started_at as date)) over (partition by seekers.trace_id) as first_span_date
    from seekers
    inner join nearest
        on seekers.span_id = nearest.span_id

)

select *
from inherited
where inherited_agent_id is not null
    {%- for f in allowed %}
        or inherited_{{ f }} is not null
    {%- endfor %}
