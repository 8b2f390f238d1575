-- The cost marts computed by hand in DuckDB, with no dbt, tests or contracts:
-- the floor the dbt build is compared with (benchmarks/compare_dbt.py).
--
-- Reads raw.trace_spans, the three price seeds in schema reference, the
-- user's org mapping (reference_input.org_mapping) and floor.model_matches
-- (the model-name matches, resolved by the same genai-prices code as
-- int_model_catalog_matches.py; the driver writes them before this script).
-- Writes floor.fct_llm_calls, floor.rpt_cost_daily and
-- floor.rpt_cost_attribution, which must equal dbt's marts row for row.
--
-- Semantics kept: an agent (id and name together) and the conversation id are
-- inherited from the nearest ancestor span naming one, up to 64 levels; prices
-- are effective-dated, time-of-day and input-token banded, custom before
-- catalog; a usage type without its own price is billed at its parent's rate;
-- department falls back to the org mapping, then 'unassigned'.

create schema if not exists floor;

-- each raw span with its own attribution fields, blank as null
create or replace temp view spans_with_own_fields as
select
    *,
    coalesce(nullif(trim(agent_id), ''), nullif(trim(agent_name), '')) as own_agent_id,
    nullif(trim(agent_name), '') as own_agent_name,
    nullif(trim(conversation_id), '') as own_conversation_id
from raw.trace_spans;

-- the narrow copy the ancestor walk and the display names read
create or replace temp table spans as
select
    span_id,
    trace_id,
    parent_span_id,
    started_at,
    workspace_id,
    operation,
    own_agent_id,
    own_agent_name,
    agent_name as raw_agent_name,
    own_conversation_id
from spans_with_own_fields;

-- the nearest ancestor naming an agent / a conversation, for spans lacking one
create or replace temp table inherited as
with recursive seekers as (
    select span_id, trace_id, parent_span_id
    from spans
    where parent_span_id is not null and (own_agent_id is null or own_conversation_id is null)
),
ancestry (span_id, trace_id, ancestor_span_id, depth) as (
    select span_id, trace_id, parent_span_id, 1 from seekers
    union all
    select a.span_id, a.trace_id, p.parent_span_id, a.depth + 1
    from ancestry as a
    inner join spans as p on a.trace_id = p.trace_id and a.ancestor_span_id = p.span_id
    where p.parent_span_id is not null and a.depth < 64
)
select
    a.span_id,
    arg_min(s.own_agent_id, a.depth) filter (where s.own_agent_id is not null) as agent_id,
    -- the name of that same agent, null when it has none (arg_min would skip to a farther one)
    arg_min_null(s.raw_agent_name, a.depth) filter (where s.own_agent_id is not null) as agent_name,
    arg_min(s.own_conversation_id, a.depth) filter (where s.own_conversation_id is not null) as conversation_id
from ancestry as a
inner join spans as s on a.trace_id = s.trace_id and a.ancestor_span_id = s.span_id
group by a.span_id;

-- every span with its attributed agent (for the display names)
create or replace temp table attributed_spans as
select
    s.started_at,
    coalesce(s.own_agent_id, i.agent_id) as agent_id,
    case when s.own_agent_id is not null then s.own_agent_name else i.agent_name end as agent_name
from spans as s
left join inherited as i on s.span_id = i.span_id;

-- the price list, one row per band with the five unit prices side by side
create or replace temp table prices as
select
    'catalog' as price_source, provider_id as provider_key, model_id as model_key, service_tier,
    cast(valid_from as date) as valid_from, cast(valid_to as date) as valid_to,
    cast(split_part(daily_from, ':', 1) as integer) * 3600 + cast(split_part(daily_from, ':', 2) as integer) * 60
        + cast(split_part(daily_from, ':', 3) as integer) as daily_from_second,
    cast(split_part(daily_to, ':', 1) as integer) * 3600 + cast(split_part(daily_to, ':', 2) as integer) * 60
        + cast(split_part(daily_to, ':', 3) as integer) as daily_to_second,
    usage_type, cast(tier_start_tokens as bigint) as tier_start_tokens,
    cast(price_per_mtok as decimal(38, 18)) as price_per_mtok
