-- Cost and driver features per agent and day, the series the forecasts,
-- anomaly detection and budgets read (orchestration/signals). Keys as the call
-- fact records them: the department is the trace's own (no org-mapping
-- fallback), a missing department or agent is 'unknown'. Measures are doubles
-- because the detectors work in floating point.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

final as (

    select
        call_date as date,
        workspace_id,
        coalesce(department, 'unknown') as department,
        coalesce(agent_id, 'unknown') as agent_id,
        count(*) as calls,
        cast(coalesce(sum(total_cost_usd), 0) as double) as cost,
        cast(coalesce(sum(input_tokens), 0) as double) as input_tokens,
        cast(coalesce(sum(output_tokens), 0) as double) as output_tokens,
        cast(coalesce(sum(cache_read_tokens), 0) as double) as cache_read_tokens,
        cast(coalesce(sum(case when is_error then 1 else 0 end), 0) as double) as errors
    from calls
    group by call_date, workspace_id, coalesce(department, 'unknown'), coalesce(agent_id, 'unknown')

)

select
    date,
    workspace_id,
    department,
    agent_id,
    calls,
    cost,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    errors
from final
