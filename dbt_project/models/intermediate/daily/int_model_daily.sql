-- Calls per day, agent, provider and model (as the marts name them), response
-- model and the catalog entry they were priced with, incremental by day: a run
-- replaces the days of its partition window. dim_models and dim_providers read
-- it instead of every call of the history.
with calls as (

    select * from {{ attributed_llm_calls_in_window() }} as calls

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
