-- Provider x model over the whole range: unit costs, latency percentiles,
-- error rate and volume (marts.rpt_provider_model_matrix).
select * replace (cast(total_cost_usd as double) as total_cost_usd),
    provider || ' / ' || model as provider_model
from marts.rpt_provider_model_matrix
