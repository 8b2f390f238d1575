-- Usage per hour, agent, provider and model, from the call fact's keys alone
-- (no labels), incremental by day: a run replaces the days of its partition
-- window. rpt_usage_hourly adds the labels on every run.
with calls as (

    select * from {{ attributed_llm_calls_in_window() }} as calls

)

select
    call_hour,
    call_date,
    agent_id,
    provider,
    model,
    {{ usage_measures() }}
from calls
group by call_hour, call_date, agent_id, provider, model
