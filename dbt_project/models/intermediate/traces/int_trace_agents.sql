{{
    config(
        materialized=trace_keyed_materialization(),
        incremental_strategy='delete+insert',
        unique_key='trace_id',
        on_schema_change='fail'
    )
}}

-- One row per trace and agent with a span in it (the agent as attributed:
-- the span's own, else its nearest ancestor's; null for spans outside any agent): how many of its spans and LLM calls the agent made there.
-- The distinct-trace counts of the dimensions and agent marts are counts of
-- these rows, instead of count(distinct trace_id) over every span or call of
-- the history.
--
-- Incremental by trace, like fct_traces: a run recomputes every trace with a
-- span in the partition window, from all of its spans (touched_traces() and
-- touched_trace_rows_predicate() in macros/partition_window.sql).
with touched_traces as (

    {{ touched_traces('first_span_date') }}

),

spans as (

    select
        spans.trace_id,
        {{ attributed_agent_id('spans') }} as agent_id,
        spans.started_at,
        spans.operation
    from (
        select
            span_id,
            trace_id,
            agent_id,
            agent_name,
            started_at,
            operation
        from {{ ref('stg_raw__trace_spans') }}
        where {{ touched_trace_rows_predicate('first_span_date') }}
    ) as spans
    left join {{ ref('int_span_attribution') }} as inherited
        on spans.span_id = inherited.span_id

)

select
    trace_id,
    agent_id,
    cast(min(started_at) as date) as first_span_date,
    count(*) as span_count,
    sum(case when {{ is_llm_call_operation('operation') }} then 1 else 0 end) as llm_call_count
from spans
group by trace_id, agent_id
