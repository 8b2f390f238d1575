-- Share of each agent's calls of the last `recommendation_window_days` days in
-- its busiest 3 hours of the day (UTC): a scheduled batch job concentrates
-- there, interactive traffic follows the working day.
with calls as (

    select * from {{ ref('fct_llm_calls') }}

),

window_start as (

    {{ recommendation_window_bounds() }}

),

calls_per_hour as (

    select
        calls.agent_id,
        hour(calls.started_at) as hour_of_day,
        count(*) as calls
    from calls
    cross join window_start
    where calls.call_date > window_start.after_date and calls.agent_id is not null
    group by calls.agent_id, hour(calls.started_at)

),

ranked_hours as (

    select
        agent_id,
        calls,
        row_number() over (partition by agent_id order by calls desc) as busy_rank,
        sum(calls) over (partition by agent_id) as agent_calls
    from calls_per_hour

),

final as (

    select
        agent_id,
        cast(sum(case when busy_rank <= 3 then calls else 0 end) as double)
        / any_value(agent_calls) as peak_hours_share
    from ranked_hours
    group by agent_id

)

select
    agent_id,
    peak_hours_share
from final
