-- Cost and tokens per day, workspace, department as recorded on the span,
-- agent, provider and model, incremental by day: a run replaces the days of its
-- partition window. The department is kept as recorded so that
-- rpt_cost_daily applies the org-mapping fallback on every run (a change to
-- the mapping re-attributes all history without a rebuild of this table).
with calls as (

    -- the calls of the run's window, and trace_span_days beyond it on both
    -- sides: there fct_llm_calls may have re-attributed calls to an agent
    -- whose span arrived in this run, and those days are re-aggregated whole
    select * from {{ ref('fct_llm_calls_attributed') }}
    where {{ partition_window_predicate('started_at', 'call_date', margin_days=var('trace_span_days') | int) }}

)

select
    call_date,
    workspace_id,
    trace_department,
    agent_id,
    provider,
    model,
    {{ cost_measures() }},
    -- beyond the cost measures rpt_cost_daily rolls up: the token breakdown of
    -- the waterfall, the tokens of priced calls and the first and last call,
    -- for the whole-range marts and dimensions built from this table
    cast(sum(case when is_priced then total_tokens end) as bigint) as priced_tokens,
    cast(sum(case when is_priced then input_tokens end) as bigint) as priced_input_tokens,
    cast(sum(case when is_priced then output_tokens end) as bigint) as priced_output_tokens,
    cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
    cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
    cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
    cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,
    cast(sum(visible_output_tokens) as bigint) as visible_output_tokens,
    min(started_at) as first_call_at,
    max(started_at) as last_call_at
from calls
group by call_date, workspace_id, trace_department, agent_id, provider, model
