{{ config(enabled=(target.type == 'spark'), materialized='table') }}

-- On Spark only: the model-name matches of int_model_catalog_matches.py (the
-- model of this name on DuckDB), computed by the same Python functions when
-- the loader writes the lake (orchestration/ingest/lake.py), since dbt's Spark
-- adapter runs Python models only on Databricks. The same name, folder and
-- lineage as the Python model, so the asset graph is the same on both
-- engines; the columns are documented with it (_pricing__models.yml).
-- depends_on: {{ ref('int_model_names_daily') }}
-- depends_on: {{ ref('stg_reference__catalog_provider_map') }}
-- depends_on: {{ ref('stg_reference__custom_model_prices') }}
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
