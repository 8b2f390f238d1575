-- Cost hierarchy workspace > department > agent > model, one row per node.
select * replace (cast(total_cost_usd as double) as total_cost_usd)
from marts.rpt_cost_attribution
