-- Each agent's last-30-days workload re-priced on catalog models and tiers
-- (marts.rpt_agent_workload_repricing). Only what the pages show: the 25
-- cheapest candidates of each agent, every candidate of a provider it already
-- uses, and the models it uses now (the whole table is in the published file).
-- No agent with priced calls (only embeddings, only unpriced models, no agent
-- ids): Evidence 39 cannot load a source with no rows, so an empty table yields
-- one placeholder row (is_placeholder = true, every other column null).
with rows_found as (
select * replace (
    cast(actual_cost_usd as double) as actual_cost_usd,
    cast(candidate_cost_usd as double) as candidate_cost_usd,
    cast(uncached_input_cost_usd as double) as uncached_input_cost_usd,
    cast(cache_read_cost_usd as double) as cache_read_cost_usd,
    cast(cache_write_cost_usd as double) as cache_write_cost_usd,
    cast(output_cost_usd as double) as output_cost_usd,
    cast(reasoning_cost_usd as double) as reasoning_cost_usd,
    cast(saving_usd as double) as saving_usd,
    cast(current_actual_cost_usd as double) as current_actual_cost_usd,
    cast(current_repriced_cost_usd as double) as current_repriced_cost_usd
),
    candidate_provider || ' / ' || candidate_model
    || case when candidate_service_tier = 'default' then '' else ' (' || candidate_service_tier || ')' end
    as candidate_label
from marts.rpt_agent_workload_repricing
where cost_rank <= 25 or is_current or is_current_provider
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
