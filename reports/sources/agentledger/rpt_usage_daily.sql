-- Daily usage, tokens and latency per agent, provider and model
-- (marts.rpt_usage_daily), with the agent's workspace and department for filtering.
select
    usage.call_date,
    agents.workspace_id,
    agents.department,
    usage.agent_id,
    coalesce(usage.agent_name, usage.agent_id) as agent_name,
    usage.provider,
    usage.model,
    usage.provider || ' / ' || usage.model as provider_model,
    usage.calls,
    usage.error_calls,
    usage.error_rate,
    usage.input_tokens,
    usage.cache_read_tokens,
    usage.cache_write_tokens,
    usage.uncached_input_tokens,
    usage.output_tokens,
    usage.reasoning_tokens,
    usage.visible_output_tokens,
    usage.total_tokens,
    usage.latency_mean_ms,
    usage.latency_p50_ms,
    usage.latency_p95_ms,
    usage.latency_p99_ms,
    usage.ttft_p50_ms
from marts.rpt_usage_daily as usage
left join marts.dim_agents as agents
    on usage.agent_id = agents.agent_id
