{#- The agent -> department / team / cost centre mapping from the user's
    reference file (see _reference__sources.yml). When the source table does
    not exist (dbt run on its own, before the loader ever ran) the mapping is
    empty, as it is without a file. -#}
{%- set mapping = source('reference_input', 'org_mapping') -%}
{%- set loaded = adapter.get_relation(database=mapping.database, schema=mapping.schema, identifier=mapping.identifier) if execute else none -%}
{%- if loaded is not none %}
select
    cast(agent_id as string) as agent_id,
    cast(department as string) as department,
    cast(team as string) as team,
    cast(cost_centre as string) as cost_centre
from {{ mapping }}
{%- else %}
    select
        cast(null as string) as agent_id,
        cast(null as string) as department,
        cast(null as string) as team,
        cast(null as string) as cost_centre
    where false
{%- endif %}
