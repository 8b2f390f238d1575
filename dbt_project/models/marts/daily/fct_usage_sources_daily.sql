-- What each source of calls reported, per day, workspace, instrumentation and
-- provider, incremental by day: how many calls carried usage, cache and
-- reasoning counts, and how many (and how much cost) have an agent, their own
-- or an ancestor's. rpt_usage_sources rolls it up for the data-quality page.
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
    coalesce(instrumentation_scope, 'canonical files') as source,
    provider,
    count(*) as calls,
    cast(sum(case when is_error then 1 else 0 end) as bigint) as error_calls,
    cast(sum(case when usage_reported then 0 else 1 end) as bigint) as calls_without_usage,
    cast(sum(case when cache_tokens_reported then 1 else 0 end) as bigint) as calls_with_cache_counts,
    cast(sum(case when reasoning_tokens_reported then 1 else 0 end) as bigint) as calls_with_reasoning_counts,
    cast(sum(case when agent_attribution = 'span' then 1 else 0 end) as bigint) as calls_with_own_agent,
    cast(sum(case when agent_attribution = 'ancestor' then 1 else 0 end) as bigint) as calls_with_inherited_agent,
    cast(sum(case when agent_attribution = 'none' then 1 else 0 end) as bigint) as calls_without_agent,
    cast(sum(total_cost_usd) as {{ money_type() }}) as total_cost_usd,
    cast(sum(case when agent_attribution = 'none' then total_cost_usd end) as {{ money_type() }})
        as cost_without_agent_usd
from calls
group by call_date, workspace_id, coalesce(instrumentation_scope, 'canonical files'), provider
