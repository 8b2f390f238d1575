-- On Spark: the model-name matches of int_model_catalog_matches.py, computed
-- by the same Python functions when the loader writes the lake
-- (orchestration/ingest/lake.py), since dbt's Spark adapter runs Python
-- models only on Databricks. Enabled on Spark only (dbt_project.yml); the
-- columns are documented with the Python model (_pricing__models.yml).
select
    provider,
    request_model,
    response_model,
    catalog_provider_id,
    price_provider_id,
    catalog_model_id,
    matched_model_ref,
    custom_provider_key,
    custom_model_key
from {{ source('lake', 'model_catalog_matches') }}
