{#-
  The sources that Python writes outside dbt, as the engine sees them.

  DuckDB: the loader writes raw.trace_spans and reference_input.org_mapping
  into the working file itself; nothing to do.

  Spark: the loader writes them as Parquet under AGENTLEDGER_SPARK_DIR
  (orchestration/ingest/lake.py): raw/trace_spans/date=YYYY-MM-DD/ and
  reference_input/org_mapping/. Each dbt invocation (re)declares them as
  external tables over those folders and lists the day partitions present,
  so a day re-written or removed since the last run is seen as it is now.
  Dropping an external table leaves its files alone.
-#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'agentledger')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- set lake = env_var('AGENTLEDGER_SPARK_DIR', env_var('AGENTLEDGER_DATA_DIR', '../data') ~ '/spark') -%}
    {%- if execute -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- do run_query('create database if not exists reference_input') -%}
        {%- do run_query('drop table if exists raw.trace_spans') -%}
        {%- do run_query("create table raw.trace_spans using parquet location '" ~ lake ~ "/raw/trace_spans'") -%}
        {%- do run_query('msck repair table raw.trace_spans sync partitions') -%}
        {%- do run_query('drop table if exists reference_input.org_mapping') -%}
        {%- do run_query("create table reference_input.org_mapping using parquet location '" ~ lake ~ "/reference_input/org_mapping'") -%}
        {%- do run_query('drop table if exists reference_input.model_catalog_matches') -%}
        {%- do run_query("create table reference_input.model_catalog_matches using parquet location '" ~ lake ~ "/reference_input/model_catalog_matches'") -%}
    {%- endif -%}
    select 1
{%- endmacro %}
