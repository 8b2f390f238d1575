-- Each agent's percentile ranks among agents (marts.rpt_agent_peer_rank), with the page link.
select * replace (cast(total_cost_usd as double) as total_cost_usd),
    '/agents/' || agent_id as agent_link
from marts.rpt_agent_peer_rank
