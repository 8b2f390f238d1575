-- Calls per day, agent, provider and model (as the marts name them), response
-- model and the catalog entry they were priced with, incremental by day: a run
-- replaces the days of its partition window. dim_models and dim_providers read
-- it instead of every call of the history.
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
    response_model,
    catalog_provider_id,
    catalog_model_id,
    count(*) as calls,
    sum(case when is_priced then 1 else 0 end) as priced_calls,
    min(started_at) as first_call_at,
    max(started_at) as last_call_at
from calls
group by call_date, agent_id, provider, model, response_model, catalog_provider_id, catalog_model_id
