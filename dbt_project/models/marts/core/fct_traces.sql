{{
    config(
        materialized=trace_keyed_materialization(),
        incremental_strategy='delete+insert',
        unique_key='trace_id',
        on_schema_change='fail'
    )
}}

-- One row per trace (one agent invocation and all its child spans).
--
-- Incremental like the call-level fact: a run recomputes every trace with a
-- span in the partition window (min_date/max_date, lookback_days), from
-- all of its spans. A trace's spans are looked for up to `trace_span_days`
-- (default 1) beyond the window on either side, so a trace may cross
-- midnight; a full refresh gives the same rows.
--
-- The spans are read in one aggregation: the root span, the first span naming
-- an agent and the first carrying a department are picked with
-- value_at_min over (started_at, span_id) instead of ranking windows, which
-- would sort every span of the history by trace.
with touched_traces as (

    {{ touched_traces('trace_date') }}

),

spans as (

    select
        span_id,
        trace_id,
        parent_span_id,
        started_at,
        duration_ms,
        operation,
        workspace_id,
        nullif(trim(department), '') as department,
        agent_id,
        agent_name,
        environment,
        status,
        {{ ordering_key(['started_at', 'span_id']) }} as span_order
    from {{ ref('stg_raw__trace_spans') }}
    where {{ touched_trace_rows_predicate('trace_date') }}

),

span_aggregates as (

    select
        trace_id,
        min(started_at) as started_at,
        -- latest span end, measured from the trace start; in DECIMAL, because a
        -- DOUBLE of the epoch (about 1.8e12 ms) would round the fractional milliseconds
        max(cast({{ epoch_milliseconds('started_at') }} as decimal(38, 9)) + cast(duration_ms as decimal(38, 9)))
        - min({{ epoch_milliseconds('started_at') }}) as duration_ms,
        count(*) as span_count,
        sum(case when {{ is_llm_call_operation('operation') }} then 1 else 0 end) as llm_call_count,
        sum(case when operation = 'execute_tool' then 1 else 0 end) as tool_call_count,
        sum(case when status = 'error' then 1 else 0 end) as error_count,
        min(workspace_id) as any_workspace_id,
        -- the root: the earliest span without a parent, every field from that span
        {{ value_at_min(named_struct({
            'span_id': 'span_id',
            'agent_id': 'agent_id',
            'agent_name': 'agent_name',
            'workspace_id': 'workspace_id',
            'department': 'department',
            'environment': 'environment',
            'status': 'status',
        }), 'span_order') }} filter (where parent_span_id is null) as root_span,
        -- the earliest span naming an agent, id and name together
        {{ value_at_min(named_struct({
            'agent_id': 'agent_id',
            'agent_name': 'agent_name',
        }), 'span_order') }} filter (where agent_id is not null) as first_agent_span,
        {{ value_at_min('department', 'span_order') }} filter (where department is not null) as first_department
    from spans
    group by trace_id

),

-- the picked spans' fields as columns
span_stats as (

    select
        trace_id,
        started_at,
        duration_ms,
        span_count,
        llm_call_count,
        tool_call_count,
        error_count,
        any_workspace_id,
        first_department,
        {{ struct_field('root_span', 'span_id') }} as root_span_id,
        {{ struct_field('root_span', 'agent_id') }} as root_span_agent_id,
        {{ struct_field('root_span', 'agent_name') }} as root_span_agent_name,
        {{ struct_field('root_span', 'workspace_id') }} as root_workspace_id,
        {{ struct_field('root_span', 'department') }} as root_department,
        {{ struct_field('root_span', 'environment') }} as root_environment,
        {{ struct_field('root_span', 'status') }} as root_status,
        {{ struct_field('first_agent_span', 'agent_id') }} as first_agent_id,
        {{ struct_field('first_agent_span', 'agent_name') }} as first_agent_name
    from span_aggregates

),

