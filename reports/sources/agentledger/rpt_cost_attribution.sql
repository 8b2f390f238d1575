-- Cost hierarchy workspace > department > agent > model over the whole range,
-- one row per node with its shares (marts.rpt_cost_attribution).
select * replace (cast(total_cost_usd as double) as total_cost_usd),
    case when provider is not null then provider || ' / ' || model end as provider_model
from marts.rpt_cost_attribution
