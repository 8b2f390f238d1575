-- Latency per provider, model and operation as interactive callers see it,
-- over the priced calls of the last `recommendation_window_days` days: the
-- median duration of streamed calls (batch-like jobs on the same model would
-- otherwise dominate), or of all calls when none are streamed.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

window_start as (

    {{ recommendation_window_bounds() }}

),

final as (

    select
        calls.provider,
        coalesce(calls.catalog_model_id, calls.response_model, calls.request_model) as model,
        calls.operation,
        coalesce(
            median(calls.duration_ms) filter (where calls.time_to_first_token_ms is not null),
            median(calls.duration_ms)
        ) as latency_ms
    from calls
    cross join window_start
    where calls.call_date > window_start.after_date and calls.is_priced
    group by
        calls.provider,
        coalesce(calls.catalog_model_id, calls.response_model, calls.request_model),
        calls.operation

)

select
    provider,
    model,
    operation,
    latency_ms
from final