call_stats as (

    select
        trace_id,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        sum(case when is_priced then 0 else 1 end) as unpriced_calls,
        sum(case when is_error then total_cost_usd end) as errored_call_cost_usd
    from {{ ref('fct_llm_calls') }}
    where {{ touched_trace_rows_predicate('trace_date') }}
    group by trace_id

),

joined as (

    select
        span_stats.trace_id,
        span_stats.root_span_id,
        coalesce(span_stats.root_span_agent_id, span_stats.first_agent_id, {{ unassigned_label() }}) as root_agent_id,
        case
            when span_stats.root_span_agent_id is not null then span_stats.root_span_agent_name
            else span_stats.first_agent_name
        end as root_agent_name,
        coalesce(span_stats.root_workspace_id, span_stats.any_workspace_id) as workspace_id,
        coalesce(
            span_stats.root_department,
            span_stats.first_department,
            org.department,
            {{ unassigned_label() }}
        ) as department,
        span_stats.root_environment as environment,
        span_stats.started_at,
        span_stats.duration_ms,
        span_stats.span_count,
        span_stats.llm_call_count,
        span_stats.tool_call_count,
        span_stats.error_count,
        case
            when span_stats.root_span_id is not null then span_stats.root_status = 'ok'
            else span_stats.error_count = 0
        end as is_success,
        span_stats.root_span_id is not null as has_root_span,
        coalesce(call_stats.input_tokens, 0) as input_tokens,
        coalesce(call_stats.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(call_stats.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(call_stats.output_tokens, 0) as output_tokens,
        coalesce(call_stats.reasoning_tokens, 0) as reasoning_tokens,
        coalesce(call_stats.total_tokens, 0) as total_tokens,
        call_stats.total_cost_usd,
        call_stats.errored_call_cost_usd,
        coalesce(call_stats.unpriced_calls, 0) as unpriced_calls
    from span_stats
    left join {{ ref('org_mapping') }} as org
        on coalesce(span_stats.root_span_agent_id, span_stats.first_agent_id) = org.agent_id
    left join call_stats
        on span_stats.trace_id = call_stats.trace_id

),

final as (

    select
        cast(trace_id as string) as trace_id,
        cast(root_span_id as string) as root_span_id,
        cast(root_agent_id as string) as root_agent_id,
        cast(root_agent_name as string) as root_agent_name,
        cast(workspace_id as string) as workspace_id,
        cast(department as string) as department,
        cast(environment as string) as environment,
        cast(started_at as timestamp) as started_at,
        cast(started_at as date) as trace_date,
        cast(duration_ms as double) as duration_ms,
        cast(span_count as bigint) as span_count,
        cast(llm_call_count as bigint) as llm_call_count,
        cast(tool_call_count as bigint) as tool_call_count,
        cast(error_count as bigint) as error_count,
        cast(is_success as boolean) as is_success,
        cast(has_root_span as boolean) as has_root_span,
        cast(input_tokens as bigint) as input_tokens,
        cast(cache_read_tokens as bigint) as cache_read_tokens,
        cast(cache_write_tokens as bigint) as cache_write_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(reasoning_tokens as bigint) as reasoning_tokens,
        cast(total_tokens as bigint) as total_tokens,
        cast(total_cost_usd as {{ money_type() }}) as total_cost_usd,
        cast(errored_call_cost_usd as {{ money_type() }}) as errored_call_cost_usd,
        cast(unpriced_calls as bigint) as unpriced_calls,
        cast(unpriced_calls = 0 as boolean) as is_fully_priced
    from joined

)

select
    trace_id,
    root_span_id,
    root_agent_id,
    root_agent_name,
    workspace_id,
    department,
    environment,
    started_at,
    trace_date,
    duration_ms,
    span_count,
    llm_call_count,
    tool_call_count,
    error_count,
    is_success,
    has_root_span,
    input_tokens,
    cache_read_tokens,
    cache_write_tokens,
    output_tokens,
    reasoning_tokens,
    total_tokens,
    total_cost_usd,
    errored_call_cost_usd,
    unpriced_calls,
    is_fully_priced
from final
