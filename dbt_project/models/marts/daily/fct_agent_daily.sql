-- Activity per agent and day, from the call fact's keys alone (no labels),
-- incremental by day: a run replaces the days of its partition window.
-- rpt_agent_daily adds the agent's name, workspace and department on every run.
with calls as (

    -- the calls of the run's window, and trace_span_days beyond it on both
    -- sides: there fct_llm_calls may have re-attributed calls to an agent
    -- whose span arrived in this run, and those days are re-aggregated whole
    select * from {{ ref('fct_llm_calls_attributed') }}
    where {{ partition_window_predicate('started_at', 'call_date', margin_days=var('trace_span_days') | int) }}

)

select
    call_date,
    agent_id,
    count(*) as calls,
    count(distinct trace_id) as traces,
    sum(case when is_error then 1 else 0 end) as error_calls,
    sum(case when is_priced then 0 else 1 end) as unpriced_calls,
    sum(case when is_priced and not is_error then 1 else 0 end) as successful_priced_calls,
    sum(input_tokens) as input_tokens,
    sum(cache_read_tokens) as cache_read_tokens,
    sum(output_tokens) as output_tokens,
    sum(total_tokens) as total_tokens,
    sum(case when is_priced then total_tokens end) as priced_tokens,
    sum(total_cost_usd) as total_cost_usd,
    sum(case when is_error then total_cost_usd end) as error_cost_usd,
    {{ percentile_cont('duration_ms', 0.5, together_with=[0.95]) }} as latency_p50_ms,
    {{ percentile_cont('duration_ms', 0.95, together_with=[0.5]) }} as latency_p95_ms
from calls
group by call_date, agent_id
