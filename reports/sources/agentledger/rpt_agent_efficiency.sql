-- Unit economics per agent over the whole range (marts.rpt_agent_efficiency).
select * replace (
    cast(total_cost_usd as double) as total_cost_usd,
    cast(error_waste_usd as double) as error_waste_usd
)
from marts.rpt_agent_efficiency
