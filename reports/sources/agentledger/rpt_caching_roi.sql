-- Prompt-cache use, savings and what caching could still save, per agent,
-- provider and model over the whole range (marts.rpt_caching_roi).
select * replace (
    cast(cache_read_cost_usd as double) as cache_read_cost_usd,
    cast(cache_write_cost_usd as double) as cache_write_cost_usd,
    cast(cache_savings_usd as double) as cache_savings_usd,
    cast(cache_write_premium_usd as double) as cache_write_premium_usd,
    cast(net_cache_savings_usd as double) as net_cache_savings_usd,
    cast(potential_savings_usd as double) as potential_savings_usd
),
    provider || ' / ' || model as provider_model
from marts.rpt_caching_roi
