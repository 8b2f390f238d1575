-- The evidence of the savings recommendations (orchestration/signals/
-- recommendations.py): priced traffic of the last `recommendation_window_days`
-- days with calls (counted back from the newest call day) per agent, provider,
-- model (the catalog entry it was priced with, else the response, else the
-- requested model), operation and service tier, with realised costs by token
-- kind. observed_days is how many of those days have calls at all.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

window_start as (

    {{ recommendation_window_bounds() }}

),

recent_calls as (

    select calls.*
    from calls
    cross join window_start
    where calls.call_date > window_start.after_date

),

-- read from the fact, not from recent_calls, which DuckDB would otherwise
-- materialise for its two readers
observed as (

    select
        least({{ var('recommendation_window_days') | int }}, count(distinct call_days.call_date)) as observed_days
    from {{ ref('fct_llm_calls') }} as call_days
    cross join window_start
    where call_days.call_date > window_start.after_date

),

usage as (

    select
        agent_id,
        -- an agent on several workspaces: the first by name, the same on every engine and run
        min(workspace_id) as workspace_id,
        provider,
        coalesce(catalog_model_id, response_model, request_model) as model,
        operation,
        coalesce(service_tier, 'default') as service_tier,
        count(*) as calls,
        count(distinct call_date) as active_days,
        cast(sum(case when is_error then 1 else 0 end) as double) as errors,
        median(duration_ms) as p50_duration_ms,
        coalesce(
            median(duration_ms) filter (where time_to_first_token_ms is not null),
            median(duration_ms)
        ) as latency_ms,
        -- a DOUBLE division: engines differ in the scale of a DECIMAL mean
        cast(sum(case when time_to_first_token_ms is null then 1 else 0 end) as double) / count(*) as nonstreamed_share,
        cast(sum(input_tokens) as double) as input_tokens,
        cast(sum(uncached_input_tokens) as double) as uncached_input_tokens,
        cast(sum(cache_read_tokens) as double) as cache_read_tokens,
        cast(sum(cache_write_tokens) as double) as cache_write_tokens,
        cast(sum(output_tokens) as double) as output_tokens,
        cast(sum(total_cost_usd) as double) as cost,
        cast(sum(uncached_input_cost_usd) as double) as uncached_input_cost,
        cast(sum(cache_read_cost_usd) as double) as cache_read_cost,
        cast(sum(cache_write_cost_usd) as double) as cache_write_cost,
        cast(sum(output_cost_usd + reasoning_cost_usd) as double) as output_cost,
        cast(sum(case when is_error then total_cost_usd else 0 end) as double) as error_cost
    from recent_calls
    where is_priced and agent_id is not null
    group by
        agent_id,
        provider,
        coalesce(catalog_model_id, response_model, request_model),
        operation,
        coalesce(service_tier, 'default')

),

final as (

    select
        usage.*,
        cast({{ var('recommendation_window_days') | int }} as integer) as window_days,
        observed.observed_days
    from usage
    cross join observed

)

select
    agent_id,
    workspace_id,
    provider,
    model,
    operation,
    service_tier,
    calls,
    active_days,
    errors,
    p50_duration_ms,
    latency_ms,
    nonstreamed_share,
    input_tokens,
    uncached_input_tokens,
    cache_read_tokens,
    cache_write_tokens,
    output_tokens,
    cost,
    uncached_input_cost,
    cache_read_cost,
    cache_write_cost,
    output_cost,
    error_cost,
    window_days,
    observed_days
from final
