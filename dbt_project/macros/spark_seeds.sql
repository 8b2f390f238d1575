{#-
  Seeds on Spark: dbt's Spark adapter inserts a seed as batches of literal
  VALUES rows, which Spark parses and plans one batch at a time (minutes for
  the 8,000-row price catalog). Here Spark reads the CSV file itself and casts
  each column to the seed's declared type in one INSERT ... SELECT. The CSV
  must be readable where the Spark driver runs (local sessions; on a cluster,
  copy seeds/ to shared storage or load the seeds with dbt's own macro by
  removing this one). Values: an empty field is null, as agate reads it.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set path = model.root_path ~ '/' ~ model.original_file_path -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set view = 'seed_csv_' ~ model.alias -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select
        {%- for col_name in agate_table.column_names %}
            {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) %}
            cast(`{{ col_name }}` as {{ column_override.get(col_name, inferred_type) }}){{ ',' if not loop.last }}
        {%- endfor %}
        from {{ view }}
    {%- endset -%}
    {%- do adapter.add_query(
        "create or replace temporary view " ~ view ~ " using csv options (path '" ~ path ~ "', header 'true', "
        ~ "multiLine 'true', escape '\"', nullValue '', emptyValue '', inferSchema 'false')",
        auto_begin=False
    ) -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {{ return(sql) }}
{% endmacro %}
