-- Daily cost and volume per workspace, department, agent, provider and model
-- (marts.rpt_cost_daily). Costs cast to DOUBLE for the browser; null stays null
-- for unpriced groups.
select
    call_date,
    workspace_id,
    department,
    agent_id,
    coalesce(agent_name, agent_id) as agent_name,
    provider,
    model,
    provider || ' / ' || model as provider_model,
    calls,
    priced_calls,
    unpriced_calls,
    input_tokens,
    output_tokens,
    total_tokens,
    cast(uncached_input_cost_usd as double) as uncached_input_cost_usd,
    cast(cache_read_cost_usd as double) as cache_read_cost_usd,
    cast(cache_write_cost_usd as double) as cache_write_cost_usd,
    cast(output_cost_usd as double) as output_cost_usd,
    cast(reasoning_cost_usd as double) as reasoning_cost_usd,
    cast(total_cost_usd as double) as total_cost_usd,
    cast(cache_savings_usd as double) as cache_savings_usd,
    cast(cache_write_premium_usd as double) as cache_write_premium_usd
from marts.rpt_cost_daily
