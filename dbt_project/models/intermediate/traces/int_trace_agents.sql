{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='trace_id',
        on_schema_change='fail'
    )
}}

-- One row per trace and agent with a span in it (agent_id null for spans
-- outside any agent): how many of its spans and LLM calls the agent made there.
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

    select trace_id, agent_id, started_at, operation
    from {{ ref('stg_raw__trace_spans') }}
    where {{ touched_trace_rows_predicate('first_span_date') }}

)

select
    trace_id,
    agent_id,
    {{ day_of('min(started_at)') }} as first_span_date,
    count(*) as span_count,
    sum(case when {{ is_llm_call_operation('operation') }} then 1 else 0 end) as llm_call_count
from spans
group by trace_id, agent_id
