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
    traces listed here). A walk goes up only while a field is still missing
    and only through spans named as a parent, so traces whose spans carry
    their own attribution cost a scan and no join. It stops at
    `max_ancestor_depth` levels, which also ends a cycle in broken parent
    links. -#}
{%- set fields = var('inherit_from_ancestors', ['conversation_id']) -%}
{%- set allowed = ['conversation_id', 'department', 'user_id'] -%}
{%- for f in fields if f not in allowed -%}
    {{ exceptions.raise_compiler_error("var inherit_from_ancestors lists '" ~ f ~ "'; expected some of " ~ allowed | join(', ') ~ " (the agent is always inherited)") }}
{%- endfor -%}
{%- set max_depth = var('max_ancestor_depth', 64) | int -%}

with recursive touched_traces as (

    {{ touched_traces('first_span_date') }}

),

spans as {{ inlined_cte() }} (

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

    select
        span_id, trace_id, parent_span_id, started_at, agent_id, agent_name {%- for f in fields %}, {{ f }}{% endfor %}
    from spans
    where parent_span_id is not null
        and (agent_id is null {%- for f in fields %} or {{ f }} is null{% endfor %})

),

-- the spans a walk can reach: named as a parent, in a trace with a seeker
ancestors as (

    select span_id, trace_id, parent_span_id, agent_id, agent_name {%- for f in fields %}, {{ f }}{% endfor %}
    from spans
    where trace_id in (select seekers.trace_id from seekers)
        and span_id in (
            select children.parent_span_id
            from spans as children
            where children.parent_span_id is not null
        )

),

-- The walk up from each seeker, one row per level, carrying what it has found
-- so far (the seeker's own values first), so each field keeps the nearest
-- ancestor's value. It goes up only while something is still missing.
ancestry (
    span_id, trace_id, next_span_id, depth, agent_id, agent_name, agent_depth
    {%- for f in fields %}, {{ f }}{% endfor %}
) as (

    select
        seekers.span_id,
        seekers.trace_id,
        parent.parent_span_id,
        1,
        coalesce(seekers.agent_id, parent.agent_id),
        case
            when seekers.agent_id is not null then seekers.agent_name
            when parent.agent_id is not null then parent.agent_name
        end,
        case when seekers.agent_id is null and parent.agent_id is not null then 1 end
        {%- for f in fields %}
            ,
            coalesce(seekers.{{ f }}, parent.{{ f }})
        {%- endfor %}
    from seekers
    inner join ancestors as parent
        on seekers.trace_id = parent.trace_id
        and seekers.parent_span_id = parent.span_id

    union all

    select
        ancestry.span_id,
        ancestry.trace_id,
        parent.parent_span_id,
        ancestry.depth + 1,
        coalesce(ancestry.agent_id, parent.agent_id),
        case
            when ancestry.agent_id is not null then ancestry.agent_name
            when parent.agent_id is not null then parent.agent_name
        end,
        case
            when ancestry.agent_id is null and parent.agent_id is not null then ancestry.depth + 1
            else ancestry.agent_depth
        end
        {%- for f in fields %}
            ,
            coalesce(ancestry.{{ f }}, parent.{{ f }})
        {%- endfor %}
    from ancestry
    inner join ancestors as parent
        on ancestry.trace_id = parent.trace_id
        and ancestry.next_span_id = parent.span_id
    where ancestry.depth < {{ max_depth }}
        and (ancestry.agent_id is null {%- for f in fields %} or ancestry.{{ f }} is null{% endfor %})

),

-- a found value never changes on the levels above, so max() is the nearest's
nearest as (

    select
        span_id,
        max(agent_id) as agent_id,
        max(agent_name) as agent_name,
        max(agent_depth) as agent_depth
        {%- for f in fields %}
            ,
            max({{ f }}) as {{ f }}
    {%- endfor %}
    from ancestry
    group by span_id

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