from reference.model_prices
union all
select
    'custom', lower(trim(provider_id)), lower(trim(model_id)), coalesce(service_tier, 'default'),
    cast(coalesce(valid_from, date '1970-01-01') as date), cast(coalesce(valid_to, date '9999-12-31') as date),
    cast(split_part(coalesce(daily_from, '00:00:00'), ':', 1) as integer) * 3600
        + cast(split_part(coalesce(daily_from, '00:00:00'), ':', 2) as integer) * 60
        + cast(split_part(coalesce(daily_from, '00:00:00'), ':', 3) as integer),
    cast(split_part(coalesce(daily_to, '24:00:00'), ':', 1) as integer) * 3600
        + cast(split_part(coalesce(daily_to, '24:00:00'), ':', 2) as integer) * 60
        + cast(split_part(coalesce(daily_to, '24:00:00'), ':', 3) as integer),
    usage_type, cast(coalesce(tier_start_tokens, 0) as bigint), cast(price_per_mtok as decimal(38, 18))
from reference.custom_model_prices;

create or replace temp table bands as
with starts as (
    select distinct price_source, provider_key, model_key, service_tier, valid_from, valid_to,
        daily_from_second, daily_to_second, tier_start_tokens as band_start
    from prices
),
ranged as (
    select *,
        case when band_start = 0 then -1 else band_start end as band_floor,
        coalesce(lead(band_start) over (
            partition by price_source, provider_key, model_key, service_tier, valid_from, daily_from_second
            order by band_start
        ), 9223372036854775807) as band_ceiling
    from starts
),
-- per band and usage type, the price of the highest tier at or below the band start
typed as (
    select r.price_source, r.provider_key, r.model_key, r.service_tier, r.valid_from, r.valid_to,
        r.daily_from_second, r.daily_to_second, r.band_start, r.band_floor, r.band_ceiling, p.usage_type,
        arg_max(p.price_per_mtok, p.tier_start_tokens) as price
    from ranged as r
    inner join prices as p
        on r.price_source = p.price_source and r.provider_key = p.provider_key and r.model_key = p.model_key
        and r.service_tier = p.service_tier and r.valid_from = p.valid_from
        and r.daily_from_second = p.daily_from_second and r.band_start >= p.tier_start_tokens
    group by all
)
select price_source, provider_key, model_key, service_tier, valid_from, valid_to, daily_from_second,
    daily_to_second, band_floor, band_ceiling, band_start > 0 as is_long_context,
    cast(max(price) filter (where usage_type = 'input') as decimal(18, 9)) as input_price,
    cast(max(price) filter (where usage_type = 'cache_read') as decimal(18, 9)) as cache_read_price,
    cast(max(price) filter (where usage_type = 'cache_write') as decimal(18, 9)) as cache_write_price,
    cast(max(price) filter (where usage_type = 'output') as decimal(18, 9)) as output_price,
    cast(max(price) filter (where usage_type = 'reasoning') as decimal(18, 9)) as reasoning_price
from typed
group by price_source, provider_key, model_key, service_tier, valid_from, valid_to, daily_from_second,
    daily_to_second, band_start, band_floor, band_ceiling;

create or replace temp table priced_tiers as
select distinct price_source, provider_key, model_key, service_tier from bands;

