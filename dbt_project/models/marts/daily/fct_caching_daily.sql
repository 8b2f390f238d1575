-- Prompt-cache usage and cost per day, agent, provider and model, incremental
-- by day: a run replaces the days of its partition window. rpt_caching_roi
-- sums it instead of reading every call of the history. The per-call
-- conditions of that mart are applied here, call by call: a cache hit is a
-- call that read the cache, and a candidate call is a priced call that
-- neither read nor wrote the cache with at least var min_cacheable_input_tokens
-- (default 1024) of input. A change of that var needs a full refresh of this
-- table to reach the past days.
{%- set min_cacheable = var('min_cacheable_input_tokens', 1024) %}
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
    provider,
    model,
    count(*) as calls,
    sum(case when cache_read_tokens > 0 then 1 else 0 end) as cache_hit_calls,
    sum(input_tokens) as input_tokens,
    sum(cache_read_tokens) as cache_read_tokens,
    sum(cache_write_tokens) as cache_write_tokens,
    sum(uncached_input_tokens) as uncached_input_tokens,
    sum(case when cache_read_tokens > 0 then input_tokens end) as cache_hit_input_tokens,
    sum(case when cache_read_tokens > 0 then cache_read_tokens end) as cache_hit_read_tokens,
    sum(case when is_priced then uncached_input_tokens end) as priced_uncached_input_tokens,
    sum(case when is_priced then cache_read_tokens end) as priced_cache_read_tokens,
    sum(
        case
            when is_priced
                and cache_read_tokens = 0
                and cache_write_tokens = 0
                and input_tokens >= {{ min_cacheable }}
                then uncached_input_tokens
            else 0
        end
    ) as candidate_uncached_tokens,
    sum(uncached_input_cost_usd) as uncached_input_cost_usd,
    sum(cache_read_cost_usd) as cache_read_cost_usd,
    sum(cache_write_cost_usd) as cache_write_cost_usd,
    sum(cache_savings_usd) as cache_savings_usd,
    sum(cache_write_premium_usd) as cache_write_premium_usd
from calls
group by call_date, agent_id, provider, model
