-- Token and cost waterfall per period (day, month) and scope (total,
-- workspace, agent), one row per step (marts.rpt_token_waterfall).
select * replace (cast(cost_usd as double) as cost_usd)
from marts.rpt_token_waterfall