create or replace table floor.fct_llm_calls as
with calls as (
    select
        r.span_id, r.trace_id, r.parent_span_id, r.started_at,
        cast(r.started_at as date) as call_date,
        date_trunc('hour', r.started_at) as call_hour,
        hour(r.started_at) * 3600 + minute(r.started_at) * 60 + second(r.started_at) as second_of_day,
        r.workspace_id,
        nullif(trim(r.department), '') as department,
        coalesce(r.own_agent_id, i.agent_id) as agent_id,
        case when r.own_agent_id is not null then r.own_agent_name else i.agent_name end as agent_name,
        case when r.own_agent_id is not null then 'span' when i.agent_id is not null then 'ancestor' else 'none' end
            as agent_attribution,
        nullif(trim(r.user_id), '') as user_id,
        coalesce(r.own_conversation_id, i.conversation_id) as conversation_id,
        r.environment, r.operation, r.provider, r.request_model, r.response_model, r.instrumentation_scope,
        r.input_tokens is not null as usage_reported,
        r.cache_read_tokens is not null or r.cache_write_tokens is not null as cache_tokens_reported,
        r.reasoning_tokens is not null as reasoning_tokens_reported,
        coalesce(r.service_tier, 'default') as service_tier,
        r.status, r.error_type, r.duration_ms, r.time_to_first_token_ms,
        coalesce(r.input_tokens, 0) as input_tokens,
        coalesce(r.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(r.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(r.output_tokens, 0) as output_tokens,
        coalesce(r.reasoning_tokens, 0) as reasoning_tokens,
        r.reported_cost_usd
    -- the raw row with its own fields, rather than the spans copy joined back on span_id
    from spans_with_own_fields as r
    left join inherited as i on r.span_id = i.span_id
    where r.operation in ('chat', 'text_completion', 'generate_content', 'embeddings')
),
matched as (
    select
        c.*,
        m.catalog_provider_id, m.price_provider_id, m.catalog_model_id, m.custom_provider_key, m.custom_model_key,
        coalesce(ct.service_tier, 'default') as custom_tier,
        case when m.catalog_provider_id = m.price_provider_id then coalesce(kt.service_tier, 'default')
            else 'default' end as catalog_tier
    from calls as c
    left join floor.model_matches as m
        on c.provider is not distinct from m.provider
        and c.request_model is not distinct from m.request_model
        and c.response_model is not distinct from m.response_model
    left join priced_tiers as ct
        on ct.price_source = 'custom' and ct.provider_key = m.custom_provider_key
        and ct.model_key = m.custom_model_key and ct.service_tier = c.service_tier
    left join priced_tiers as kt
        on kt.price_source = 'catalog' and kt.provider_key = m.price_provider_id
        and kt.model_key = m.catalog_model_id and kt.service_tier = c.service_tier
),
-- the band valid at the call's start holding its input tokens; custom beats catalog
banded as (
    select
        x.*,
        coalesce(cu.price_source, ca.price_source) as price_source,
        if(cu.price_source is not null, cu.is_long_context, ca.is_long_context) as band_is_long_context,
        if(cu.price_source is not null, cu.input_price, ca.input_price) as input_price,
        if(cu.price_source is not null, cu.cache_read_price, ca.cache_read_price) as cache_read_price,
        if(cu.price_source is not null, cu.cache_write_price, ca.cache_write_price) as cache_write_price,
        if(cu.price_source is not null, cu.output_price, ca.output_price) as output_price,
        if(cu.price_source is not null, cu.reasoning_price, ca.reasoning_price) as reasoning_price
    from matched as x
    left join bands as cu
        on cu.price_source = 'custom' and x.custom_provider_key = cu.provider_key
        and x.custom_model_key = cu.model_key and x.custom_tier = cu.service_tier
        and x.call_date >= cu.valid_from and x.call_date < cu.valid_to
        and x.second_of_day >= cu.daily_from_second and x.second_of_day < cu.daily_to_second
        and x.input_tokens > cu.band_floor and x.input_tokens <= cu.band_ceiling
    left join bands as ca
        on ca.price_source = 'catalog' and x.price_provider_id = ca.provider_key
        and x.catalog_model_id = ca.model_key and x.catalog_tier = ca.service_tier
        and x.call_date >= ca.valid_from and x.call_date < ca.valid_to
        and x.second_of_day >= ca.daily_from_second and x.second_of_day < ca.daily_to_second
        and x.input_tokens > ca.band_floor and x.input_tokens <= ca.band_ceiling
),
-- cost of n tokens at a per-million price, in the warehouse's money type
costed as (
    select
        *,
        cast(cast(input_tokens - cache_read_tokens - cache_write_tokens as decimal(18, 0))
            * coalesce(input_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6) as decimal(38, 12)) as c_input,
        cast(cast(cache_read_tokens as decimal(18, 0))
            * coalesce(cache_read_price, input_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6)
            as decimal(38, 12)) as c_cache_read,
        cast(cast(cache_write_tokens as decimal(18, 0))
            * coalesce(cache_write_price, input_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6)
            as decimal(38, 12)) as c_cache_write,
        cast(cast(output_tokens - reasoning_tokens as decimal(18, 0))
            * coalesce(output_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6) as decimal(38, 12)) as c_output,
        cast(cast(reasoning_tokens as decimal(18, 0))
            * coalesce(reasoning_price, output_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6)
            as decimal(38, 12)) as c_reasoning,
        cast(cast(cache_read_tokens as decimal(18, 0))
            * coalesce(input_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6) as decimal(38, 12))
            as c_cache_read_at_input,
        cast(cast(cache_write_tokens as decimal(18, 0))
            * coalesce(input_price, 0::decimal(18, 9)) * 0.000001::decimal(7, 6) as decimal(38, 12))
            as c_cache_write_at_input
    from banded
)
select
    span_id, trace_id, parent_span_id, started_at, call_date, call_hour, workspace_id, department, agent_id,
    agent_name, agent_attribution, user_id, conversation_id, environment, operation, provider, request_model,
    response_model, instrumentation_scope, usage_reported, cache_tokens_reported, reasoning_tokens_reported,
    if(price_source is not null, catalog_model_id, null) as catalog_model_id,
    if(price_source is not null, catalog_provider_id, null) as catalog_provider_id,
    service_tier, status, error_type, status = 'error' as is_error, duration_ms, time_to_first_token_ms,
    input_tokens, cache_read_tokens, cache_write_tokens,
    input_tokens - cache_read_tokens - cache_write_tokens as uncached_input_tokens,
    output_tokens, reasoning_tokens, output_tokens - reasoning_tokens as visible_output_tokens,
    input_tokens + output_tokens as total_tokens,
    price_source is not null as is_priced,
    price_source,
    coalesce(band_is_long_context, false) as is_long_context_tier,
    if(price_source is not null, c_input, null) as uncached_input_cost_usd,
    if(price_source is not null, c_cache_read, null) as cache_read_cost_usd,
    if(price_source is not null, c_cache_write, null) as cache_write_cost_usd,
    if(price_source is not null, c_output, null) as output_cost_usd,
    if(price_source is not null, c_reasoning, null) as reasoning_cost_usd,
    if(price_source is not null, c_input + c_cache_read + c_cache_write + c_output + c_reasoning, null)
        as total_cost_usd,
    if(price_source is not null, c_cache_read_at_input - c_cache_read, null) as cache_savings_usd,
    if(price_source is not null, c_cache_write - c_cache_write_at_input, null) as cache_write_premium_usd,
    reported_cost_usd
from costed;

-- the calls summed per day and attribution keys, the department falling back
-- to the org mapping
create or replace temp table cost_leaves as
select
    c.call_date,
    c.workspace_id,
    coalesce(c.department, o.department, 'unassigned') as department,
    coalesce(c.agent_id, 'unassigned') as agent_id,
    coalesce(c.provider, 'unassigned') as provider,
    coalesce(c.request_model, c.response_model, 'unassigned') as model,
    count(*) as calls,
    count(*) filter (where c.is_priced) as priced_calls,
    count(*) filter (where not c.is_priced) as unpriced_calls,
    sum(c.input_tokens) as input_tokens,
    sum(c.output_tokens) as output_tokens,
    sum(c.total_tokens) as total_tokens,
    sum(c.uncached_input_cost_usd) as uncached_input_cost_usd,
    sum(c.cache_read_cost_usd) as cache_read_cost_usd,
    sum(c.cache_write_cost_usd) as cache_write_cost_usd,
    sum(c.output_cost_usd) as output_cost_usd,
    sum(c.reasoning_cost_usd) as reasoning_cost_usd,
    sum(c.total_cost_usd) as total_cost_usd,
    sum(c.cache_savings_usd) as cache_savings_usd,
    sum(c.cache_write_premium_usd) as cache_write_premium_usd
from floor.fct_llm_calls as c
left join reference_input.org_mapping as o on c.agent_id = o.agent_id
group by all;

create or replace table floor.rpt_cost_daily as
with latest_names as (
    -- the agent's display name: the one it used last (ties: alphabetical)
    select agent_id, agent_name
    from attributed_spans
    where agent_id is not null and agent_name is not null
    group by agent_id, agent_name
    qualify row_number() over (partition by agent_id order by max(started_at) desc, agent_name) = 1
)
select
    l.call_date, l.workspace_id, l.department, l.agent_id,
    coalesce(n.agent_name, l.agent_id) as agent_name,
    o.team, o.cost_centre,
    l.provider, l.model, l.calls, l.priced_calls, l.unpriced_calls, l.input_tokens, l.output_tokens,
    l.total_tokens,
    cast(l.uncached_input_cost_usd as decimal(38, 12)) as uncached_input_cost_usd,
    cast(l.cache_read_cost_usd as decimal(38, 12)) as cache_read_cost_usd,
    cast(l.cache_write_cost_usd as decimal(38, 12)) as cache_write_cost_usd,
    cast(l.output_cost_usd as decimal(38, 12)) as output_cost_usd,
    cast(l.reasoning_cost_usd as decimal(38, 12)) as reasoning_cost_usd,
    cast(l.total_cost_usd as decimal(38, 12)) as total_cost_usd,
    cast(l.cache_savings_usd as decimal(38, 12)) as cache_savings_usd,
    cast(l.cache_write_premium_usd as decimal(38, 12)) as cache_write_premium_usd
from cost_leaves as l
left join latest_names as n on l.agent_id = n.agent_id
left join reference_input.org_mapping as o on l.agent_id = o.agent_id;

-- total > workspace > department > agent > provider/model, with each node's
-- share of its parent and of the total
create or replace table floor.rpt_cost_attribution as
with leaves as (
    select workspace_id, department, agent_id, provider, model,
        sum(calls) as calls, sum(unpriced_calls) as unpriced_calls,
        cast(sum(total_cost_usd) as decimal(38, 12)) as cost
    from cost_leaves
    group by all
),
nodes as (
    select
        case when grouping(model) = 0 then 4 when grouping(agent_id) = 0 then 3
            when grouping(department) = 0 then 2 when grouping(workspace_id) = 0 then 1 else 0 end as level,
        workspace_id, department, agent_id, provider, model,
        sum(calls) as calls, sum(unpriced_calls) as unpriced_calls, sum(cost) as cost
    from leaves
    group by rollup (workspace_id, department, agent_id, (provider, model))
),
-- a path holding a null key is null, as is the parent it would hang from
named as (
    select
        *,
        case level
            when 0 then 'total'
            when 1 then 'total > ' || workspace_id
            when 2 then 'total > ' || workspace_id || ' > ' || department
            when 3 then 'total > ' || workspace_id || ' > ' || department || ' > ' || agent_id
            else 'total > ' || workspace_id || ' > ' || department || ' > ' || agent_id || ' > ' || provider || '/' || model
        end as node_path,
        case level
            when 0 then null
            when 1 then 'total'
            when 2 then 'total > ' || workspace_id
            when 3 then 'total > ' || workspace_id || ' > ' || department
            else 'total > ' || workspace_id || ' > ' || department || ' > ' || agent_id
        end as parent_path,
        [workspace_id, department, agent_id, provider || '/' || model][level] as node_name
    from nodes
)
select
    n.node_path,
    cast(n.level as integer) as level,
    ['total', 'workspace', 'department', 'agent', 'model'][n.level + 1] as level_name,
    if(n.level = 0, 'total', n.node_name) as node_name,
    n.parent_path,
    n.workspace_id, n.department, n.agent_id, n.provider, n.model,
    cast(n.calls as bigint) as calls,
    cast(n.unpriced_calls as bigint) as unpriced_calls,
    n.cost as total_cost_usd,
    if(n.level = 0, 1.0, cast(coalesce(n.cost, 0) as double) / nullif(cast(p.cost as double), 0)) as share_of_parent,
    cast(coalesce(n.cost, 0) as double) / nullif(cast(r.cost as double), 0) as share_of_total
from named as n
cross join (select cost from named where level = 0) as r
left join named as p on n.parent_path = p.node_path;
