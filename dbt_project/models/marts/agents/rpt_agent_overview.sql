-- One row per agent of dim_agents (every agent, even one without LLM calls):
-- who owns it, how much it is used, what it costs, how it behaves.
-- The additive measures come from the incremental per-day aggregate and the
-- trace counts from int_trace_agents; only the latency percentiles, which do
-- not add up across days, read the calls.
with calls as (

    select * from {{ ref('fct_llm_calls_attributed') }}

),

as_of as (

    select cast({{ as_of_date_sql(ref('fct_llm_calls')) }} as date) as as_of_date

),

daily_activity as (

    select
        daily.agent_id,
        count(*) as active_days,
        sum(daily.calls) as calls,
        sum(daily.error_calls) as error_calls,
        sum(daily.unpriced_calls) as unpriced_calls,
        sum(daily.input_tokens) as input_tokens,
        sum(daily.output_tokens) as output_tokens,
        sum(daily.total_tokens) as total_tokens,
        sum(daily.total_cost_usd) as total_cost_usd,
        sum(case when daily.call_date > cast({{ dbt.dateadd('day', -30, 'as_of.as_of_date') }} as date)
                and daily.call_date <= as_of.as_of_date then daily.calls
            else 0
        end) as calls_last_30_days,
        sum(case when daily.call_date > cast({{ dbt.dateadd('day', -30, 'as_of.as_of_date') }} as date)
                and daily.call_date <= as_of.as_of_date then daily.total_cost_usd
        end) as cost_last_30_days_usd
    from {{ ref('fct_agent_daily') }} as daily
    cross join as_of
    group by daily.agent_id

),

call_traces as (

    {{ traces_with_calls_per_agent() }}

),

latency as (

    select
        agent_id,
        {{ percentile_cont('duration_ms', 0.5, together_with=[0.95]) }} as latency_p50_ms,
        {{ percentile_cont('duration_ms', 0.95, together_with=[0.5]) }} as latency_p95_ms
    from calls
    group by agent_id

),

call_activity as (

    select
        daily_activity.*,
        coalesce(call_traces.traces, 0) as traces,
        latency.latency_p50_ms,
        latency.latency_p95_ms
    from daily_activity
    left join call_traces
        on daily_activity.agent_id = call_traces.agent_id
    left join latency
        on daily_activity.agent_id = latency.agent_id

),

root_traces as (

    select
        root_agent_id as agent_id,
        count(*) as root_traces,
        sum(case when is_success then 1 else 0 end) as successful_root_traces
    from {{ ref('fct_traces') }}
    group by root_agent_id

),

grand_total as (

    select sum(total_cost_usd) as total_cost_usd from call_activity

),

final as (

    select
        agents.agent_id,
        agents.agent_name,
        agents.workspace_id,
        agents.department,
        agents.team,
        agents.cost_centre,
        agents.first_seen_at,
        agents.last_seen_at,
        agents.primary_provider,
        agents.primary_model,
        agents.model_count,
        coalesce(call_activity.active_days, 0) as active_days,
        coalesce(call_activity.calls, 0) as calls,
        coalesce(call_activity.traces, 0) as traces,
        coalesce(root_traces.root_traces, 0) as root_traces,
        cast(root_traces.successful_root_traces as double)
        / nullif(root_traces.root_traces, 0) as root_trace_success_rate,
        coalesce(call_activity.error_calls, 0) as error_calls,
        cast(call_activity.error_calls as double) / nullif(call_activity.calls, 0) as error_rate,
        coalesce(call_activity.unpriced_calls, 0) as unpriced_calls,
        coalesce(call_activity.input_tokens, 0) as input_tokens,
        coalesce(call_activity.output_tokens, 0) as output_tokens,
        coalesce(call_activity.total_tokens, 0) as total_tokens,
        call_activity.total_cost_usd,
        cast(call_activity.total_cost_usd as double)
        / nullif(cast(grand_total.total_cost_usd as double), 0) as share_of_total_cost,
        coalesce(call_activity.calls_last_30_days, 0) as calls_last_30_days,
        call_activity.cost_last_30_days_usd,
        call_activity.latency_p50_ms,
        call_activity.latency_p95_ms
    from {{ ref('dim_agents') }} as agents
    cross join grand_total
    left join call_activity
        on agents.agent_id = call_activity.agent_id
    left join root_traces
        on agents.agent_id = root_traces.agent_id

)

select
    cast(agent_id as string) as agent_id,
    cast(agent_name as string) as agent_name,
    cast(workspace_id as string) as workspace_id,
    cast(department as string) as department,
    cast(team as string) as team,
    cast(cost_centre as string) as cost_centre,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_at as timestamp) as last_seen_at,
    cast(primary_provider as string) as primary_provider,
    cast(primary_model as string) as primary_model,
    cast(model_count as bigint) as model_count,
    cast(active_days as bigint) as active_days,
    cast(calls as bigint) as calls,
    cast(traces as bigint) as traces,
    cast(root_traces as bigint) as root_traces,
    cast(root_trace_success_rate as double) as root_trace_success_rate,
    cast(error_calls as bigint) as error_calls,
    cast(error_rate as double) as error_rate,
    cast(unpriced_calls as bigint) as unpriced_calls,
    cast(input_tokens as bigint) as input_tokens,
    cast(output_tokens as bigint) as output_tokens,
    cast(total_tokens as bigint) as total_tokens,
    cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
    cast(share_of_total_cost as double) as share_of_total_cost,
    cast(calls_last_30_days as bigint) as calls_last_30_days,
    cast(cost_last_30_days_usd as {{ money_type() }}) as cost_last_30_days_usd,
    cast(latency_p50_ms as double) as latency_p50_ms,
    cast(latency_p95_ms as double) as latency_p95_ms
from final
