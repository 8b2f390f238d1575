-- Token and cost waterfall per period (day, month) and scope (total, workspace,
-- agent). Two cascades per group:
--   input_total -> cache_read -> cache_write -> uncached_input (the remainder)
--   output_total -> reasoning -> visible_output (the remainder)
-- The parts of each cascade add up to its total, tokens and cost alike.
-- Additive sums at the finest grain needed (from the incremental per-day cost
-- aggregate), rolled up below.
with daily_agent as (

    select
        call_date,
        cast({{ dbt.date_trunc('month', 'call_date') }} as date) as call_month,
        workspace_id,
        agent_id,
        sum(calls) as calls,
        sum(unpriced_calls) as unpriced_calls,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(visible_output_tokens) as visible_output_tokens,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(uncached_input_cost_usd) as uncached_input_cost_usd,
        sum(reasoning_cost_usd) as reasoning_cost_usd,
        sum(output_cost_usd) as visible_output_cost_usd
    from {{ ref('fct_cost_daily') }}
    group by call_date, workspace_id, agent_id

),

{%- set additive = [
    'calls', 'unpriced_calls', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens',
    'uncached_input_tokens', 'output_tokens', 'reasoning_tokens', 'visible_output_tokens',
    'cache_read_cost_usd', 'cache_write_cost_usd', 'uncached_input_cost_usd',
    'reasoning_cost_usd', 'visible_output_cost_usd'
] %}
{%- set periods = [('day', 'call_date'), ('month', 'call_month')] %}
{%- set scopes = [('total', "'total'"), ('workspace', 'workspace_id'), ('agent', 'agent_id')] %}

groups as (

    {%- for period_grain, period_column in periods %}
        {%- set outer_loop = loop %}
        {%- for scope, scope_column in scopes %}
            select
                '{{ period_grain }}' as period_grain,
                {{ period_column }} as period_start,
                '{{ scope }}' as scope,
                {{ scope_column }} as scope_id,
            {%- for column in additive %}
                sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}  -- noqa: LT02
            
            {%- endfor %}
            from daily_agent
            group by {{ period_column }}{{ ', ' ~ scope_column if scope != 'total' }}
            {% if not (outer_loop.last and loop.last) %}union all{% endif %}
        {%- endfor %}
    {%- endfor %}

),

steps as (

    select
        1 as step_order,
        'input_total' as step,
        cast(null as string) as parent_step,
        'total' as step_kind
    union all
    select
        2,
        'cache_read',
        'input_total',
        'decrease'
    union all
    select
        3,
        'cache_write',
        'input_total',
        'decrease'
    union all
    select
        4,
        'uncached_input',
        'input_total',
        'remainder'
    union all
    select
        5,
        'output_total',
        null,
        'total'
    union all
    select
        6,
        'reasoning',
        'output_total',
        'decrease'
    union all
    select
        7,
        'visible_output',
        'output_total',
        'remainder'

),

step_values as (

    select
        groups.period_grain,
        groups.period_start,
        groups.scope,
        groups.scope_id,
        groups.calls,
        groups.unpriced_calls,
        steps.step_order,
        steps.step,
        steps.parent_step,
        steps.step_kind,
        case steps.step
            when 'input_total' then groups.input_tokens
            when 'cache_read' then groups.cache_read_tokens
            when 'cache_write' then groups.cache_write_tokens
            when 'uncached_input' then groups.uncached_input_tokens
            when 'output_total' then groups.output_tokens
            when 'reasoning' then groups.reasoning_tokens
            else groups.visible_output_tokens
        end as tokens,
        case when steps.step_order <= 4 then groups.input_tokens else groups.output_tokens end
            as cascade_total_tokens,
        case steps.step
            when 'input_total' then groups.input_tokens
            when 'cache_read' then groups.input_tokens
            when 'cache_write' then groups.input_tokens - groups.cache_read_tokens
            when 'uncached_input' then groups.uncached_input_tokens
            when 'output_total' then groups.output_tokens
            when 'reasoning' then groups.output_tokens
            else groups.visible_output_tokens
        end as bar_top_tokens,
        -- Cost of each step; a total's cost is the sum of its parts' costs
        -- (null parts, from unpriced calls only, count as nothing).
        case steps.step
            when 'input_total'
                then
                    case when groups.cache_read_cost_usd is not null
                            or groups.cache_write_cost_usd is not null
                            or groups.uncached_input_cost_usd is not null
                            then coalesce(groups.cache_read_cost_usd, 0)
                                + coalesce(groups.cache_write_cost_usd, 0)
                                + coalesce(groups.uncached_input_cost_usd, 0)
                    end
            when 'cache_read' then groups.cache_read_cost_usd
            when 'cache_write' then groups.cache_write_cost_usd
            when 'uncached_input' then groups.uncached_input_cost_usd
            when 'output_total'
                then
                    case when groups.reasoning_cost_usd is not null
                            or groups.visible_output_cost_usd is not null
                            then coalesce(groups.reasoning_cost_usd, 0) + coalesce(groups.visible_output_cost_usd, 0)
                    end
            when 'reasoning' then groups.reasoning_cost_usd
            else groups.visible_output_cost_usd
        end as cost_usd
    from groups
    cross join steps

),

final as (

    select
        period_grain,
        period_start,
        scope,
        scope_id,
        step_order,
        step,
        parent_step,
        step_kind,
        tokens,
        cost_usd,
        cast(tokens as double) / nullif(cascade_total_tokens, 0) as share_of_cascade_tokens,
        bar_top_tokens - tokens as bar_bottom_tokens,
        bar_top_tokens,
        calls,
        unpriced_calls
    from step_values

)

select
    cast(period_grain as string) as period_grain,
    cast(period_start as date) as period_start,
    cast(scope as string) as scope,
    cast(scope_id as string) as scope_id,
    cast(step_order as integer) as step_order,
    cast(step as string) as step,
    cast(parent_step as string) as parent_step,
    cast(step_kind as string) as step_kind,
    cast(tokens as bigint) as tokens,
    cast(cost_usd as {{ money_type() }}) as cost_usd,
    cast(share_of_cascade_tokens as double) as share_of_cascade_tokens,
    cast(bar_bottom_tokens as bigint) as bar_bottom_tokens,
    cast(bar_top_tokens as bigint) as bar_top_tokens,
    cast(calls as bigint) as calls,
    cast(unpriced_calls as bigint) as unpriced_calls
from final
