-- Cost per provider and model over the whole data range.
select * replace (
    cast(uncached_input_cost_usd as double) as uncached_input_cost_usd,
    cast(cache_read_cost_usd as double) as cache_read_cost_usd,
    cast(cache_write_cost_usd as double) as cache_write_cost_usd,
    cast(output_cost_usd as double) as output_cost_usd,
    cast(reasoning_cost_usd as double) as reasoning_cost_usd,
    cast(total_cost_usd as double) as total_cost_usd,
    cast(cache_savings_usd as double) as cache_savings_usd,
    cast(cache_write_premium_usd as double) as cache_write_premium_usd
)
from marts.rpt_cost_by_model
