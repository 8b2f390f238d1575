-- Cost and tokens per agent, day and model (the response model, else the
-- requested one), for the model-mix driver of the anomaly detection.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

final as (

    select
        call_date as date,
        coalesce(agent_id, 'unknown') as agent_id,
        workspace_id,
        coalesce(response_model, request_model, 'unknown') as model,
        cast(coalesce(sum(total_cost_usd), 0) as double) as cost,
        cast(coalesce(sum(input_tokens + output_tokens), 0) as double) as tokens
    from calls
    group by
        call_date,
        coalesce(agent_id, 'unknown'),
        workspace_id,
        coalesce(response_model, request_model, 'unknown')

)

select
    date,
    agent_id,
    workspace_id,
    model,
    cost,
    tokens
from final
