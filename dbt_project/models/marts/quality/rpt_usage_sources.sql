-- One row per day, workspace, source (instrumentation library, or canonical
-- files) and provider: what the calls' sources reported and how many calls
-- have an agent. A source that never reports cache counts may overstate cost
-- where the provider caches (cached input is then priced at the full input
-- rate); one without reasoning counts shows no reasoning split.
select
    call_date,
    workspace_id,
    source,
    provider,
    calls,
    error_calls,
    calls_without_usage,
    calls_with_cache_counts,
    calls_with_reasoning_counts,
    calls_with_own_agent,
    calls_with_inherited_agent,
    calls_without_agent,
    total_cost_usd,
    cost_without_agent_usd
from {{ ref('fct_usage_sources_daily') }}
