-- Savings recommendations ranked by estimated monthly saving (signals.recommendations),
-- with the agent's name, workspace and department for display and filtering.
-- Evidence 39 writes an unreadable Parquet file for a source query with no
-- rows and the build then fails, so an empty table yields one placeholder row
-- (is_placeholder = true, every other column null) that pages filter out.
with rows_found as (
select
    r.rank,
    r.recommendation_id,
    r.kind,
    case r.kind
        when 'model_switch' then 'Cheaper model'
        when 'prompt_caching' then 'Prompt caching'
        when 'batch_tier' then 'Batch tier'
        when 'trim_output' then 'Trim output'
        when 'error_waste' then 'Error waste'
        else r.kind
    end as kind_label,
    r.scope_type,
    r.scope_id,
    coalesce(a.agent_name, r.scope_id) as agent_name,
    a.workspace_id,
    a.department,
    '/agents/' || r.scope_id as agent_link,
    r.model,
    r.title,
    r.detail,
    r.evidence,
    r.evidence_query,
    r.estimated_monthly_saving_usd,
    r.confidence,
    case r.confidence when 'high' then 3 when 'medium' then 2 else 1 end as confidence_order,
    r.generated_at
from signals.recommendations as r
left join marts.dim_agents as a
    on r.scope_type = 'agent' and r.scope_id = a.agent_id
)
select *, false as is_placeholder from rows_found
union all by name
select true as is_placeholder where not exists (select 1 from rows_found)
